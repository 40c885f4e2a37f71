// Thread creation from every core on every core, thousands of times: a "spawner" thread per
// core creates kPerPair threads on each core (local and through the mailboxes); each new thread
// checks that it runs on the core it was created for and counts itself. None may be lost.
// Also TestPerCPUAlign (toro-spec §3.5): every core's per-CPU record is 64-byte aligned.
#include <toro.h>

#include <atomic>

namespace {

constexpr int kPerPair = 250;
constexpr int kMaxCores = 64;

std::atomic<int> g_ran[kMaxCores];
std::atomic<int> g_wrong_core{0};
std::atomic<int> g_create_failed{0};
std::atomic<int> g_spawners_done{0};
std::atomic<PtrUInt> g_percpu[kMaxCores];

PtrInt Counted(void* target) {
  const LongInt core = LongInt(reinterpret_cast<PtrUInt>(target));
  if (GetCoreId() != core) ++g_wrong_core;
  ++g_ran[core];
  return 0;
}

PtrInt Spawner(void*) {
  g_percpu[GetCoreId()] = reinterpret_cast<PtrUInt>(GetCPU());
  for (int i = 0; i < kPerPair; ++i) {
    for (LongInt core = 0; core < CPU_COUNT; ++core) {
      if (SysCreateThread(8192, core, Counted, reinterpret_cast<void*>(PtrUInt(core))) == 0) ++g_create_failed;
    }
  }
  ++g_spawners_done;
  return 0;
}

// More threads alive at once than a fixed table of stack guard pages once held (1024): each
// waits until all have started, so all their stacks (and guard pages) exist together.
constexpr int kAlive = 1100;
std::atomic<int> g_alive_started{0}, g_alive_done{0};
std::atomic<bool> g_alive_release{false};
PtrInt WaitsForTheOthers(void*) {
  ++g_alive_started;
  while (!g_alive_release) Sleep(1);
  ++g_alive_done;
  return 0;
}
bool ManyAliveAtOnce() {
  int failed = 0;
  for (int i = 0; i < kAlive; ++i) {
    if (SysCreateThread(8192, GetCoreId(), WaitsForTheOthers, nullptr) == 0) ++failed;
  }
  for (int wait = 0; wait < 20000 && g_alive_started + failed < kAlive; ++wait) Sleep(1);
  const int started = g_alive_started;
  g_alive_release = true;
  for (int wait = 0; wait < 20000 && g_alive_done < started; ++wait) Sleep(1);
  WriteConsoleF("ThreadStress: %d threads alive at once, %d not created, %d ended\n", started, failed,
                g_alive_done.load());
  return failed == 0 && started == kAlive && g_alive_done == kAlive;
}

}  // namespace

int main() {
  const QWord start = read_rdtsc();
  for (LongInt core = 0; core < CPU_COUNT; ++core) SysCreateThread(0, core, Spawner, nullptr);
  while (g_spawners_done < CPU_COUNT) Sleep(1);
  const int expected = kPerPair * CPU_COUNT;
  bool all_ran = false;
  for (int wait = 0; wait < 10000 && !all_ran; ++wait) {
    all_ran = true;
    for (LongInt core = 0; core < CPU_COUNT; ++core) all_ran = all_ran && g_ran[core] == expected;
    if (!all_ran) Sleep(1);
  }
  const QWord ms = (read_rdtsc() - start) / QWord(LocalCpuSpeed) / 1000;
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    WriteConsoleF("ThreadStress: core %d ran %d of %d threads\n", core, g_ran[core].load(), expected);
  }
  WriteConsoleF("ThreadStress: %d threads created in %d ms\n", expected * CPU_COUNT, ms);
  const bool ok = all_ran && g_wrong_core == 0 && g_create_failed == 0;
  WriteConsoleF("ThreadStress-none-lost: %p\n", ok ? "PASSED" : "FAILED");
  bool aligned = true;
  for (LongInt core = 0; core < CPU_COUNT; ++core) {
    aligned = aligned && g_percpu[core] % 64 == 0;
    for (LongInt other = 0; other < core; ++other) {
      const PtrUInt a = g_percpu[core], b = g_percpu[other];
      aligned = aligned && (a > b ? a - b : b - a) >= 64;  // no two cores share a cache line
    }
  }
  WriteConsoleF("TestPerCPUVar: %p\n", aligned ? "PASSED" : "FAILED");
  const bool many = ManyAliveAtOnce();
  WriteConsoleF("ThreadStress-1100-alive: %p\n", many ? "PASSED" : "FAILED");
  return ok && aligned && many ? 0 : 1;
}
