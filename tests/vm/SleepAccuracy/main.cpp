// Sleep(ms) wakes no earlier than asked and less than a millisecond late, on an idle core
// (halted, woken by its LAPIC timer) and with a busy neighbour thread on the same core.
#include <toro.h>

#include <atomic>

namespace {
std::atomic<bool> g_stop{false};
PtrInt Busy(void*) {
  while (!g_stop) SysThreadSwitch();
  return 0;
}

bool Measure(const char* label) {
  const LongInt kDelays[] = {1, 2, 5, 10, 50, 100};
  bool ok = true;
  for (LongInt ms : kDelays) {
    constexpr int kRuns = 7;
    QWord late[kRuns];
    QWord early = 0;
    for (int i = 0; i < kRuns; ++i) {
      const QWord start = read_rdtsc();
      Sleep(ms);
      const QWord us = (read_rdtsc() - start) / QWord(LocalCpuSpeed);
      if (us < QWord(ms) * 1000) ++early;
      late[i] = us > QWord(ms) * 1000 ? us - QWord(ms) * 1000 : 0;
    }
    // Sort to report the median (typical) and the worst (the host may deschedule a vCPU).
    for (int i = 1; i < kRuns; ++i) {
      for (int j = i; j > 0 && late[j - 1] > late[j]; --j) {
        const QWord t = late[j];
        late[j] = late[j - 1];
        late[j - 1] = t;
      }
    }
    WriteConsoleF("SleepAccuracy %p: Sleep(%d): %d early, median %d us late, worst %d us\n", label, ms, early,
                  late[kRuns / 2], late[kRuns - 1]);
    ok = ok && early == 0 && late[kRuns / 2] < 1000;
  }
  return ok;
}
}  // namespace

int main() {
  const bool idle = Measure("idle");
  SysCreateThread(0, -1, Busy, nullptr);
  const bool busy = Measure("busy");
  g_stop = true;
  WriteConsoleF("SleepAccuracy: %p\n", idle && busy ? "PASSED" : "FAILED");
  return idle && busy ? 0 : 1;
}
