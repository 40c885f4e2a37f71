// ExceptionHandling (toro-spec §3.2 / §3.4): a fault in app code is reported (the exception's
// name, the registers and a symbolised backtrace naming the faulting function) and then thrown
// as a C++ exception, which main catches like Toro's try/except and prints
// `Exception Message: <Toro's message>`; the program then ends normally.
// `-append pagefault` touches an unmapped address instead of dividing by zero.
// Built with exceptions (the file uses-exceptions beside this one).
#include <toro.h>

#include <cstring>

// noinline keeps these as their own frames, so the backtrace names them.
[[gnu::noinline]] PtrInt DoDivZero(PtrInt divisor) {
  volatile PtrInt dividend = 10;
  return dividend / divisor;
}

[[gnu::noinline]] void DoPageFault() {
  // 64 TiB: canonical, far above any RAM, never mapped.
  volatile PtrUInt* unmapped = reinterpret_cast<volatile PtrUInt*>(0x0000400000000000ull);
  *unmapped = 0x1234;
}

int main() {
  const char* mode = GetKernelParam(0);
  try {
    if (mode != nullptr && strcmp(mode, "pagefault") == 0) {
      WriteConsoleF("ExceptionHandling: writing to an unmapped address\n");
      DoPageFault();
    } else {
      WriteConsoleF("ExceptionHandling: dividing by zero\n");
      volatile PtrInt zero = 0;
      WriteConsoleF("result: %d\n", DoDivZero(zero));
    }
    WriteConsoleF("ExceptionHandling: the fault did not stop the program\n");
    return 1;
  } catch (const Exception& E) {
    WriteConsoleF("Exception Message: %p\n", E.Message);
  }
  return 0;
}
