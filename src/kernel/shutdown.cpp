#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>
#include <kernel/debug.h>
#include <kernel/shutdown.h>

namespace kernel {

// Weak: kernel/shutdown_hook.cpp, linked when the program names ShutdownProcedure, replaces it
// with one that calls the procedure first (so a program without one carries no hook code).
[[gnu::weak]] void system_exit(int code) { exit_with_line(code); }

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
