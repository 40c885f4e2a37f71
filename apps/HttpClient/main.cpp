// A TCP client (SysSocketConnect on a blocking socket): fetches http://10.0.2.2:PORT/PATH —
// under QEMU's user networking 10.0.2.2 is the host, so this reaches a server on the host's
// 127.0.0.1:PORT — and prints the answer. `-append PORT[,PATH]`. Exit code 0 when the server
// answered "HTTP/1.x 200" and closed the connection, 1 when it could not connect, 2 otherwise.
#include <toro.h>

int main() {
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  DedicateNetwork("e1000", ip, gateway, mask, nullptr);
  DWORD port = 80;
  if (const char* p = GetKernelParam(0)) {
    port = 0;
    while (*p >= '0' && *p <= '9') port = port * 10 + DWORD(*p++ - '0');
  }
  const char* path = GetKernelParam(1) != nullptr ? GetKernelParam(1) : "";

  PSocket s = SysSocket(SOCKET_STREAM);
  s->Blocking = true;
  _IPAddress(gateway, s->DestIp);
  s->DestPort = port;
  WriteConsoleF("HttpClient: connecting to 10.0.2.2:%d\n", port);
  if (!SysSocketConnect(s)) {
    WriteConsoleF("HttpClient: connection refused or timed out\n");
    SysSocketClose(s);
    return 1;
  }
  char request[300];
  DWORD n = 0;
  for (const char* p = "GET /"; *p != '\0'; ++p) request[n++] = *p;
  for (const char* p = path; *p != '\0' && n < 250; ++p) request[n++] = *p;
  for (const char* p = " HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n"; *p != '\0'; ++p) request[n++] = *p;
  SysSocketSend(s, request, n, 0);

  // Blocking Select: true while data arrives, false once the server closed (or 10 s of silence).
  static char answer[65536];
  DWORD length = 0;
  while (SysSocketSelect(s, 10000) && length < sizeof answer - 1) {
    length += DWORD(SysSocketRecv(s, answer + length, sizeof answer - 1 - length, 0));
  }
  answer[length] = '\0';
  SysSocketClose(s);
  WriteConsoleF("HttpClient: %d bytes received\n", length);
  WriteConsoleF("%p", static_cast<const char*>(answer));
  WriteConsoleF("\nHttpClient: end of answer\n");
  const bool ok =
      length > 12 && answer[0] == 'H' && answer[5] == '1' && answer[9] == '2' && answer[10] == '0' && answer[11] == '0';
  return ok ? 0 : 2;
}
