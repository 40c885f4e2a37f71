// Toro HEAD's TestNetworking (toro-spec §3.5) over TCP instead of vsock, on blocking sockets.
// `-append server[,N]`: listens on port 80; for each of N connections (default 9: 2 KiB ..
// 512 KiB) reads until 1000 ms pass without data, sends it all back and closes.
// `-append client,PORT`: connects to the host (10.0.2.2, QEMU's user networking) on PORT,
// sends the bytes 0..255, reads back until 1 s idle, closes, and checks: TestClient-0: PASSED.
// Both first check the Network names Toro's test does not (IPStrtoArray, GetMacAddress, a
// string literal passed to SysSocketSend).
#include <toro.h>

namespace {

bool same(const Byte a[4], Byte b0, Byte b1, Byte b2, Byte b3) {
  return a[0] == b0 && a[1] == b1 && a[2] == b2 && a[3] == b3;
}

void TestIPStrtoArray() {
  Byte a[4] = {9, 9, 9, 9}, b[4] = {9, 9, 9, 9}, c[4] = {9, 9, 9, 9}, d[4] = {9, 9, 9, 9}, e[4] = {9, 9, 9, 9};
  IPStrtoArray("192.100.200.100", a);
  IPStrtoArray("10.0.2.2 rest", b);
  IPStrtoArray("10.0.256.1", c);
  IPStrtoArray("10.0.2", d);
  IPStrtoArray(nullptr, e);
  const bool ok = same(a, 192, 100, 200, 100) && same(b, 10, 0, 2, 2) && same(c, 0, 0, 0, 0) && same(d, 0, 0, 0, 0) &&
                  same(e, 0, 0, 0, 0);
  WriteConsoleF("TestIPStrtoArray-0: %p\n", ok ? "PASSED" : "FAILED");
}

void TestGetMacAddress(TIPAddress gateway) {
  PMachine m = GetMacAddress(gateway);
  // QEMU's user network answers for 10.0.2.2 with 52:55:0a:00:02:02.
  const bool ok = m != nullptr && m->IpAddress == gateway && m->HardAddress.b[0] == 0x52 &&
                  m->HardAddress.b[1] == 0x55 && m->HardAddress.b[5] == 0x02;
  if (m != nullptr) ToroFreeMem(m);
  WriteConsoleF("TestGetMacAddress-0: %p\n", ok ? "PASSED" : "FAILED");
}

// Reads until `idle_ms` pass without data (or the peer closes); returns the bytes in *out.
DWORD ReadUntilIdle(PSocket s, char** out, LongInt idle_ms) {
  DWORD size = 0, capacity = 4096;
  char* buffer = static_cast<char*>(ToroGetMem(capacity));
  while (buffer != nullptr && SysSocketSelect(s, idle_ms)) {
    if (size == capacity) {
      capacity *= 2;
      buffer = static_cast<char*>(ToroReAllocMem(buffer, capacity));
      if (buffer == nullptr) break;
    }
    size += DWORD(SysSocketRecv(s, buffer + size, capacity - size, 0));
  }
  *out = buffer;
  return buffer == nullptr ? 0 : size;
}

int Server(LongInt connections) {
  PSocket server = SysSocket(SOCKET_STREAM);
  server->SourcePort = 80;
  server->Blocking = true;
  if (!SysSocketListen(server, 8)) {
    WriteConsoleF("TestNetworking: cannot listen\n");
    return 1;
  }
  WriteConsoleF("TestNetworking: listening on port 80\n");
  bool lifetime_ok = true;
  for (LongInt i = 0; i < connections; ++i) {
    PSocket c = SysSocketAccept(server);
    if (c == nullptr) return 2;
    char* data = nullptr;
    const DWORD n = ReadUntilIdle(c, &data, 1000);
    const LongInt sent = data == nullptr ? 0 : SysSocketSend(c, data, n, 0);
    WriteConsoleF("TestNetworking: connection %d: %d bytes echoed\n", i, sent);
    if (data != nullptr) ToroFreeMem(data);
    // The socket lifetime rule: a closed socket is still readable until this thread's next
    // kernel call returns, and a second close is a defined no-op (it was a double free).
    c->UserDefined = &lifetime_ok;
    SysSocketClose(c);
    lifetime_ok = lifetime_ok && c->UserDefined == &lifetime_ok;
    SysSocketClose(c);
  }
  WriteConsoleF("TestSocketLifetime-0: %p\n", lifetime_ok ? "PASSED" : "FAILED");
  SysSocketClose(server);
  Sleep(200);  // the last FIN is acknowledged
  return 0;
}

int Client(DWORD port) {
  Byte host[4];
  IPStrtoArray("10.0.2.2", host);
  PSocket s = SysSocket(SOCKET_STREAM);
  _IPAddress(host, s->DestIp);
  s->DestPort = port;
  s->Blocking = true;
  if (!SysSocketConnect(s)) {
    WriteConsoleF("TestClient-0: FAILED (no connection)\n");
    return 1;
  }
  char bytes[256];
  for (int i = 0; i < 256; ++i) bytes[i] = char(i);
  const bool hello = SysSocketSend(s, "hello", 5, 0) == 5;  // a literal needs no cast
  const bool all = SysSocketSend(s, bytes, sizeof bytes, 0) == 256;
  char* back = nullptr;
  const DWORD n = ReadUntilIdle(s, &back, 1000);
  SysSocketClose(s);
  bool ok = hello && all && back != nullptr && n == 5 + 256;
  for (DWORD i = 0; ok && i < n; ++i) ok = back[i] == (i < 5 ? "hello"[i] : char(i - 5));
  if (back != nullptr) ToroFreeMem(back);
  WriteConsoleF("TestClient-0: %p (%d bytes back)\n", ok ? "PASSED" : "FAILED", n);
  return ok ? 0 : 1;
}

LongInt Number(const char* p, LongInt otherwise) {
  if (p == nullptr || *p < '0' || *p > '9') return otherwise;
  LongInt n = 0;
  while (*p >= '0' && *p <= '9') n = n * 10 + (*p++ - '0');
  return n;
}

}  // namespace

int main() {
  const char* mode = GetKernelParam(0);
  if (mode == nullptr) {
    WriteConsoleF("TestNetworking: -append server[,N] or client,PORT\n");
    return 1;
  }
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  if (!DedicateNetwork("e1000", ip, gateway, mask, nullptr)) return 1;
  TestIPStrtoArray();
  TIPAddress gw;
  _IPAddress(gateway, gw);
  TestGetMacAddress(gw);
  if (mode[0] == 's') return Server(Number(GetKernelParam(1), 9));
  return Client(DWORD(Number(GetKernelParam(1), 0)));
}
