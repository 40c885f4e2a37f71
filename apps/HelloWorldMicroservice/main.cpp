// Port of Toro's HelloWorldMicroservice (toro-spec §3): a non-blocking network service on
// port 8080 that answers every HTTP GET with "Hello World I am Toro!" and closes.
// Network: QEMU user networking by default (10.0.2.15, gateway 10.0.2.2); `-append IP[,CARD]`
// sets the address (dotted) and the card ("e1000" or "virtionet"; default: the one found).
#include <toro.h>

namespace {

constexpr LongInt kServicePort = 8080;
constexpr LongInt kServiceTimeout = 20000;  // ms: an idle connection is closed after 20 s
constexpr DWORD kMaxKey = 200;

const char kHeader[] = "HTTP/1.0 200\r\nContent-type: Text/Html\r\nContent-length:";
const char kContent[] = "Hello World I am Toro!\r\n";
const char kTail[] = "\r\nConnection: close\r\nServer: ToroMicroserver\r\n\r\n";

// The request state of one connection: the "key" is the path after "GET /" up to a space.
struct TRequest {
  char BufferStart[kMaxKey];
  DWORD BufferEnd;  // bytes of the request read so far
  DWORD KeyLength;
  Boolean Complete;
};
using PRequest = TRequest*;

TNetworkHandler g_handler;
PSocket g_service_socket;
// Set by ServiceInit (on the service's thread): whether it listens. main waits for it.
volatile Boolean g_init_done = false;
volatile Boolean g_listening = false;

void SendReply(PSocket Socket) {
  char reply[sizeof kHeader + 8 + sizeof kTail + sizeof kContent];
  DWORD n = 0;
  for (const char* p = kHeader; *p != '\0'; ++p) reply[n++] = *p;
  const DWORD length = sizeof kContent - 1;  // 24
  reply[n++] = char('0' + length / 10);
  reply[n++] = char('0' + length % 10);
  for (const char* p = kTail; *p != '\0'; ++p) reply[n++] = *p;
  for (const char* p = kContent; *p != '\0'; ++p) reply[n++] = *p;
  SysSocketSend(Socket, reply, n, 0);
}

// Reads byte by byte until the key is complete (toro-spec §3: text after the first five
// characters up to the next space, or 200 characters).
Boolean GetRequest(PSocket Socket, PRequest Req) {
  char c;
  while (SysSocketRecv(Socket, &c, 1, 0) == 1) {
    ++Req->BufferEnd;
    if (Req->BufferEnd <= 5) continue;  // "GET /"
    if (c == ' ' || c == '\r' || c == '\n' || Req->KeyLength == kMaxKey) {
      Req->Complete = true;
      return true;
    }
    Req->BufferStart[Req->KeyLength++] = c;
  }
  return false;
}

void ServiceInit() {
  g_service_socket = SysSocket(SOCKET_STREAM);
  if (g_service_socket != nullptr) {
    g_service_socket->SourcePort = kServicePort;
    g_service_socket->Blocking = false;
    g_listening = SysSocketListen(g_service_socket, 50);
  }
  if (!g_listening) WriteConsoleF("\t ToroService: cannot listen on port %d\n", kServicePort);
  g_init_done = true;
}

LongInt ServiceAccept(PSocket Socket) {
  auto* req = static_cast<PRequest>(ToroGetMem(sizeof(TRequest)));
  if (req == nullptr) {
    SysSocketClose(Socket);
    return 0;
  }
  req->BufferEnd = 0;
  req->KeyLength = 0;
  req->Complete = false;
  Socket->UserDefined = req;
  SysSocketSelect(Socket, kServiceTimeout);
  return 0;
}

LongInt ServiceReceive(PSocket Socket) {
  auto* req = static_cast<PRequest>(Socket->UserDefined);
  if (GetRequest(Socket, req)) {
    SendReply(Socket);
    ToroFreeMem(req);
    Socket->UserDefined = nullptr;
    SysSocketClose(Socket);
  } else {
    SysSocketSelect(Socket, kServiceTimeout);
  }
  return 0;
}

LongInt ServiceClosing(PSocket Socket) {
  ToroFreeMem(Socket->UserDefined);
  Socket->UserDefined = nullptr;
  SysSocketClose(Socket);
  return 0;
}

// Parses "a.b.c.d" (the first kernel parameter) into `ip`; false if it is not one.
bool ParseIp(const char* s, Byte ip[4]) {
  for (int i = 0; i < 4; ++i) {
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) v = v * 10 + (*s++ - '0'), ++digits;
    if (digits == 0 || v > 255 || (i < 3 && *s++ != '.')) return false;
    ip[i] = Byte(v);
  }
  return *s == '\0';
}

}  // namespace

int main() {
  Byte ip[4] = {10, 0, 2, 15};
  const Byte gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  if (const char* p = GetKernelParam(0)) ParseIp(p, ip);
  const char* card = GetKernelParam(1);
  Boolean up = DedicateNetwork(card != nullptr ? card : "e1000", ip, gateway, mask, nullptr);
  if (!up && card == nullptr) up = DedicateNetwork("virtionet", ip, gateway, mask, nullptr);  // no e1000
  if (!up) {
    WriteConsoleF("\t ToroService: no network card, the service cannot start\n");
    return 1;
  }
  g_handler.DoInit = ServiceInit;
  g_handler.DoAccept = ServiceAccept;
  g_handler.DoTimeOut = ServiceClosing;
  g_handler.DoReceive = ServiceReceive;
  g_handler.DoClose = ServiceClosing;
  g_handler.DoConnect = nullptr;
  g_handler.DoConnectFail = nullptr;
  if (!SysRegisterNetworkService(&g_handler)) {
    WriteConsoleF("\t ToroService: the service cannot start\n");
    return 1;
  }
  while (!g_init_done) SysThreadSwitch();  // DoInit runs on the service's thread, on this core
  if (!g_listening) return 1;
  WriteConsoleF("\t ToroService: listening on port %d ...\n", kServicePort);
  SysSuspendThread(0);
  return 0;
}
