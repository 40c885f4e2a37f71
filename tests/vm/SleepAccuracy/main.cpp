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
    QWord worst_late = 0, early = 0;
    for (int i = 0; i < 5; ++i) {
      const QWord start = read_rdtsc();
      Sleep(ms);
      const QWord us = (read_rdtsc() - start) / QWord(LocalCpuSpeed);
      if (us < QWord(ms) * 1000) ++early;
      const QWord late = us > QWord(ms) * 1000 ? us - QWord(ms) * 1000 : 0;
      if (late > worst_late) worst_late = late;
    }
    WriteConsoleF("SleepAccuracy %p: Sleep(%d): %d early, worst %d us late\n", label, ms, early, worst_late);
    ok = ok && early == 0 && worst_late < 1000;
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
