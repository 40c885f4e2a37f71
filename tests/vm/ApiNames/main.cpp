// The Arch, Process, Console and Memory names of issue 13 that have behaviour on the VM (the
// portable ones, InttoStr/StrCmp/StrConcat/SecondsBetween/SpinLock, are host-tested too:
// tests/unit/lib/pascal_test.cpp). Prints "NAME: PASSED/FAILED"; the exit code is the number of
// failures. -append shutdown: a thread calls ShutdownInQemu; -append reboot: Reboot.
#include <toro.h>

namespace {
int g_failures = 0;

void Check(const char* name, bool ok) {
  WriteConsoleF("%s: %s\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) ++g_failures;
}

QWord Ms(QWord cycles) { return cycles / (QWord(LocalCpuSpeed) * 1000); }

void TestStrings() {
  char buf[64];
  InttoStr(1234567, buf);
  bool ok = StrCmp(buf, "1234567", 8);
  StrConcat("n=", buf, buf + 32);
  StrConcat(buf + 32, "!", buf + 32);
  ok = ok && StrCmp(buf + 32, "n=1234567!", 11) && !StrCmp("abc", "abd", 3) && StrCmp("abc", "abd", 2);
  Check("InttoStr-StrCmp-StrConcat", ok);
}

void TestTime() {
  TNow a, b;
  Now(&a);
  Now(nullptr);  // defined: nothing
  Check("Now", a.Year >= 2024 && a.Month >= 1 && a.Month <= 12 && a.Day >= 1 && a.Day <= 31 && a.Hour <= 23 &&
                   a.Min <= 59 && a.Sec <= 60);
  Sleep(2100);
  Now(&b);
  const LongInt s = SecondsBetween(b, a);
  Check("SecondsBetween", s >= 1 && s <= 30 && SecondsBetween(a, b) == s && SecondsBetween(a, a) == 0);
  QWord t0 = read_rdtsc();
  Delay(20);
  QWord ms = Ms(read_rdtsc() - t0);
  Check("Delay", ms >= 20 && ms < 5000);
  t0 = read_rdtsc();
  DelayMicro(3000);
  ms = Ms(read_rdtsc() - t0);
  t0 = read_rdtsc();
  DelayMicro(-5);  // defined: no wait
  Check("DelayMicro", ms >= 3 && ms < 5000 && Ms(read_rdtsc() - t0) < 1000);
}

void TestMemoryMap() {
  TMemoryRegion r;
  QWord usable = 0;
  LongInt n = 0;
  while (GetMemoryRegion(n, &r) == LongInt(sizeof(TMemoryRegion))) {
    if (r.Flag == MEM_AVAILABLE) usable += r.Length;
    ++n;
  }
  Check("GetMemoryRegion-AvailableMemory", n > 0 && usable == AvailableMemory && AvailableMemory > (32u << 20) &&
                                               GetMemoryRegion(-1, &r) == 0 && GetMemoryRegion(0, nullptr) == 0);
}

// SpinLock: two threads on two cores (or one, interleaved by yields) add under the lock.
QWord g_lock = 3;
QWord g_counter = 0;
volatile LongInt g_adders_done = 0;

PtrInt Adder(void*) {
  for (int i = 0; i < 20000; ++i) {
    SpinLock(3, 4, g_lock);
    g_counter = g_counter + 1;
    SpinUnLock(g_lock);
    if (i % 1000 == 0) ThreadSwitch();
  }
  SpinLock(3, 4, g_lock);
  g_adders_done = g_adders_done + 1;
  SpinUnLock(g_lock);
  return 0;
}

void TestSpinLock() {
  TThreadID id;
  const DWORD other = CPU_COUNT > 1 ? 1 : DWORD(-1);
  bool ok = BeginThread(nullptr, 0, Adder, nullptr, other, id) != 0;
  Adder(nullptr);
  for (int i = 0; i < 10000 && g_adders_done < 2; ++i) Sleep(1);
  ReadWriteBarrier();
  ok = ok && g_adders_done == 2 && g_counter == 40000 && g_lock == 3;
  Check("SpinLock", ok);
}

// The FPC names and SysSetCoreIdle.
volatile Boolean g_ran = false, g_after_end = false;

PtrInt Runner(void*) {
  g_ran = true;
  EndThread(7);
  g_after_end = true;  // never reached
  return 0;
}

void TestProcessNames() {
  TThreadID id;
  BeginThread(nullptr, 0, Runner, nullptr, DWORD(-1), id);
  for (int i = 0; i < 1000 && !g_ran; ++i) SysSetCoreIdle();
  ThreadSwitch();
  ThreadSwitch();
  Check("SysSetCoreIdle-EndThread", g_ran && !g_after_end);
  Check("GetCurrentThreadId",
        GetCurrentThreadId() == SysGetCurrentThreadID() && GetCurrentThreadId() == TThreadID(GetCurrentThread()));
  Check("SuspendThread-ResumeThread-KillThread",
        SuspendThread(12345) == DWORD(-1) && ResumeThread(12345) == DWORD(-1) && KillThread(12345) == DWORD(-1));
}

void TestConsoleNames() {
  HeadLess = true;
  WriteConsoleF("HIDDEN by HeadLess\n");
  HeadLess = false;
  DisabledConsole();
  WriteConsoleF("HIDDEN by DisabledConsole\n");
  EnabledConsole();
  CleanConsole();
  WriteConsoleF("FlushUp-test");
  FlushUp();
  WriteConsoleF("after FlushUp\n");
}

void TestMemoryNames() {
  char* p = nullptr;
  ToroReAllocMem(p, 100);  // HEAD's var form: p is set
  bool ok = p != nullptr && GetPointerSize(p) >= 100;
  p[99] = 'x';
  char* before = p;
  ToroReAllocMem(p, 100000);
  ok = ok && p != nullptr && p != before && p[99] == 'x';
  Pointer q = ToroReAllocMem(p + 0, 200000);  // 2019's value form: p + 0 is not a variable
  ok = ok && q != nullptr && static_cast<char*>(q)[99] == 'x';
  p = static_cast<char*>(q);
  Pointer r = NumaReAllocMem(p, 0);  // freed: nil, and the variable too
  ok = ok && r == nullptr && p == nullptr;
  Pointer v = ToroGetMem(16);
  ok = ok && NumaFreeMem(v) == 0 && NumaFreeMem(nullptr) == 1;
  Check("ToroReAllocMem-Numa", ok);
}

// XHeap: blocks, a scope given back by XHeapUnstack, the whole heap by XHeapRelease; the core's
// heap in use comes back to where it was.
void TestXHeap() {
  TMemoryStats before{}, after{};
  SysGetMemoryStats(GetCoreId(), &before);
  PXHeap h = XHeapAcquire(Byte(GetCoreId()));
  bool ok = h != nullptr && XHeapAcquire(Byte(MAX_CPU)) == nullptr && XHeapAlloc(nullptr, 8) == nullptr;
  char* a = ok ? static_cast<char*>(XHeapAlloc(h, 300)) : nullptr;
  ok = ok && a != nullptr && (PtrUInt(a) & 15) == 0;
  if (ok) {
    for (int i = 0; i < 300; ++i) a[i] = char(i);
    ok = XHeapStack(h);
    for (int i = 0; ok && i < 3000; ++i) ok = XHeapAlloc(h, 1000) != nullptr;  // past the first chunk
    Pointer big = XHeapAlloc(h, 2 << 20);
    ok = ok && big != nullptr && XHeapUnstack(h) && !XHeapUnstack(h);
    char* b = static_cast<char*>(XHeapRealloc(h, a, 5000));
    for (int i = 0; ok && i < 300; ++i) ok = b != nullptr && b[i] == char(i);
    Pointer large = XHeapAlloc(h, 1 << 20);
    XHeapFree(h, large);
    XHeapFree(h, large);  // freed already: ignored
    XHeapRelease(h);
  }
  SysGetMemoryStats(GetCoreId(), &after);
  Check("XHeap", ok && after.BytesInUse == before.BytesInUse);
}

PtrInt ShutdownThread(void*) { ShutdownInQemu(); }
}  // namespace

int main() {
  const char* mode = GetKernelParam(0);
  if (mode != nullptr && StrCmp(mode, "shutdown", 9)) {
    TThreadID id;
    BeginThread(nullptr, 0, ShutdownThread, nullptr, DWORD(-1), id);
    SysSuspendThread(0);
  }
  if (mode != nullptr && StrCmp(mode, "serial", 7)) {  // a line from the host on COM1, echoed
    char line[64];
    size_t n = 0;
    for (XChar c = 0; n + 1 < sizeof line;) {
      ReadFromSerial(c);
      if (c == '\n' || c == '\r') break;
      line[n++] = c;
    }
    line[n] = 0;
    WriteConsoleF("ReadFromSerial: %p (%d characters)\n", line, n);
    return 0;
  }
  if (mode != nullptr && StrCmp(mode, "reboot", 7)) {
    WriteConsoleF("Reboot: now\n");
    Reboot();
  }
  TestStrings();
  TestTime();
  TestMemoryMap();
  TestSpinLock();
  TestProcessNames();
  TestConsoleNames();
  TestMemoryNames();
  TestXHeap();
  return g_failures;
}
