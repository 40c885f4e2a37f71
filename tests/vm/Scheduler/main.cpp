// Port of Toro's Scheduler example (toro-spec §3.4): a thread on core 0 and one on core 1, each
// greeting from its core. (Toro's main then loops forever; this one waits for both and exits.)
#include <toro.h>

#include <atomic>

namespace {
std::atomic<int> g_done{0};

PtrInt Greet(void* param) {
  WriteConsoleF("Hello from %d at %d\n", reinterpret_cast<PtrUInt>(param), GetCoreId());
  ++g_done;
  return 0;
}
}  // namespace

int main() {
  WriteConsoleF("Starting threads ...\n");
  TThreadID id;
  BeginThread(nullptr, 4096, Greet, reinterpret_cast<void*>(0), 0, id);
  BeginThread(nullptr, 4096, Greet, reinterpret_cast<void*>(1), 1, id);
  while (g_done < 2) SysThreadSwitch();
  return 0;
}
