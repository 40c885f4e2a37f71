// WriteDebug, DumpDebugRing and SetDebugRing (toro-spec §1.7) end to end: what reaches the debug
// device (COM2) on each way out. The mode is the first kernel parameter (tests.expect):
//   exit      one line per core, then main returns 0 (the dump at System_Exit)
//   dump      a line, DumpDebugRing, another line: each appears once (a dump empties the rings)
//   overflow  SetDebugRing(1 KiB) after a line, then 100 numbered lines: the oldest go
//   badring   SetDebugRing(nil, ...) and a too small ring change nothing
//   fault     a line, then main writes to an unmapped address (exit 120: the fault's dump)
//   panic     a line, then Panic (exit 121: the panic's dump)
#include <toro.h>

namespace {

char g_small_ring[1024];
volatile LongInt g_done_cores = 0;

bool Is(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

PtrInt CoreLine(void*) {
  WriteDebug("DebugRing: hello from core %d\n", GetCoreId());
  __atomic_add_fetch(&g_done_cores, 1, __ATOMIC_RELEASE);
  return 0;
}

}  // namespace

int main() {
  const char* mode = KernelParamCount() > 0 ? GetKernelParam(0) : "exit";
  WriteConsoleF("DebugRing: mode %p\n", mode);
  WriteDebug("DebugRing: mode %p\n", mode);
  if (Is(mode, "exit")) {
    for (LongInt core = 1; core < CPU_COUNT; ++core) SysCreateThread(0, core, CoreLine, nullptr);
    CoreLine(nullptr);
    while (__atomic_load_n(&g_done_cores, __ATOMIC_ACQUIRE) < CPU_COUNT) SysThreadSwitch();
  } else if (Is(mode, "dump")) {
    WriteDebug("DebugRing: before the dump\n");
    DumpDebugRing();
    WriteDebug("DebugRing: after the dump\n");
  } else if (Is(mode, "overflow")) {
    SetDebugRing(g_small_ring, sizeof g_small_ring);
    for (int i = 0; i < 100; ++i) WriteDebug("DebugRing: line %d\n", i);
  } else if (Is(mode, "badring")) {
    SetDebugRing(nullptr, 4096);
    SetDebugRing(g_small_ring, 16);
    SetDebugRing(g_small_ring, -1);
    for (int i = 0; i < 100; ++i) WriteDebug("DebugRing: line %d\n", i);
  } else if (Is(mode, "fault")) {
    WriteDebug("DebugRing: before the fault\n");
    *reinterpret_cast<volatile PtrUInt*>(0x0000800000000000) = 1;  // not canonical: #GP
    WriteDebug("DebugRing: after the fault\n");
  } else if (Is(mode, "panic")) {
    WriteDebug("DebugRing: before the panic\n");
    Panic(true, "DebugRing: on purpose\n");
  }
  return 0;
}
