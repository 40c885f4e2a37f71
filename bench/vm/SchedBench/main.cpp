// In-VM scheduler benchmark (bench/RESULTS.md): TSC cycles for
//   - a thread switch on one core (two threads yielding to each other), against a plain call;
//   - creating a thread on another core (round trip through the mailbox), against a local one;
//   - waking a thread on another core: the target core halted (IPI), against the target core
//     polling (busy yielding).
// Run with: tools/toro run SchedBench --smp 2
#include <toro.h>

#include <atomic>

namespace {

constexpr int kSwitches = 100000;
constexpr int kCreates = 2000;
constexpr int kWakes = 2000;

std::atomic<bool> g_stop{false};
PtrInt Yielder(void*) {
  while (!g_stop) SysThreadSwitch();
  return 0;
}

[[gnu::noinline]] void PlainCall() { asm volatile("" ::: "memory"); }

PtrInt Nothing(void*) { return 0; }

std::atomic<int> g_seq{0};
std::atomic<TThreadID> g_waiter{0};
std::atomic<bool> g_poll{false};
PtrInt Waiter(void*) {
  g_waiter = SysGetCurrentThreadID();
  for (int i = 0; i < kWakes; ++i) {
    if (g_poll) {
      while (g_seq.load() == 2 * i) SysThreadSwitch();  // polling: never halts
    } else {
      SysSuspendThread(0);  // halted core until resumed
    }
    g_seq.store(2 * i + 2);
  }
  return 0;
}

QWord WakeCycles(bool poll) {
  g_seq = 0;
  g_waiter = 0;
  g_poll = poll;
  SysCreateThread(0, 1, Waiter, nullptr);
  while (g_waiter == 0) SysThreadSwitch();
  Sleep(5);  // let core 1 go idle
  QWord total = 0;
  for (int i = 0; i < kWakes; ++i) {
    const QWord start = read_rdtsc();
    if (poll) {
      g_seq.store(2 * i + 1);
    } else {
      SysResumeThread(g_waiter);
    }
    while (g_seq.load() < 2 * i + 2) {
    }
    total += read_rdtsc() - start;
    if (!poll) {
      for (int spin = 0; spin < 2000; ++spin) asm volatile("pause");  // let it suspend again
    }
  }
  return total / kWakes;
}

}  // namespace

int main() {
  QWord start = read_rdtsc();
  for (int i = 0; i < kSwitches; ++i) PlainCall();
  const QWord call = (read_rdtsc() - start) / kSwitches;
  SysCreateThread(0, -1, Yielder, nullptr);
  SysThreadSwitch();
  start = read_rdtsc();
  for (int i = 0; i < kSwitches; ++i) SysThreadSwitch();  // each is two switches: there and back
  const QWord sw = (read_rdtsc() - start) / kSwitches / 2;
  g_stop = true;
  WriteConsoleF("SchedBench: thread switch %d cycles (plain call %d)\n", sw, call);

  // Local: create, then yield so the new thread runs and exits, as it does on the remote core
  // while the creator waits (both loops then reuse the same memory).
  start = read_rdtsc();
  for (int i = 0; i < kCreates; ++i) {
    SysCreateThread(4096, -1, Nothing, nullptr);
    SysThreadSwitch();
  }
  const QWord local = (read_rdtsc() - start) / kCreates;
  Sleep(10);
  if (CPU_COUNT > 1) {
    start = read_rdtsc();
    for (int i = 0; i < kCreates; ++i) SysCreateThread(4096, 1, Nothing, nullptr);
    const QWord remote = (read_rdtsc() - start) / kCreates;
    WriteConsoleF("SchedBench: create thread on a remote core %d cycles (local %d)\n", remote, local);
    Sleep(10);
    const QWord ipi = WakeCycles(false);
    Sleep(10);
    const QWord poll = WakeCycles(true);
    WriteConsoleF("SchedBench: wake a thread on a halted core %d cycles (polling core %d)\n", ipi, poll);
  }
  WriteConsoleF("SchedBench: TSC %d MHz\n", LocalCpuSpeed);
  return 0;
}
