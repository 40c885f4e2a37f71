// HelloWorld (toro-spec §3.2 / §3.4): the smallest Toro program, in Toro HEAD's form: it sets a
// ShutdownProcedure, which the kernel calls when the VM shuts down (here when main returns, or
// on an NMI: QEMU monitor `nmi`). `-append wait` parks main after the greeting, so the VM runs
// until an NMI stops it (tests/vm/nmitest.py).
#include <toro.h>

namespace {
void OnShutdown() { WriteConsoleF("ShutdownProcedure: called\n"); }
}  // namespace

int main() {
  ShutdownProcedure = OnShutdown;
  WriteConsoleF("Hello World, I am TORO !!!\n");
  if (KernelParamCount() > 0 && StrCmp(GetKernelParam(0), "wait", 5)) SysSuspendThread(0);
  return 0;
}
