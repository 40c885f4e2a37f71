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

void reboot() {
  disable_interrupts();
  for (int i = 0; i < 100000 && (inb(0x64) & 2) != 0; ++i) cpu_relax();  // input buffer empty
  outb(0x64, 0xFE);   // 8042 keyboard controller: pulse the reset line
  outb(0xCF9, 0x06);  // PIIX/ICH reset control register: hard reset (machines without an 8042)
  // Neither took: a triple fault resets every x86 (QEMU -no-reboot then exits).
  const DescriptorTablePointer empty{0, 0};
  lidt(empty);
  breakpoint();
  halt_forever();
}

}  // namespace arch
