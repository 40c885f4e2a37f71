// Port of Toro's tests/process/TestProcess (toro-spec §3.3, §3.5) and more of the process API:
// thread creation on the local and a remote core, registers across switches, Sleep, suspend and
// resume, kill, ThreadExit, a faulting thread that dies while the others go on, and a thread's
// stack overflow caught by its guard page (thrown as EStackOverflow), and faults thrown as C++ exceptions
// (TestExceptions-*: the program is built with exceptions, see uses-exceptions).
#include <toro.h>

#include <atomic>
#include <cstring>

extern "C" bool CalleeSavedSurviveTwoSwitches();  // callee_saved.S

namespace {

int g_failed = 0;
void Report(const char* name, bool ok) {
  WriteDebug("%p: %p\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) WriteConsoleF("%p: FAILED\n", name);  // on the console too, at once
  if (!ok) ++g_failed;
}

std::atomic<PtrUInt> g_param_seen[2];
std::atomic<LongInt> g_core_seen[2];
PtrInt RecordParam(void* param) {
  const int slot = GetCoreId() == 0 ? 0 : 1;
  g_core_seen[slot] = GetCoreId();
  g_param_seen[slot] = reinterpret_cast<PtrUInt>(param);
  // A debug line from this core's own ring (the VM test checks its "CPU<n>" prefix).
  WriteDebug("TestBeginThread: Param %h on core %d\n", reinterpret_cast<PtrUInt>(param), GetCoreId());
  return 0;
}

thread_local PtrUInt t_counter = 5;  // .tdata
thread_local PtrUInt t_zeroed[4];    // .tbss
std::atomic<int> g_tls_ok{0};
PtrInt UsesThreadLocal(void* param) {
  const PtrUInt base = reinterpret_cast<PtrUInt>(param);
  bool ok = t_counter == 5 && t_zeroed[3] == 0;  // a fresh copy of the initial image
  for (int i = 0; i < 50; ++i) {
    t_counter += base;
    t_zeroed[3] += 1;
    SysThreadSwitch();  // the other threads change their own copies meanwhile
  }
  ok = ok && t_counter == 5 + 50 * base && t_zeroed[3] == 50;
  if (ok) ++g_tls_ok;
  return 0;
}

std::atomic<bool> g_stop_looper{false};
PtrInt Looper(void*) {
  while (!g_stop_looper) SysThreadSwitch();
  return 0;
}

std::atomic<int> g_resumed_runs{0};
PtrInt SuspendsItself(void*) {
  SysSuspendThread(0);
  ++g_resumed_runs;
  return 0;
}

PtrInt ReturnsAtOnce(void*) { return 0; }

std::atomic<int> g_kill_loops{0};
PtrInt LoopsUntilKilled(void*) {
  for (;;) {
    ++g_kill_loops;
    SysThreadSwitch();
  }
}

std::atomic<int> g_counter_loops{0};
std::atomic<bool> g_stop_counter{false};
PtrInt Counts(void*) {
  while (!g_stop_counter) {
    ++g_counter_loops;
    SysThreadSwitch();
  }
  return 0;
}

std::atomic<bool> g_early_body_ran{false};
PtrInt MustNotRun(void*) {
  g_early_body_ran = true;
  return 0;
}

std::atomic<bool> g_after_exit{false};
PtrInt ExitsEarly(void*) {
  ThreadExit(true);
  g_after_exit = true;  // never reached
  return 0;
}

PtrInt Faults(void*) {
  volatile int* p = nullptr;
  return *p;
}

volatile PtrUInt g_depth_limit = ~PtrUInt(0);
[[gnu::noinline]] PtrUInt Deep(PtrUInt n) {
  volatile PtrUInt frame[64];
  frame[n % 64] = n;
  if (n >= g_depth_limit) return frame[0];
  return Deep(n + 1) + frame[n % 64];
}
PtrInt Overflows(void*) { return PtrInt(Deep(0)); }

// A stack overflow thrown as EStackOverflow: caught twice in a row by the overflowing thread,
// which then goes on normally (a call chain of 64 frames, a division, a page fault caught).
[[gnu::noinline]] PtrUInt Chain(PtrUInt n) {
  volatile PtrUInt frame[8];
  frame[n % 8] = n;
  return n == 0 ? 0 : Chain(n - 1) + frame[n % 8];
}
PtrInt Divide(PtrInt a, PtrInt b);
// A destructor that the unwinding of an overflow runs in the deepest frames, whose rsp already
// lies in the guard page: installing that cleanup faults again, in the unwinder on the emergency
// stack. A second overflow while the first is unwinding is not thrown: the report, and the
// thread ends (no hang, no corrupted kernel).
struct NeedsStack {
  ~NeedsStack() { g_sink = Chain(32); }
  static inline volatile PtrUInt g_sink = 0;
};
[[gnu::noinline]] PtrUInt DeepWithDestructor(PtrUInt n) {
  NeedsStack local;
  volatile PtrUInt frame[64];
  frame[n % 64] = n;
  if (n >= g_depth_limit) return frame[0];
  return DeepWithDestructor(n + 1) + frame[n % 64];
}
PtrInt OverflowsTwice(void*) {
  try {
    DeepWithDestructor(0);
  } catch (const Exception&) {
    WriteConsoleF("TestStackOverflow-unwinding: FAILED (caught)\n");
  }
  return 0;
}
// One such thread on every core at once: each core throws from its own emergency stack.
std::atomic<int> g_overflow_done{0}, g_overflow_passed{0};
PtrInt CatchesOverflows(void*) {
  int caught = 0;
  for (int round = 0; round < 2; ++round) {
    try {
      Deep(0);
    } catch (const EStackOverflow& e) {
      caught += StrCmp(e.Message, "Stack Overflow", 15) && e.Vector() == EXC_PAGEFAUL ? 1 : 0;
    }
  }
  bool page_fault = false;
  try {
    *reinterpret_cast<volatile int*>(0xFFFFFFFFFFFFFFF0) = 1;
  } catch (const EStackOverflow&) {
  } catch (const EAccessViolation&) {
    page_fault = true;  // a fault that is not an overflow is not taken for one
  }
  if (caught == 2 && page_fault && Chain(64) == 64 * 65 / 2 && Divide(84, 2) == 42) ++g_overflow_passed;
  ++g_overflow_done;
  return 0;
}

volatile PtrInt g_quotient = 0;  // a division whose result is used is not optimised away
[[gnu::noinline]] PtrInt Divide(PtrInt a, PtrInt b) {
  g_quotient = a / b;
  return g_quotient;
}
[[gnu::noinline]] void WriteAt(PtrUInt address) { *reinterpret_cast<volatile Byte*>(address) = 1; }

// Toro's TestExceptions-0/1: a division by zero and a write to 0xFFFFFFFFFFFFFFFF, caught.
bool CatchesDivByZero() {
  volatile PtrInt zero = 0;
  try {
    Divide(1, zero);
  } catch (const EDivByZero& e) {
    return e.Vector() == 0 && strcmp(e.Message, "Division by Zero") == 0;
  }
  return false;
}
bool CatchesPageFault() {
  try {
    WriteAt(~PtrUInt(0));
  } catch (const EAccessViolation& e) {
    return strcmp(e.Message, "Page Fault") == 0 && e.DataAddress() == ~PtrUInt(0);
  }
  return false;
}

// The other kinds a program's fault is thrown as: an invalid opcode, a general protection fault
// (a non-canonical address), a SIMD and an x87 floating-point error (faults.S).
extern "C" void InvalidOpcode();
extern "C" void SimdDivideByZero();
extern "C" void X87DivideByZero();
extern "C" void RestoreFpuDefaults();
[[gnu::noinline]] PtrInt ReadNonCanonical() { return *reinterpret_cast<volatile PtrInt*>(0x8000000000000000ull); }
// QEMU's TCG (7.2) raises no #XM: divss then returns with the result infinity, which is said
// on the console; Bochs raises it, and its test case requires the line that says it was caught.
bool CatchesEveryKind() {
  int kinds = 0, expected = 4;
  try {
    InvalidOpcode();
  } catch (const EIllegalInstruction& e) {
    kinds += e.Vector() == 6 && strcmp(e.Message, "Illegal Instruction") == 0;
  }
  try {
    ReadNonCanonical();
  } catch (const EAccessViolation& e) {
    kinds += e.Vector() == 13 && strcmp(e.Message, "General Protection") == 0;
  }
  try {
    SimdDivideByZero();
    WriteConsoleF("TestExceptions-kinds: this CPU raised no SIMD exception\n");
    --expected;
  } catch (const EInvalidOp& e) {
    const bool ok = e.Vector() == 19 && strcmp(e.Message, "SIMD") == 0;
    if (ok) WriteConsoleF("TestExceptions-kinds: SIMD error caught as EInvalidOp\n");
    kinds += ok;
  }
  RestoreFpuDefaults();
  try {
    X87DivideByZero();
  } catch (const EInvalidOp& e) {
    kinds += e.Vector() == 16 && strcmp(e.Message, "FPU") == 0;
  }
  RestoreFpuDefaults();
  if (kinds != expected) WriteConsoleF("TestExceptions-kinds: %d of %d kinds caught as expected\n", kinds, expected);
  return kinds == expected;
}

// Destructors run while a fault's exception unwinds, and a software throw is caught too.
int g_destroyed = 0;
struct Counted {
  ~Counted() { ++g_destroyed; }
};
[[gnu::noinline]] void FaultsWithLocal(PtrInt zero) {
  Counted c;
  Divide(2, zero);
}
[[gnu::noinline]] void ThrowsWithLocal() {
  Counted c;
  throw 42;
}
bool UnwindsDestructors() {
  g_destroyed = 0;
  int caught = 0;
  try {
    FaultsWithLocal(0);
  } catch (const Exception&) {
    ++caught;
  }
  try {
    ThrowsWithLocal();
  } catch (int v) {
    caught += v == 42 ? 1 : 0;
  }
  return caught == 2 && g_destroyed == 2;
}

// Threads on every core fault and catch at once, many times: each counts its catches.
constexpr int kStressRounds = 1000;
std::atomic<int> g_stress_ok{0};
PtrInt FaultsInALoop(void* param) {
  const PtrUInt salt = reinterpret_cast<PtrUInt>(param);
  int divs = 0, pfs = 0, throws = 0;
  for (int i = 0; i < kStressRounds; ++i) {
    volatile PtrInt zero = 0;
    try {
      Divide(PtrInt(salt + i), zero);
    } catch (const EDivByZero&) {
      ++divs;
    }
    try {
      WriteAt(0x0000400000000000ull + 8 * salt);
    } catch (const EAccessViolation& e) {
      pfs += e.DataAddress() == 0x0000400000000000ull + 8 * salt ? 1 : 0;
    }
    try {
      throw PtrUInt(salt + i);
    } catch (PtrUInt v) {
      throws += v == salt + i ? 1 : 0;
    }
    if (i % 64 == 0) SysThreadSwitch();  // the other thread of this core throws meanwhile
  }
  if (divs == kStressRounds && pfs == kStressRounds && throws == kStressRounds)
    ++g_stress_ok;
  else
    WriteConsoleF("FaultsInALoop %d: %d %d %d\n", salt, divs, pfs, throws);
  return 0;
}

template <typename Pred>
bool WaitFor(Pred done, int ms) {
  for (int i = 0; i < ms; ++i) {
    if (done()) return true;
    Sleep(1);
  }
  return done();
}

}  // namespace

int main() {
  WriteConsoleF("TestProcess: %d cores\n", CPU_COUNT);
  TThreadID id = 0;
  BeginThread(nullptr, 0, RecordParam, reinterpret_cast<void*>(0x12345), 0, id);
  Report("TestBeginThread-0",
         id != 0 && WaitFor([] { return g_param_seen[0] == 0x12345; }, 1000) && g_core_seen[0] == 0);
  if (CPU_COUNT > 1) {
    BeginThread(nullptr, 0, RecordParam, reinterpret_cast<void*>(0x12345), 1, id);
    Report("TestBeginThread-1",
           id != 0 && WaitFor([] { return g_param_seen[1] == 0x12345; }, 1000) && g_core_seen[1] == 1);
  }
  Report("TestBeginThread-bad-core", SysCreateThread(0, CPU_COUNT + 5, RecordParam, nullptr) == 0);

  SysCreateThread(0, -1, Looper, nullptr);
  Report("TestThreadSwitch-0", CalleeSavedSurviveTwoSwitches());
  Report("TestExceptions-0", CatchesDivByZero());
  Report("TestExceptions-1", CatchesPageFault());
  Report("TestExceptions-destructors", UnwindsDestructors());
  Report("TestExceptions-kinds", CatchesEveryKind());
  {
    int started = 0;
    for (LongInt core = 0; core < CPU_COUNT && core < 2; ++core) {
      for (int k = 0; k < 2; ++k) {
        if (SysCreateThread(0, core, FaultsInALoop, reinterpret_cast<void*>(PtrUInt(1 + 2 * core + k))) != 0) {
          ++started;
        }
      }
    }
    Report("TestExceptions-stress",
           started == 2 * (CPU_COUNT < 2 ? CPU_COUNT : 2) && WaitFor([=] { return g_stress_ok == started; }, 120000));
  }
  g_stop_looper = true;

  t_counter = 1000;  // the main thread's own copy
  for (PtrUInt i = 1; i <= 3; ++i) SysCreateThread(0, -1, UsesThreadLocal, reinterpret_cast<void*>(i));
  if (CPU_COUNT > 1) SysCreateThread(0, 1, UsesThreadLocal, reinterpret_cast<void*>(PtrUInt(7)));
  const int want = CPU_COUNT > 1 ? 4 : 3;
  Report("TestThreadLocal", WaitFor([=] { return g_tls_ok == want; }, 5000) && t_counter == 1000);

  // Toro's bound: Sleep(2) returns after 2 ms and within 3 ms. This test may share the host
  // with other VMs (the test suite runs in parallel), so the best of five attempts counts;
  // tests/vm/SleepAccuracy checks the bound on every sleep, alone.
  QWord best = ~QWord(0);
  bool early = false;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const QWord start = read_rdtsc();
    Sleep(2);
    const QWord us = (read_rdtsc() - start) / QWord(LocalCpuSpeed);
    early = early || us < 2000;
    if (us < best) best = us;
  }
  WriteConsoleF("TestSleep: Sleep(2) took %d us (best of 5)\n", best);
  Report("TestSleep", !early && best <= 3000);

  const TThreadID sleeper = SysCreateThread(0, CPU_COUNT - 1, SuspendsItself, nullptr);
  Sleep(20);
  const bool still_suspended = g_resumed_runs == 0;
  SysResumeThread(sleeper);
  Report("TestSuspendResume", still_suspended && WaitFor([] { return g_resumed_runs == 1; }, 1000));
  Report("TestResume-not-a-thread", SysResumeThread(TThreadID(0x1234)) == DWORD(-1));

  const TThreadID looper = SysCreateThread(0, CPU_COUNT - 1, LoopsUntilKilled, nullptr);
  WaitFor([] { return g_kill_loops > 10; }, 1000);
  SysKillThread(looper);
  Sleep(20);
  const int loops = g_kill_loops;
  Sleep(20);
  Report("TestKillThread", loops > 10 && g_kill_loops == loops);

  // Suspending a thread of another core stops it at its next yield; resuming lets it go on.
  const TThreadID counter = SysCreateThread(0, CPU_COUNT - 1, Counts, nullptr);
  WaitFor([] { return g_counter_loops > 10; }, 1000);
  SysSuspendThread(counter);
  Sleep(10);
  const int frozen = g_counter_loops;
  Sleep(20);
  const bool stopped = g_counter_loops == frozen;
  SysResumeThread(counter);
  Report("TestRemoteSuspend", stopped && WaitFor([=] { return g_counter_loops > frozen + 10; }, 1000));
  g_stop_counter = true;

  // A thread killed before it ever ran never runs its body.
  const TThreadID unborn = SysCreateThread(0, -1, MustNotRun, nullptr);
  SysKillThread(unborn);
  Sleep(10);
  Report("TestKillBeforeRun", !g_early_body_ran);

  SysCreateThread(0, -1, ExitsEarly, nullptr);
  Sleep(5);
  Report("TestThreadExit", !g_after_exit);

  // The id of a thread that ended stays invalid even when a new thread reuses its record.
  const TThreadID gone = SysCreateThread(0, -1, ReturnsAtOnce, nullptr);
  Sleep(5);
  g_resumed_runs = 0;
  const TThreadID reuser = SysCreateThread(0, -1, SuspendsItself, nullptr);
  Sleep(5);
  const bool same_record = (gone & 0xFFFFFFFFFFFF) == (reuser & 0xFFFFFFFFFFFF);
  const bool stale_refused = SysKillThread(gone) == DWORD(-1) && SysResumeThread(gone) == DWORD(-1);
  Report("TestStaleThreadId", gone != reuser && same_record && stale_refused && g_resumed_runs == 0 &&
                                  SysResumeThread(reuser) == 0 && WaitFor([] { return g_resumed_runs == 1; }, 1000));

  // A thread that faults is reported and killed; this (main) thread and other cores go on.
  // (A thread that is gone answers SysResumeThread with DWORD(-1).)
  const TThreadID faulty = SysCreateThread(0, CPU_COUNT - 1, Faults, nullptr);
  Report("TestFaultingThread", faulty != 0 && WaitFor([=] { return SysResumeThread(faulty) == DWORD(-1); }, 5000));
  bool catchers = true;
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    catchers = catchers && SysCreateThread(0, core, CatchesOverflows, nullptr) != 0;
  }
  Report("TestStackOverflow-caught",
         catchers && WaitFor([] { return g_overflow_done == CPU_COUNT; }, 10000) && g_overflow_passed == CPU_COUNT);
  const TThreadID twice = SysCreateThread(0, -1, OverflowsTwice, nullptr);
  Report("TestStackOverflow-unwinding",
         twice != 0 && WaitFor([=] { return SysResumeThread(twice) == DWORD(-1); }, 5000));
  const TThreadID deep = SysCreateThread(0, -1, Overflows, nullptr);
  Report("TestStackOverflow", deep != 0 && WaitFor([=] { return SysResumeThread(deep) == DWORD(-1); }, 5000));

  TMemoryStats s;
  SysGetMemoryStats(GetCoreId(), &s);
  WriteConsoleF("TestProcess: done, %d bytes in use on this core\n", s.BytesInUse);
  return g_failed;
}
