// Threads for gdb to find, over QEMU's stub with tools/gdb/toro.py and over the in-guest stub
// (tests.expect, tests/vm/gdbstubthreads.py): a sleeper on core 1 and a napper on core 0, both
// inside Sleep, when main reaches ThreadsReady (gdb stops there). `-append spin`: main spins
// until gdb clears g_spin (after a Ctrl-C). `-append fault`: main writes through a null pointer
// (gdb stops there with SIGSEGV).
#include <toro.h>

namespace {

volatile LongInt g_started = 0;

[[gnu::noinline]] PtrInt Sleeper(void*) {
  __atomic_add_fetch(&g_started, 1, __ATOMIC_SEQ_CST);
  for (;;) Sleep(1000);
  return 0;
}

[[gnu::noinline]] PtrInt Napper(void*) {
  __atomic_add_fetch(&g_started, 1, __ATOMIC_SEQ_CST);
  Sleep(60000);
  return 0;
}

}  // namespace

volatile LongInt g_spin = 1;  // global scope: its symbol is plain `g_spin`

// Where gdb stops: every thread exists and the two others sleep.
extern "C" [[gnu::noinline]] void ThreadsReady() { asm volatile("" ::: "memory"); }

extern "C" [[gnu::noinline]] void Faults(volatile LongInt* p) { *p = 42; }

int main() {
  if (const char* p = GetKernelParam(0); p != nullptr && StrCmp(p, "fault", 6)) {
    Faults(nullptr);
    WriteConsoleF("GdbThreads: the fault was skipped\n");
    return 0;
  }
  if (const char* p = GetKernelParam(0); p != nullptr && StrCmp(p, "spin", 5)) {
    WriteConsoleF("GdbThreads: spinning\n");
    while (g_spin != 0) {
    }
    WriteConsoleF("GdbThreads: gdb stopped the spin\n");
    return 0;
  }
  SysCreateThread(0, CPU_COUNT > 1 ? 1 : 0, Sleeper, nullptr);
  SysCreateThread(0, 0, Napper, nullptr);
  while (__atomic_load_n(&g_started, __ATOMIC_SEQ_CST) < 2) Sleep(10);
  Sleep(50);  // both are inside Sleep by now
  ThreadsReady();
  WriteConsoleF("GdbThreads: done\n");
  return 0;
}
