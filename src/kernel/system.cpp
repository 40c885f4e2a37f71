#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>
#include <kernel/debug.h>
#include <kernel/system.h>

namespace kernel {

void system_exit(int code) {
  printk("\nSystem_Exit due to ExitCode: %d\n", code);
  console_flush();
  arch::poweroff(uint32_t(code));
}

void panic_message(const char* fmt, const klib::Arg* args, size_t count, uint64_t rbp) {
  static bool g_in_panic = false;
  arch::disable_interrupts();
  console_enter_panic_mode();
  if (!g_in_panic) {
    g_in_panic = true;
    printk("\nPanic: ");
    console_write(fmt, args, count);
    printk("\n");
    // The first frame is the panic() caller: start the walk from its frame.
    const auto* frame = reinterpret_cast<const uint64_t*>(rbp);
    print_backtrace(console_sink(), frame[1], frame[0]);
  }
  printk("Toro: panic, stopping the VM with exit code %d\n", kExitCodePanic);
  console_flush();
  arch::poweroff(kExitCodePanic);
}

}  // namespace kernel
