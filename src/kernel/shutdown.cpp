#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>
#include <kernel/debug.h>
#include <kernel/shutdown.h>

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
    // `rbp` is panic()'s own frame: the walk starts with the return address into its caller.
    print_backtrace(console_sink(), 0, rbp);
  }
  printk("Toro: panic, stopping the VM with exit code %d\n", kExitCodePanic);
  console_flush();
  arch::poweroff(kExitCodePanic);
}

}  // namespace kernel
