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
