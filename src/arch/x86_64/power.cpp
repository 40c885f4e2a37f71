#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>

namespace arch {

std::atomic<void (*)()> g_before_poweroff{nullptr};

void poweroff(uint32_t code) {
  disable_interrupts();
  // Relaxed: set once, by the first debug line of some core; a line whose core has not stored it
  // yet is one that was not written yet either, so no dump misses it.
  if (void (*hook)() = g_before_poweroff.load(std::memory_order_relaxed)) hook();
  outl(0xF4, code & 0x7F);  // QEMU isa-debug-exit: status = (value << 1) | 1
  bochs_magic_break();      // Bochs: its debugger stops here and the rc script says `quit`
  outw(0x604, 0x2000);      // QEMU PIIX4 / ICH9 PM1a_CNT: SLP_EN with SLP_TYP 0 (S5)
  outw(0xB004, 0x2000);     // older QEMU and Bochs PM port
  halt_forever();
}

}  // namespace arch
