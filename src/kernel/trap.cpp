// CPU exceptions 0-31 end in a fault report (toro-spec §2.13 layout) and stop the VM with
// kExitCodeFault. An exception raised while reporting one stops the VM at once with a short
// line, so no fault can end in a triple fault or a silent hang.
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

namespace kernel {
namespace {

void put_reg(const klib::Sink& s, const char* name, uint64_t value, const char* sep) {
  klib::put_string(s, name);
  klib::put_string(s, ": ");
  klib::put_hex16(s, value);
  klib::put_string(s, sep);
}

[[noreturn]] void report_fault(const arch::TrapFrame& f) {
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
