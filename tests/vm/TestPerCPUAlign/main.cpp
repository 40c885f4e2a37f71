// Toro HEAD's tests/misc/TestPerCPUAlign (toro-spec §2.3, §3.5): the per-core arrays an
// application can name are 64-byte aligned and a core's entry does not share a cache line with
// another core's. Prints PASSED/FAILED per test; the exit code is the number of failures.
#include <toro.h>

namespace {
int g_failures = 0;

void Report(const char* name, bool ok) {
  WriteConsoleF("%s: %s\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) ++g_failures;
}

bool Aligned(const void* p) { return (reinterpret_cast<PtrUInt>(p) & 63) == 0; }

// Run on every core: each writes its own PerCPUVar row through SetPerCPUVar.
struct CoreCheck {
  volatile Boolean done;
  volatile Boolean ok;
};
CoreCheck g_core[MAX_CPU];

PtrInt OnCore(void* arg) {
  const LongInt core = LongInt(reinterpret_cast<PtrInt>(arg));
  bool ok = GetCoreId() == core && GetCPU() == &CPU[core];
  for (Byte i = 0; i < MAX_PERCPU_VAR; ++i) SetPerCPUVar(i, QWord(core) * 100 + i);
  SetPerCPUVar(MAX_PERCPU_VAR, 0xBAD);  // out of range: ignored, the next row stays as it is
  SetPerCPUVar(255, 0xBAD);
  for (Byte i = 0; i < MAX_PERCPU_VAR; ++i) ok = ok && PerCPUVar[core][i] == QWord(core) * 100 + i;
  g_core[core].ok = ok;
  ReadWriteBarrier();  // the result before the flag the main thread polls
  g_core[core].done = true;
  return 0;
}
}  // namespace

int main() {
  // TestProcess: every CPU[i] 64-byte aligned, records a whole number of cache lines apart.
  bool ok = sizeof(TCPU) % 64 == 0;
  for (LongInt i = 0; i < MAX_CPU; ++i) ok = ok && Aligned(&CPU[i]);
  Report("TestProcess", ok);

  // TestStorages: a core's record (which holds its block files and volume: Toro's Storages[])
  // is the one GetCPU gives on that core, and nothing else lives in its cache lines.
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    TThreadID id = 0;
    if (BeginThread(nullptr, 0, OnCore, reinterpret_cast<Pointer>(PtrInt(core)), DWORD(core), id) == 0) {
      g_core[core].done = true;
    }
  }
  ok = true;
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    for (int spins = 0; !g_core[core].done && spins < 5000; ++spins) Sleep(1);
    ReadWriteBarrier();
    ok = ok && g_core[core].done && g_core[core].ok;
  }
  const PtrUInt first = reinterpret_cast<PtrUInt>(&CPU[0]);
  const PtrUInt last = reinterpret_cast<PtrUInt>(&CPU[MAX_CPU - 1]) + sizeof(TCPU);
  ok = ok && last - first == PtrUInt(MAX_CPU) * sizeof(TCPU);
  Report("TestStorages", ok);

  // TestPerCPUVar: the rows are 64-byte aligned, each core wrote its own row (checked above on
  // that core), and the out-of-range writes touched nothing.
  ok = sizeof(PerCPUVar[0]) % 64 == 0;
  for (LongInt i = 0; i < MAX_CPU; ++i) ok = ok && Aligned(PerCPUVar[i]);
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    for (LongInt i = 0; i < MAX_PERCPU_VAR; ++i) ok = ok && PerCPUVar[core][i] == QWord(core) * 100 + QWord(i);
  }
  if (CPU_COUNT < MAX_CPU) {
    for (LongInt i = 0; i < MAX_PERCPU_VAR; ++i) ok = ok && PerCPUVar[CPU_COUNT][i] == 0;
  }
  Report("TestPerCPUVar", ok);
  return g_failures;
}
