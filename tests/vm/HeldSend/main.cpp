// A blocking socket's send is held until its thread gives up the CPU (net/socket/stream.h,
// StreamSocket::plug; sched::run_before_yield). This program proves each way of giving it up
// lets the bytes out while the connection stays open: the main thread accepts on port 7 and
// gives every connection a thread that sends one line, then, by connection number:
//   0 "switch": calls SysThreadSwitch for kHoldMs without any socket call, then closes;
//   1 "sleep":  Sleep(kHoldMs), then closes;
//   2 "exit":   returns without closing (its end lets the line out; the socket stays open);
//   3 "close":  closes at once (the held line and the FIN leave as one segment).
// heldsendtest.py reads each line and checks it came well before kHoldMs (a close would have
// sent it too, but only after kHoldMs), and, in the frames QEMU recorded, that the "close" line
// left in the segment that carries the FIN (a send that was not held would have left alone),
// then the VM exits 0.
//
// First, the scheduler's side alone: sched::run_before_yield's work must run on the thread that
// gives up the CPU, before it stops running: SysThreadSwitch, Sleep, a wait on a flag
// (sched::sleep_unless: the packet thread's and the disk's waits), BeginThread on another core
// (the creator waits for it), SysSuspendThread and a thread's end (any later yield of
// another thread would also run it, so the network check above cannot tell them apart).
#include <sched/scheduler.h>
#include <toro.h>

#include <atomic>

namespace {

constexpr LongInt kHoldMs = 5000;
const char* const kModes[] = {"switch", "sleep", "exit", "close"};
constexpr LongInt kModeCount = 4;
volatile LongInt g_finished = 0;
struct Connection {
  PSocket socket;
  LongInt mode;
} g_connections[kModeCount];

PtrInt Serve(void* arg) {
  auto* c = static_cast<Connection*>(arg);
  PSocket s = c->socket;
  const LongInt mode = c->mode;
  char line[32] = "held-send ";
  LongInt n = 10;
  for (const char* m = kModes[mode]; *m != '\0'; ++m) line[n++] = *m;
  line[n++] = '\n';
  if (SysSocketSend(s, line, DWORD(n), 0) != n) WriteConsoleF("HeldSend: send failed\n");
  if (mode == 0) {
    const QWord end = read_rdtsc() + QWord(kHoldMs) * QWord(LocalCpuSpeed) * 1000;
    while (read_rdtsc() < end) SysThreadSwitch();
  } else if (mode == 1) {
    Sleep(kHoldMs);
  }
  WriteConsoleF("HeldSend: %p done\n", kModes[mode]);
  if (mode != 2) SysSocketClose(s);
  g_finished = g_finished + 1;
  return 0;
}

// run_before_yield: which thread ran the work, and how many times.
sched::Thread* g_ran_on = nullptr;
int g_runs = 0;
void Record(void*) {
  g_ran_on = sched::current();
  ++g_runs;
}

bool Check(const char* how, bool ok) {
  WriteConsoleF("HeldSend: run_before_yield before %p: %p\n", how, ok ? "PASSED" : "FAILED");
  return ok;
}

// Registers Record, runs `give_up` (which gives up the CPU), and checks Record ran once, on the
// calling thread.
template <class F>
bool RanOnCaller(const char* how, F give_up) {
  g_ran_on = nullptr;
  g_runs = 0;
  if (!sched::run_before_yield(Record, nullptr)) return Check(how, false);
  sched::Thread* self = sched::current();
  give_up();
  return Check(how, g_runs == 1 && g_ran_on == self);
}

// A thread that registers the work and ends (returns) without yielding otherwise.
sched::Thread* g_ending = nullptr;
PtrInt EndsWithWork(void*) {
  g_ending = sched::current();
  sched::run_before_yield(Record, nullptr);
  return 0;
}
PtrInt Nothing(void*) { return 0; }
PtrInt Resumer(void* arg) {
  SysResumeThread(reinterpret_cast<TThreadID>(arg));
  return 0;
}

bool SchedulerSide() {
  bool ok = RanOnCaller("SysThreadSwitch", [] { SysThreadSwitch(); });
  ok &= RanOnCaller("Sleep", [] { Sleep(1); });
  ok &= RanOnCaller("a wait on a flag (sched::sleep_unless)", [] {
    static const std::atomic<bool> never{false};
    sched::sleep_unless(never, 1);
  });
  // A thread created on the other core: the caller waits for that core's answer.
  ok &= RanOnCaller("BeginThread on another core", [] {
    TThreadID tid;
    if (BeginThread(nullptr, 16 * 1024, Nothing, nullptr, 1, tid) == 0)
      WriteConsoleF("HeldSend: no thread on core 1\n");
  });
  ok &= RanOnCaller("SysSuspendThread", [] {
    TThreadID self = GetCurrentThreadId();
    TThreadID tid;
    BeginThread(nullptr, 16 * 1024, Resumer, reinterpret_cast<void*>(self), 0, tid);
    SysSuspendThread(0);
  });
  // One slot per core: the same work again is accepted, other work is refused.
  g_runs = 0;
  bool slot = sched::run_before_yield(Record, nullptr) && sched::run_before_yield(Record, nullptr) &&
              !sched::run_before_yield(Record, &g_runs);
  SysThreadSwitch();
  ok &= Check("SysThreadSwitch, the slot taken once (same work again: yes; other work: no)", slot && g_runs == 1);
  // A thread's end.
  g_ran_on = nullptr;
  g_runs = 0;
  TThreadID tid;
  BeginThread(nullptr, 16 * 1024, EndsWithWork, nullptr, 0, tid);
  while (g_ending == nullptr || g_runs == 0) Sleep(1);  // our own Sleep runs nothing: the slot is the ender's
  ok &= Check("a thread's end", g_runs == 1 && g_ran_on == g_ending);
  return ok;
}

}  // namespace

int main() {
  if (!SchedulerSide()) return 4;
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  if (!DedicateNetwork("virtionet", ip, gateway, mask, nullptr)) return 1;
  PSocket server = SysSocket(SOCKET_STREAM);
  server->SourcePort = 7;
  server->Blocking = true;
  if (!SysSocketListen(server, 8)) {
    WriteConsoleF("HeldSend: cannot listen\n");
    return 1;
  }
  WriteConsoleF("HeldSend: listening on port 7\n");
  for (LongInt i = 0; i < kModeCount; ++i) {
    PSocket client = SysSocketAccept(server);
    if (client == nullptr) return 2;
    g_connections[i] = {client, i};
    TThreadID tid;
    if (BeginThread(nullptr, 32 * 1024, Serve, &g_connections[i], 0, tid) == 0) return 3;
  }
  while (g_finished < kModeCount) Sleep(10);
  WriteConsoleF("HeldSend: all four done\n");
  return 0;
}
