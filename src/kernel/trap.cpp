// CPU exceptions 0-31 end in a fault report (toro-spec §2.13 layout) and stop the VM with
// kExitCodeFault. An exception raised while reporting one stops the VM at once with a short
// line, so no fault can end in a triple fault or a silent hang.
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/trap.h>
#include <kernel/console.h>
#include <kernel/debug.h>
#include <kernel/memory.h>
#include <kernel/system.h>

namespace kernel {
namespace {

bool g_reporting = false;
int g_depth = 0;  // exceptions being handled right now

void put_reg(const klib::Sink& s, const char* name, uint64_t value, const char* sep) {
  klib::put_string(s, name);
  klib::put_string(s, ": ");
  klib::put_hex16(s, value);
  klib::put_string(s, sep);
}

[[noreturn]] void report_fault(const arch::TrapFrame& f) {
  const klib::Sink s = console_sink();
  if (f.vector == 14) {
    printk("\n\t CPU#%d Exception: %p, cr2: %h\n", 0, arch::exception_name(f.vector), arch::read_cr2());
  } else {
    printk("\n\t CPU#%d Exception: %p\n", 0, arch::exception_name(f.vector));
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
  printk("Toro: unhandled exception, stopping the VM with exit code %d\n", kExitCodeFault);
  console_flush();
  arch::poweroff(kExitCodeFault);
}

}  // namespace
}  // namespace kernel

extern "C" void trap_dispatch(arch::TrapFrame* frame) {
  using namespace kernel;
  if (frame->vector < arch::kExceptionCount) {
    if (++g_depth > 2) {
      // Even the nested-fault message faulted: stop with no further memory use.
      arch::outl(0xF4, kExitCodeFault);
      arch::halt_forever();
    }
    if (g_reporting) {
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
    g_reporting = true;
    console_enter_panic_mode();
    report_fault(*frame);
  }
  // Device interrupts are not enabled yet (the legacy PIC is masked, IF stays 0): anything
  // else is unexpected but harmless. Say so and return.
  printk("Toro: unexpected interrupt on vector %d ignored\n", frame->vector);
}
