// Two network services on two cores, each core with its own card (issue #6: "a service on core
// N never touches core M's data"). Core 0 takes the first card, core 1 the second; each serves
// HTTP on port 8080 and answers "Core#N request #K", K counting that core's requests in data only
// that core touches. tests/vm/twoservices.py sends requests to both cards and checks that each
// card's answers come from its own core with an unbroken count. `-append CARD[,hello]` (card:
// e1000, the default, or virtionet; `hello`: answer HelloWorldMicroservice's exact bytes
// instead, as bench/http's two-core case does).
#include <toro.h>

#include <atomic>

namespace {

constexpr LongInt kPort = 8080;
constexpr int kCores = 2;

// Per-core state, each on its own cache line: written only by its core's service.
const char kHello[] =
    "HTTP/1.0 200\r\nContent-type: Text/Html\r\nContent-length:24\r\nConnection: close\r\n"
    "Server: ToroMicroserver\r\n\r\nHello World I am Toro!\r\n";
bool g_hello = false;  // set before the services start, read only after

struct alignas(64) CoreState {
  TNetworkHandler handler;
  DWORD requests;
};
CoreState g_core[kCores];
std::atomic<int> g_ready{0};

LongInt Accept(PSocket Socket) {
  SysSocketSelect(Socket, 10000);
  return 0;
}

LongInt Receive(PSocket Socket) {
  char c;
  Boolean line_end = false;
  while (SysSocketRecv(Socket, &c, 1, 0) == 1) line_end = line_end || c == '\n';
  if (!line_end) {  // the request line is not complete yet
    SysSocketSelect(Socket, 10000);
    return 0;
  }
  const DWORD n = ++g_core[GetCoreId()].requests;
  if (g_hello) {
    SysSocketSend(Socket, const_cast<char*>(kHello), sizeof kHello - 1, 0);
    SysSocketClose(Socket);
    return 0;
  }
  char reply[64] = "HTTP/1.0 200\r\n\r\nCore#? request #";
  DWORD len = 0;
  while (reply[len] != '\0') ++len;
  reply[len - 11] = char('0' + GetCoreId());  // the '?'
  char digits[10];
  int d = 0;
  for (DWORD v = n; v != 0 || d == 0; v /= 10) digits[d++] = char('0' + v % 10);
  while (d > 0) reply[len++] = digits[--d];
  reply[len++] = '\r';
  reply[len++] = '\n';
  SysSocketSend(Socket, reply, len, 0);
  SysSocketClose(Socket);
  return 0;
}

LongInt Close(PSocket Socket) {
  SysSocketClose(Socket);
  return 0;
}

void Init() {
  PSocket s = SysSocket(SOCKET_STREAM);
  s->SourcePort = kPort;
  s->Blocking = false;
  if (!SysSocketListen(s, 50)) WriteConsoleF("TwoServices: Core#%d cannot listen\n", GetCoreId());
}

PtrInt Serve(void*) {
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  const char* card = GetKernelParam(0) != nullptr ? GetKernelParam(0) : "e1000";
  const int core = int(GetCoreId());
  if (!DedicateNetwork(card, ip, gateway, mask, nullptr)) {
    WriteConsoleF("TwoServices: no %p card for Core#%d\n", card, core);
    return 1;
  }
  TNetworkHandler& h = g_core[core].handler;
  h = TNetworkHandler{Init, Accept, Close, Receive, nullptr, nullptr, Close};  // timeout: close
  if (!SysRegisterNetworkService(&h)) return 1;
  WriteConsoleF("TwoServices: Core#%d serves port %d on its own card\n", core, kPort);
  ++g_ready;
  return 0;
}

}  // namespace

int main() {
  if (CPU_COUNT < kCores) {
    WriteConsoleF("TwoServices: needs %d cores\n", kCores);
    return 1;
  }
  const char* mode = GetKernelParam(1);
  g_hello = mode != nullptr && mode[0] == 'h' && mode[1] == 'e' && mode[2] == 'l' && mode[3] == 'l' && mode[4] == 'o' &&
            mode[5] == '\0';
  if (Serve(nullptr) != 0) return 1;
  SysCreateThread(0, 1, Serve, nullptr);
  while (g_ready < kCores) Sleep(10);
  WriteConsoleF("TwoServices: ready\n");
  SysSuspendThread(0);
  return 0;
}
