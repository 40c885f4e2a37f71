// bench/fs's decomposition of StaticWebServer's cost (bench/fs/run.py, targets mem-service and
// mem-threads): the very bytes StaticWebServer sends for /small.html (its header for a
// 4096-byte Text/html file, then 4096 bytes), from memory, with no disk and no filesystem.
//   -append CARD           a network service (HelloWorldMicroservice's model: callbacks on the
//                          service's thread, no thread per connection); CARD virtionet or e1000
//   -append CARD,threads   StaticWebServer's model: blocking sockets, a thread per connection
// at 10.0.2.15 (QEMU's user networking).
// Every GET on port 80 gets the answer, then the connection is closed. The body is byte i =
// 'a' + i % 26 (bench/fs/run.py checks it). So StaticWebServer against `threads` is the price
// of its files, `threads` against the service the price of a thread per connection, and the
// service against HelloWorldMicroservice the price of 4 KiB more (3 segments instead of 1).
#include <toro.h>

#include <cstring>

namespace {

constexpr LongInt kPort = 80;
constexpr LongInt kTimeout = 20000;  // ms without a complete request line: closed
constexpr DWORD kBody = 4096;
constexpr char kHeader[] =
    "HTTP/1.0 200\r\nContent-type: Text/html\r\nContent-length: 4096\r\nConnection: close\r\nServer: "
    "ToroHttpServer\r\n\r\n";
constexpr DWORD kAnswer = sizeof kHeader - 1 + kBody;
char g_answer[kAnswer];

// Reads what has come: true once the request line's '\n' is among it.
bool LineDone(PSocket s) {
  char piece[256];
  LongInt n;
  while ((n = SysSocketRecv(s, piece, sizeof piece, 0)) > 0) {
    for (LongInt i = 0; i < n; ++i) {
      if (piece[i] == '\n') return true;
    }
  }
  return false;
}

void SendAll(PSocket s) {
  for (DWORD sent = 0; sent < kAnswer;) {
    const LongInt n = SysSocketSend(s, g_answer + sent, kAnswer - sent, 0);
    if (n <= 0) return;
    sent += DWORD(n);
  }
}

// The service: HelloWorldMicroservice's callbacks.
TNetworkHandler g_handler;
PSocket g_server;
volatile Boolean g_init_done = false;
volatile Boolean g_listening = false;

void ServiceInit() {
  g_server = SysSocket(SOCKET_STREAM);
  if (g_server != nullptr) {
    g_server->SourcePort = kPort;
    g_server->Blocking = false;
    g_listening = SysSocketListen(g_server, 50);
  }
  g_init_done = true;
}

LongInt ServiceAccept(PSocket s) {
  SysSocketSelect(s, kTimeout);
  return 0;
}

LongInt ServiceReceive(PSocket s) {
  if (LineDone(s)) {
    SendAll(s);
    SysSocketClose(s);
  } else {
    SysSocketSelect(s, kTimeout);
  }
  return 0;
}

LongInt ServiceClosing(PSocket s) {
  SysSocketClose(s);
  return 0;
}

// The threads: StaticWebServer's model.
PtrInt Connection(void* param) {
  auto s = static_cast<PSocket>(param);
  bool done = false;
  while (!(done = LineDone(s)) && SysSocketSelect(s, kTimeout)) {
  }
  if (done) SendAll(s);
  SysSocketClose(s);
  return 0;
}

int Threads() {
  PSocket server = SysSocket(SOCKET_STREAM);
  if (server == nullptr) return 1;
  server->SourcePort = kPort;
  server->Blocking = true;
  if (!SysSocketListen(server, 50)) return 1;
  WriteConsoleF("MemoryAnswer: a thread per connection on port %d\n", kPort);
  for (;;) {
    PSocket client = SysSocketAccept(server);
    if (client == nullptr) continue;
    TThreadID tid;
    if (BeginThread(nullptr, 32 * 1024, Connection, client, 0, tid) == 0) SysSocketClose(client);
  }
}

}  // namespace

int main() {
  memcpy(g_answer, kHeader, sizeof kHeader - 1);
  for (DWORD i = 0; i < kBody; ++i) g_answer[sizeof kHeader - 1 + i] = char('a' + i % 26);
  Byte ip[4] = {10, 0, 2, 15};  // QEMU's user networking
  const Byte gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  const char* card = GetKernelParam(0);
  if (!DedicateNetwork(card != nullptr ? card : "virtionet", ip, gateway, mask, nullptr)) {
    WriteConsoleF("MemoryAnswer: no network card\n");
    return 1;
  }
  const char* mode = GetKernelParam(1);
  if (mode != nullptr && strcmp(mode, "threads") == 0) return Threads();
  g_handler.DoInit = ServiceInit;
  g_handler.DoAccept = ServiceAccept;
  g_handler.DoTimeOut = ServiceClosing;
  g_handler.DoReceive = ServiceReceive;
  g_handler.DoClose = ServiceClosing;
  if (!SysRegisterNetworkService(&g_handler)) return 1;
  while (!g_init_done) SysThreadSwitch();
  if (!g_listening) return 1;
  WriteConsoleF("MemoryAnswer: a service on port %d\n", kPort);
  SysSuspendThread(0);
  return 0;
}
