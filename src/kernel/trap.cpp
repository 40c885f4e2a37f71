// CPU exceptions 0-31 end in a fault report (toro-spec §2.13 layout) and stop the VM with
// kExitCodeFault. An exception raised while reporting one stops the VM at once with a short
// line, so no fault can end in a triple fault or a silent hang.
// In a program built with exceptions (src/kernel/exceptions.cpp is linked in), a fault of the
// program's own code is reported and then thrown as a C++ exception instead (throw_fault).
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

// Defined only in programs built with exceptions (src/kernel/exceptions.cpp): true when the
// fault is to be thrown, `frame` then "returns" into the throwing trampoline. Weak: a program
// without exceptions links none of that machinery and pays one test here.
extern "C" [[gnu::weak]] bool toro_fault_to_throw(arch::TrapFrame* frame);

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

namespace {

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

}  // namespace

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

extern "C" void trap_dispatch(arch::TrapFrame* frame) {
  using namespace kernel;
  if (frame->vector < arch::kExceptionCount) {
    // #DB and #BP go to the gdb stub when the kernel command line asked for it (gdb_stub.h).
    if (g_debug_trap != nullptr && g_debug_trap(frame)) return;
    PerCpu* cpu = this_cpu();
    if (++cpu->trap_depth > 2) {
      // Even the nested-fault message faulted: stop with no further memory use.
      arch::outl(0xF4, kExitCodeFault);
      arch::halt_forever();
    }
    if (cpu->reporting) {
      // Faulted inside the report itself: say so with the least machinery and stop.
      const klib::Sink s = console_sink();
      klib::put_string(s, "\r\nToro: nested exception ");
      klib::put_string(s, arch::exception_name(frame->vector));
      klib::put_string(s, " at rip ");
      klib::put_hex16(s, frame->rip);
      klib::put_string(s, " while reporting a fault; stopping\r\n");
      console_flush();
      arch::poweroff(kExitCodeFault);
    }
    cpu->reporting = true;
    if (toro_fault_to_throw != nullptr && toro_fault_to_throw(frame)) {
      cpu->reporting = false;
      --cpu->trap_depth;
      return;  // into toro_fault_trampoline, on the faulting thread's stack
    }
    report_fault(*frame);
  }
  switch (frame->vector) {
    case arch::kVectorWake:
    case arch::kVectorTimer:
      sched::on_wake_interrupt(frame->vector == arch::kVectorTimer);  // EOI; the idle loop looks for work
      return;
    case arch::kVectorDebugStop:  // the gdb stub's stop IPI (its handler signals EOI)
      if (g_debug_trap == nullptr || !g_debug_trap(frame)) arch::lapic_eoi();
      return;
    case arch::kVectorSpurious:
    case 0x27:  // spurious IRQ 7 / 15 of the (masked, remapped) 8259s
    case 0x2F:
      return;  // no EOI for spurious interrupts (SDM §10.9)
    default:
      if (!dispatch_irq(uint8_t(frame->vector))) {
        printk("Toro: unexpected interrupt on vector %d ignored\n", frame->vector);
      }
      arch::lapic_eoi();
  }
}
