// Port of Toro HEAD's InterCoreComm example (toro-spec §3.4): core 0 sends "ping" to every other
// core through VirtIOBus and each answers "pong". Toro's loops forever; this one plays
// `-append ROUNDS` rounds (3 by default) and then checks what Toro left undefined: a message of
// 64 KiB byte-exact (Toro's limit was 1020 bytes, dropped silently), a buffer too small (the
// message stays queued), a receive that times out, and calls to a bad core or to oneself.
#include <toro.h>

namespace {

LongInt g_rounds = 3;

PtrInt Worker(void*) {
  char buf[16];
  for (LongInt round = 0; round < g_rounds; ++round) {
    RecvFrom(0, buf);
    WriteConsoleF("Core[0] -> Core[%d]: %p\n", GetCoreId(), buf);
    SendTo(0, "pong", 5);
  }
  // The big message: echoed back with every byte inverted.
  static Byte big[65536];
  const LongInt n = RecvFromCore(0, big, sizeof big, -1);  // core 0 may come late: no limit
  for (LongInt i = 0; i < n; ++i) big[i] = Byte(~big[i]);
  SendToCore(0, big, DWORD(n < 0 ? 0 : n));
  // A message for a buffer too small on core 0, then the same again.
  SendTo(0, "a message of thirty-two bytes...", 32);
  return 0;
}

// `-append wait,SECONDS`: core 1 waits for a message from core 0 and core 0 for one from core 1,
// neither sent: both sleep (their cores halt) until the timeout (idletest.py measures the host).
LongInt g_wait_ms = 0;
PtrInt WaitsForCore0(void*) {
  char buf[8];
  return RecvFromCore(0, buf, sizeof buf, g_wait_ms) == VIRTIOBUS_E_TIMEOUT ? 0 : 1;
}

bool Check(const char* name, bool ok) {
  WriteConsoleF("%p: %p\n", name, ok ? "PASSED" : "FAILED");
  return ok;
}

}  // namespace

int main() {
  if (CPU_COUNT < 2) {
    WriteConsoleF("CPU_COUNT must be > 2!\n");
    return 1;
  }
  if (const char* p = GetKernelParam(0); p != nullptr && StrCmp(p, "wait", 5)) {
    LongInt seconds = 0;
    for (const char* q = GetKernelParam(1); q != nullptr && *q >= '0' && *q <= '9'; ++q)
      seconds = seconds * 10 + (*q - '0');
    g_wait_ms = seconds * 1000;
    TThreadID tid;
    BeginThread(nullptr, 0, WaitsForCore0, nullptr, 1, tid);
    WriteConsoleF("InterCoreComm: cores 0 and 1 wait for each other\n");
    char buf[8];
    const bool timed_out = RecvFromCore(1, buf, sizeof buf, g_wait_ms) == VIRTIOBUS_E_TIMEOUT;
    WriteConsoleF("InterCoreComm: the wait is over\n");
    return timed_out ? 0 : 1;
  }
  if (const char* p = GetKernelParam(0)) {
    g_rounds = 0;
    while (*p >= '0' && *p <= '9') g_rounds = g_rounds * 10 + (*p++ - '0');
  }
  for (LongInt core = 1; core < CPU_COUNT; ++core) {
    TThreadID tid;
    BeginThread(nullptr, 0, Worker, nullptr, DWORD(core), tid);
  }
  char buf[16];
  for (LongInt round = 0; round < g_rounds; ++round) {
    for (LongInt core = 1; core < CPU_COUNT; ++core) {
      SendTo(DWORD(core), "ping", 5);
      RecvFrom(DWORD(core), buf);
      WriteConsoleF("Core[%d] -> Core[0]: %p\n", core, buf);
    }
  }
  bool ok = true;
  static Byte big[65536], back[65536];
  for (LongInt core = 1; core < CPU_COUNT; ++core) {
    for (DWORD i = 0; i < sizeof big; ++i) big[i] = Byte(i * 7 + DWORD(core));
    SendTo(DWORD(core), big, sizeof big);
    const LongInt n = RecvFromCore(DWORD(core), back, sizeof back, 10000);
    bool same = n == LongInt(sizeof back);
    for (DWORD i = 0; same && i < sizeof back; ++i) same = back[i] == Byte(~big[i]);
    ok &= Check("InterCoreComm-64KiB", same);
    char small[8];
    const LongInt too_small = RecvFromCore(DWORD(core), small, sizeof small, 10000);
    char whole[64];
    const LongInt got = RecvFromCore(DWORD(core), whole, sizeof whole, 10000);
    ok &= Check("InterCoreComm-buffer-too-small", too_small == VIRTIOBUS_E_TOO_SMALL && got == 32 &&
                                                      StrCmp(whole, "a message of thirty-two bytes...", 32));
  }
  ok &= Check("InterCoreComm-timeout", RecvFromCore(1, buf, sizeof buf, 20) == VIRTIOBUS_E_TIMEOUT);
  ok &= Check("InterCoreComm-poll-empty", PollFromCore(1, buf, sizeof buf) == VIRTIOBUS_E_EMPTY);
  ok &= Check("InterCoreComm-bad-core", SendToCore(DWORD(CPU_COUNT), "x", 1) == VIRTIOBUS_E_BAD_CORE &&
                                            RecvFromCore(200, buf, sizeof buf, 0) == VIRTIOBUS_E_BAD_CORE);
  ok &= Check("InterCoreComm-self", SendToCore(0, "x", 1) == VIRTIOBUS_E_SELF);
  ok &= Check("InterCoreComm-too-large", SendToCore(1, big, VIRTIOBUS_MAX_MESSAGE + 1) == VIRTIOBUS_E_TOO_LARGE);
  return ok ? 0 : 1;
}
