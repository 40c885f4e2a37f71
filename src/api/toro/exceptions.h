// Faults as C++ exceptions (toro-spec §2.13): in a program built with exceptions (a file named
// `uses-exceptions` in its folder, see tools/meson/program.meson), a CPU exception raised by the
// program's own code is thrown as one of these classes at the faulting instruction, so
//
//   try {
//     DoDivZero();
//   } catch (const Exception& e) {
//     WriteConsoleF("Exception Message: %p\n", e.Message);   // Division by Zero
//   }
//
// catches it like Toro's `try ... except on E: Exception do`. Toro prints its fault report before
// it raises the exception; so does Toro C++ (the first kFaultReportsShown faults of a boot, so a
// program that faults in a loop does not spend its time printing). Uncaught: the report, then
// the main thread ends the VM with exit code 120 and any other thread ends alone.
// A stack overflow into the thread's guard page is thrown as EStackOverflow (`Stack Overflow`):
// the throw runs on a per-core emergency stack and the catch lands back on the thread's own
// stack, so the thread goes on normally. Not thrown (reported as before, ending the thread):
// faults in kernel code or with interrupts off, #DF, NMI, #MC, and an overflow while the thread
// is still unwinding an exception (std::uncaught_exceptions() > 0: a destructor run by the
// unwinding overflowed again).
#pragma once

#include <toro/types.h>

// The registers at the faulting instruction (the order of the kernel's trap frame).
struct TExceptionRegisters {
  QWord r15, r14, r13, r12, r11, r10, r9, r8;
  QWord rbp, rdi, rsi, rdx, rcx, rbx, rax;
  QWord Vector, ErrorCode;
  QWord rip, cs, rflags, rsp, ss;
  QWord cr2;  // the address a page fault touched
  DWORD Core;
  DWORD Reported;  // 1: the fault report was printed when it happened
};

// Pascal's SysUtils.Exception: Message is Toro's wording (a static string).
class Exception {
 public:
  explicit Exception(const char* message) : Message(message) {}
  virtual ~Exception() = default;
  const char* Message;
};

// A CPU exception (Free Pascal names hardware exceptions EExternal).
class EExternal : public Exception {
 public:
  EExternal(const char* message, const TExceptionRegisters& frame) : Exception(message), Frame(frame) {}
  QWord Vector() const { return Frame.Vector; }
  QWord ExceptionAddress() const { return Frame.rip; }  // the faulting instruction
  QWord DataAddress() const { return Frame.cr2; }       // page faults: the address touched
  TExceptionRegisters Frame;
};

#define TORO_EXTERNAL_EXCEPTION(NAME)                                                          \
  class NAME : public EExternal {                                                              \
   public:                                                                                     \
    NAME(const char* message, const TExceptionRegisters& frame) : EExternal(message, frame) {} \
  }
TORO_EXTERNAL_EXCEPTION(EDivByZero);           // #DE: `Division by Zero`
TORO_EXTERNAL_EXCEPTION(EIntOverflow);         // #OF (into): `OverFlow`
TORO_EXTERNAL_EXCEPTION(ERangeError);          // #BR (bound): `Bound`
TORO_EXTERNAL_EXCEPTION(EIllegalInstruction);  // #UD: `Illegal Instruction`
TORO_EXTERNAL_EXCEPTION(EAccessViolation);     // #PF: `Page Fault`, #GP: `General Protection`, #AC
TORO_EXTERNAL_EXCEPTION(EInvalidOp);           // #NM, #MF, #XM: `Device not available`, `FPU`, `SIMD`
TORO_EXTERNAL_EXCEPTION(EStackOverflow);       // #PF in the thread's guard page: `Stack Overflow`
#undef TORO_EXTERNAL_EXCEPTION
