// UDP echo over a datagram socket, with the address from DHCP (an all-zero IP asks for it):
// every datagram to port 7 comes back to its sender; "quit" ends the program (exit code 0).
// Driven from the host by tests/vm/udptest.py through a forwarded UDP port.
#include <toro.h>

#include <cstring>

int main() {
  const Byte any[4] = {0, 0, 0, 0};
  const char* card = GetKernelParam(0) != nullptr ? GetKernelParam(0) : "e1000";
  DedicateNetwork(card, any, any, any, nullptr);
  PSocket s = SysSocket(SOCKET_DATAGRAM);
  if (s == nullptr || !SysSocketBind(s, 0, 0, 7)) {
    WriteConsoleF("UdpEcho: cannot bind port 7\n");
    return 2;
  }
  s->Blocking = true;
  WriteConsoleF("UdpEcho: listening on port 7\n");
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
