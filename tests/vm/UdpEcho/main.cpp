// UDP echo over a datagram socket, with the address from DHCP (an all-zero IP asks for it):
// every datagram to port 7 comes back to its sender; "quit" ends the program (exit code 0).
// Driven from the host by tests/vm/udptest.py through a forwarded UDP port.
#include <toro.h>

#include <atomic>
#include <cstring>

namespace {
std::atomic<int> g_result{-1};

PtrInt Serve(void*) {
  const Byte any[4] = {0, 0, 0, 0};
  const char* card = GetKernelParam(0) != nullptr ? GetKernelParam(0) : "e1000";
  DedicateNetwork(card, any, any, any, nullptr);
  PSocket s = SysSocket(SOCKET_DATAGRAM);
  if (s == nullptr || !SysSocketBind(s, 0, 0, 7)) {
    WriteConsoleF("UdpEcho: cannot bind port 7\n");
    return 2;
  }
  s->Blocking = true;
  WriteConsoleF("UdpEcho: listening on port 7 on Core#%d\n", GetCoreId());
  char buffer[1500];
  for (;;) {
    TIPAddress from;
    DWORD port;
    const LongInt n = SysSocketRecvFrom(s, buffer, sizeof buffer - 1, &from, &port);
    buffer[n] = 0;
    Byte ip[4];
    _IPAddresstoArray(from, ip);
    WriteConsoleF("UdpEcho: %d bytes from %d.%d.%d.%d:%d\n", n, ip[0], ip[1], ip[2], ip[3], port);
    SysSocketSend(s, buffer, DWORD(n), 0);
    if (n == 4 && memcmp(buffer, "quit", 4) == 0) break;
  }
  SysSocketClose(s);
  return 0;
}

PtrInt ServeAndRecord(void* arg) {
  g_result = int(Serve(arg));
  return 0;
}
}  // namespace

// With a second parameter "core1" the whole service (card, socket, loop) runs on core 1.
int main() {
  const char* where = GetKernelParam(1);
  if (where == nullptr || CPU_COUNT < 2) return int(Serve(nullptr));
  SysCreateThread(0, 1, ServeAndRecord, nullptr);
  while (g_result < 0) Sleep(10);
  return g_result;
}
