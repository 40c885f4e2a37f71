// Toro HEAD's ShutdownProcedure and NMI shutdown (toro-spec §1.5, §2.16). This object is linked
// only when a program names ShutdownProcedure (src/api/process.cpp binds the name to
// g_shutdown_hook): its system_exit replaces shutdown.cpp's weak one, and its reference to
// nmi_shutdown_entry links arch/x86_64/nmi.S, which routes the NMI vector here instead of to the fault
// report. A program without ShutdownProcedure carries none of it.
#include <arch/x86_64/cpu.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>

// Defined only by nmi.S: a reference to it (nmi_common has isr.S's weak definition, which would
// satisfy the linker without extracting nmi.S) is what links nmi.S.
extern "C" char nmi_shutdown_entry[];

namespace kernel {
namespace {
[[gnu::used]] const void* const g_link_nmi_entry = nmi_shutdown_entry;
}  // namespace

void (*g_shutdown_hook)() = nullptr;

void system_exit(int code) {
  // Exchange: the procedure runs once, even if it exits itself or two cores exit together.
  if (void (*hook)() = __atomic_exchange_n(&g_shutdown_hook, nullptr, __ATOMIC_ACQ_REL)) hook();
  exit_with_line(code);
}

}  // namespace kernel

// From nmi.S on the NMI's stack (QEMU monitor `nmi`). QEMU sends it to every core: the first
// one shuts down (ShutdownProcedure, System_Exit line, exit code 0), the others halt. The
// console lets a core re-enter its own lock, so an NMI in the middle of a line cannot deadlock.
extern "C" [[noreturn]] void kernel_nmi_shutdown() {
  static bool g_nmi_taken = false;
  if (__atomic_exchange_n(&g_nmi_taken, true, __ATOMIC_ACQ_REL)) arch::halt_forever();
  kernel::printk("\nToro: NMI on CPU#%d, shutting down\n", kernel::current_core());
  kernel::system_exit(0);
}
