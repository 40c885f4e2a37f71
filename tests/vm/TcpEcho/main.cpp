// A TCP echo server on blocking sockets (toro-spec §2.9.7, the StaticWebServer style): the main
// thread accepts on port 7 and gives every connection its own thread, which echoes what it
// reads until the peer closes. Used by tcptest.py for bulk transfers checked end to end.
// `-append CONNECTIONS` ends the VM (exit 0) after that many connections were served.
#include <toro.h>

namespace {

int g_done = 0;

PtrInt Echo(void* arg) {
  auto s = static_cast<PSocket>(arg);
  static char buffer[16384];  // one echo thread at a time in the test; a thread_local would do too
  for (;;) {
    if (!SysSocketSelect(s, 30000)) break;  // peer closed (or 30 s idle)
    const LongInt n = SysSocketRecv(s, buffer, sizeof buffer, 0);
    if (n > 0 && SysSocketSend(s, buffer, DWORD(n), 0) != n) {
      WriteConsoleF("TcpEcho: send failed\n");
      break;
    }
  }
  SysSocketClose(s);
  ++g_done;
  return 0;
}

}  // namespace

int main() {
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  DedicateNetwork("e1000", ip, gateway, mask, nullptr);
  LongInt expected = 1;
  if (const char* p = GetKernelParam(0)) {
    expected = 0;
    while (*p >= '0' && *p <= '9') expected = expected * 10 + (*p++ - '0');
  }
  // A core keeps the last socket closed outside a service callback (the socket lifetime rule,
  // SysSocketClose): one is parked before the first measure as there is one after the last.
  SysSocketClose(SysSocket(SOCKET_STREAM));
  TMemoryStats before;
  SysGetMemoryStats(GetCoreId(), &before);
  PSocket server = SysSocket(SOCKET_STREAM);
  server->SourcePort = 7;
  server->Blocking = true;
  if (!SysSocketListen(server, 8)) {
    WriteConsoleF("TcpEcho: cannot listen\n");
    return 1;
  }
  WriteConsoleF("TcpEcho: listening on port 7\n");
  for (LongInt i = 0; i < expected; ++i) {
    PSocket client = SysSocketAccept(server);
    if (client == nullptr) return 2;
    Echo(client);  // one at a time: the test's connections are sequential
  }
  SysSocketClose(server);
  Sleep(500);  // the last connection's LAST-ACK completes
  TMemoryStats after;
  SysGetMemoryStats(GetCoreId(), &after);
  WriteConsoleF("TcpEcho: served %d connections; bytes in use before %d, after %d\n", g_done, before.BytesInUse,
                after.BytesInUse);
  return 0;
}
