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
#include <kernel/irq.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <sched/scheduler.h>

#include <atomic>

// Defined only in programs built with exceptions (src/kernel/exceptions.cpp): the address to
// "return" into so that the fault is thrown, or 0 when `frame->rip` has no unwind information
// (kernel code). Weak: a program without exceptions links none of that machinery.
extern "C" [[gnu::weak]] uint64_t toro_fault_to_throw(const arch::TrapFrame* frame, uint64_t cr2,
                                                      uint32_t core, bool reported);

namespace kernel {
namespace {

// The stack a throw needs below the faulting rsp: the unwinder's contexts and the frames of
// __cxa_throw and the personality routine (measured: about 3 KiB; twice that, rounded up).
constexpr uint64_t kThrowStackRoom = 8192;
// Toro prints the report of every fault it raises; past this many per boot, Toro C++ throws
// without the report (an uncaught one still gets it), so a program that faults in a loop is not
// bound by the serial port.
constexpr uint32_t kFaultReportsShown = 8;
std::atomic<uint32_t> g_faults_thrown{0};  // relaxed: only a count

void put_reg(const klib::Sink& s, const char* name, uint64_t value, const char* sep) {
  klib::put_string(s, name);
  klib::put_string(s, ": ");
  klib::put_hex16(s, value);
  klib::put_string(s, sep);
}

void print_fault_report(const arch::TrapFrame& f) {
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
  put_reg(s, "rax", f.rax, ", ");
  put_reg(s, "rbx", f.rbx, ", ");
  put_reg(s, "rcx", f.rcx, "\r\n");
  put_reg(s, "rdx", f.rdx, ", ");
  put_reg(s, "rbp", f.rbp, ", ");
  put_reg(s, "errcode", f.error_code, "\r\n");
  put_reg(s, "rsp", f.rsp, ", ");
  put_reg(s, "rip", f.rip, ", ");
  put_reg(s, "rflags", f.rflags, "\r\n");
  put_reg(s, "rsi", f.rsi, ", ");
  put_reg(s, "rdi", f.rdi, ", ");
  put_reg(s, "r8", f.r8, "\r\n");
  put_reg(s, "r9", f.r9, ", ");
  put_reg(s, "r10", f.r10, ", ");
  put_reg(s, "r11", f.r11, "\r\n");
  put_reg(s, "r12", f.r12, ", ");
  put_reg(s, "r13", f.r13, ", ");
  put_reg(s, "r14", f.r14, "\r\n");
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

// A fault of app code in a program built with exceptions: reported, then thrown on the
// faulting thread's stack by "returning" into toro_fault_trampoline (fault_trampoline.S).
// Only faults the thread itself caused with interrupts on (not a kernel critical section), on
// its own stack with room for the unwinder (a stack overflow into the guard page has none).
bool throw_fault(arch::TrapFrame* f) {
  if (toro_fault_to_throw == nullptr) return false;
  switch (f->vector) {
    case 0: case 4: case 5: case 6: case 7: case 13: case 14: case 16: case 17: case 19: break;
    default: return false;  // NMI, #DF, #SS (the stack itself), #MC, ...: not the code's doing
  }
  const sched::Thread* t = sched::current();
  if (t == nullptr || t->is_idle || t->stack == nullptr || (f->rflags & (1u << 9)) == 0) return false;
  const uint64_t bottom = reinterpret_cast<uint64_t>(t->stack);
  if (f->rsp > bottom + t->stack_size || f->rsp < bottom + kThrowStackRoom) return false;
  const uint64_t cr2 = arch::read_cr2();
  uint64_t owner = 0;
  if (f->vector == 14 && guard_page_owner(cr2, &owner)) return false;
  const bool report = g_faults_thrown.load(std::memory_order_relaxed) < kFaultReportsShown;
  const uint64_t target = toro_fault_to_throw(f, cr2, current_core(), report);
  if (target == 0) return false;
  if (report) {
    if (g_faults_thrown.fetch_add(1, std::memory_order_relaxed) + 1 == kFaultReportsShown) {
      printk("Toro: %d faults thrown as exceptions; the next ones without a report\n", kFaultReportsShown);
    }
    print_fault_report(*f);
  }
  f->rip = target;
  return true;
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
    if (throw_fault(frame)) {
      cpu->reporting = false;
      --cpu->trap_depth;
      return;  // into toro_fault_trampoline, on the faulting thread's stack
    }
    report_fault(*frame);
  }
  switch (frame->vector) {
    case arch::kVectorWake:
    case arch::kVectorTimer:
      sched::on_wake_interrupt();  // EOI; the idle loop looks for work when hlt returns
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
