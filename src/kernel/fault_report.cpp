// The fault report (toro-spec §2.13 layout) and the end of a thread or the VM after a fault
// nobody handles: cold code (run only when something went wrong), compiled for size apart from
// trap.cpp's dispatcher.
#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/trap.h>
#include <kernel/console.h>
#include <kernel/debug.h>
#include <kernel/gdb_stub.h>
#include <kernel/irq.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <sched/scheduler.h>

#include <atomic>

namespace kernel {
namespace {

[[gnu::noinline]] void put_reg(const klib::Sink& s, const char* name, uint64_t value, const char* sep) {
  klib::put_string(s, name);
  klib::put_string(s, ": ");
  klib::put_hex16(s, value);
  klib::put_string(s, sep);
}

}  // namespace

void print_fault_report(const arch::TrapFrame& f) {
  const ConsoleHold hold;  // the report's lines stay together when several cores fault at once
  const klib::Sink s = console_sink();
  const uint32_t core = current_core();
  if (f.vector == 14) {
    printk("\n\t CPU#%d Exception: %p, cr2: %h\n", core, arch::exception_name(f.vector), arch::read_cr2());
  } else {
    printk("\n\t CPU#%d Exception: %p\n", core, arch::exception_name(f.vector));
  }
  uint64_t owner = 0;
  if ((f.vector == 14 || f.vector == 8) && guard_page_owner(arch::read_cr2(), &owner)) {
    printk("Stack overflow: Thread#%h ran past the end of its stack (guard page %h)\n", owner,
           arch::read_cr2() & ~uint64_t(4095));
  }
  printk("Thread#%h registers:\n", current_thread_id());
  // Three registers a line, in Toro's order; indexes into the TrapFrame's words (trap.h).
  struct Reg {
    char name[8];
    uint8_t index;
  };
  static constexpr Reg kRegs[] = {{"rax", 14}, {"rbx", 13}, {"rcx", 12},    {"rdx", 11}, {"rbp", 8}, {"errcode", 16},
                                  {"rsp", 20}, {"rip", 17}, {"rflags", 19}, {"rsi", 10}, {"rdi", 9}, {"r8", 7},
                                  {"r9", 6},   {"r10", 5},  {"r11", 4},     {"r12", 3},  {"r13", 2}, {"r14", 1}};
  const auto* words = reinterpret_cast<const uint64_t*>(&f);
  for (size_t i = 0; i < sizeof(kRegs) / sizeof(kRegs[0]); ++i) {
    put_reg(s, kRegs[i].name, words[kRegs[i].index], i % 3 == 2 ? "\r\n" : ", ");
  }
  put_reg(s, "r15", f.r15, ", ");
  put_reg(s, "cr2", arch::read_cr2(), ", ");
  put_reg(s, "cr3", arch::read_cr3(), "\r\n");
  klib::put_string(s, "Faulting code: ");
  print_symbol(s, f.rip);
  klib::put_string(s, "\r\n");
  print_backtrace(s, f.rip, f.rbp, f.rsp);
}

[[noreturn]] void report_fault(const arch::TrapFrame& f) {
  print_fault_report(f);
  const sched::Thread* t = sched::current();
  // Only a fault of the thread's own code: with interrupts off it was inside a kernel critical
  // section (console, page tables, scheduler) whose locks and state cannot be given back; NMI,
  // #DF and #MC are not the thread's doing.
  if (t != nullptr && !t->is_main && !t->is_idle && f.vector != 2 && f.vector != 8 && f.vector != 18 &&
      (f.rflags & (1u << 9))) {
    // An app thread other than the main thread: it dies, the other threads and cores go on.
    printk("Toro: Thread#%h killed by the exception; the other threads continue\n", t);
    this_cpu()->reporting = false;
    this_cpu()->trap_depth = 0;
    sched::exit_after_fault();
  }
  printk("Toro: unhandled exception, stopping the VM with exit code %d\n", kExitCodeFault);
  console_flush();
  arch::poweroff(kExitCodeFault);
}

// An exception nobody catches (the terminate handler of src/kernel/exceptions.cpp): a fault's
// report if it was not printed yet, then the end Toro gives an unhandled fault.
[[noreturn]] void end_uncaught_exception(const char* message, const arch::TrapFrame* fault) {
  printk("Toro: uncaught exception: %p\n", message);
  if (fault != nullptr) print_fault_report(*fault);
  const sched::Thread* t = sched::current();
  if (t != nullptr && !t->is_main && !t->is_idle) {
    printk("Toro: Thread#%h killed by the exception; the other threads continue\n", t);
    sched::exit_after_fault();
  }
  printk("Toro: unhandled exception, stopping the VM with exit code %d\n", kExitCodeFault);
  console_flush();
  arch::poweroff(kExitCodeFault);
}

}  // namespace kernel
