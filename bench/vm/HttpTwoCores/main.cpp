// bench/http, case (b): HelloWorldMicroservice's HTTP service once per core, each core with its
// own network card (toro-spec §1.10: DedicateNetwork binds a card to the calling core; the
// service registered on a core serves that core's card). Run with two cards of the same kind,
// e.g. `-smp 2` and two QEMU user-networking cards with their own forwarded port each; both
// guests are 10.0.2.15 (two separate user networks). `-append CARD` picks the card ("e1000",
// default, or "virtionet"). bench/http/run.py drives it, on `-M q35`: on `-M pc` with qboot the
// second card (slot 4) gets PCI line 10 and no interrupt arrives on it (bench/RESULTS.md).
#include <toro.h>

#include <atomic>

namespace {

constexpr LongInt kServicePort = 8080;
constexpr LongInt kServiceTimeout = 20000;  // ms
constexpr DWORD kMaxKey = 200;
constexpr int kMaxCores = 2;

char kReply[] = "HTTP/1.0 200\r\nContent-type: Text/Html\r\nContent-length:24\r\nConnection: close\r\n"
                      "Server: ToroMicroserver\r\n\r\nHello World I am Toro!\r\n";

struct TRequest {
  DWORD BufferEnd;
  DWORD KeyLength;
};

TNetworkHandler g_handler[kMaxCores];
PSocket g_service_socket[kMaxCores];
std::atomic<int> g_ready{0};

Boolean GetRequest(PSocket Socket, TRequest* Req) {
  char c;
  while (SysSocketRecv(Socket, &c, 1, 0) == 1) {
    ++Req->BufferEnd;
    if (Req->BufferEnd <= 5) continue;  // "GET /"
    if (c == ' ' || c == '\r' || c == '\n' || Req->KeyLength == kMaxKey) return true;
    ++Req->KeyLength;
  }
  return false;
}

void ServiceInit() {
  PSocket s = SysSocket(SOCKET_STREAM);
  s->SourcePort = kServicePort;
  s->Blocking = false;
  if (!SysSocketListen(s, 50)) WriteConsoleF("\t HttpTwoCores: cannot listen on Core#%d\n", GetCoreId());
  g_service_socket[GetCoreId()] = s;
}

LongInt ServiceAccept(PSocket Socket) {
  auto* req = static_cast<TRequest*>(ToroGetMem(sizeof(TRequest)));
  if (req == nullptr) {
    SysSocketClose(Socket);
    return 0;
  }
  req->BufferEnd = 0;
  req->KeyLength = 0;
  Socket->UserDefined = req;
  SysSocketSelect(Socket, kServiceTimeout);
  return 0;
}

LongInt ServiceReceive(PSocket Socket) {
  auto* req = static_cast<TRequest*>(Socket->UserDefined);
  if (GetRequest(Socket, req)) {
    SysSocketSend(Socket, kReply, sizeof kReply - 1, 0);
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

// On the calling core: take a card, register the service on it.
PtrInt Serve(void*) {
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  const char* card = GetKernelParam(0) != nullptr ? GetKernelParam(0) : "e1000";
  const int core = int(GetCoreId());
  DedicateNetwork(card, ip, gateway, mask, nullptr);
  const THardwareAddress mac = GetLocalMAC();
  if ((mac.b[0] | mac.b[1] | mac.b[2] | mac.b[3] | mac.b[4] | mac.b[5]) == 0) {
    WriteConsoleF("\t HttpTwoCores: no %p card for Core#%d\n", card, core);
    return 1;
  }
  TNetworkHandler& h = g_handler[core];
  h.DoInit = ServiceInit;
  h.DoAccept = ServiceAccept;
  h.DoTimeOut = ServiceClosing;
  h.DoReceive = ServiceReceive;
  h.DoClose = ServiceClosing;
  h.DoConnect = nullptr;
  h.DoConnectFail = nullptr;
  SysRegisterNetworkService(&h);
  WriteConsoleF("\t HttpTwoCores: Core#%d listening on port %d\n", core, kServicePort);
  ++g_ready;
  return 0;
}

}  // namespace

// Core 0 takes the first card (the first -device), then core 1 the second: a fixed order, so
// that the first forwarded port is core 0's.
int main() {
  if (Serve(nullptr) != 0) return 1;
  if (CPU_COUNT >= 2) {
    SysCreateThread(0, 1, Serve, nullptr);
    while (g_ready < 2) Sleep(10);
  }
  WriteConsoleF("\t HttpTwoCores: %d services ready\n", g_ready.load());
  SysSuspendThread(0);
  return 0;
}
