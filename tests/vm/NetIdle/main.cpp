// Brings up a network card with a static address and stays up for a while, answering ARP and
// ICMP echo (toro-spec §3.2: "the guest answers ICMP echo requests"), so the host can ping it.
// Parameters: card, ip, gateway, seconds (e.g. -append e1000,10.0.3.2,10.0.3.1,8).
#include <toro.h>

namespace {
bool ParseIp(const char* s, Byte out[4]) {
  for (int i = 0; i < 4; ++i) {
    int v = 0, digits = 0;
    while (s != nullptr && *s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'), ++digits;
    if (digits == 0 || v > 255 || (i < 3 && (s == nullptr || *s++ != '.'))) return false;
    out[i] = Byte(v);
  }
  return true;
}
}  // namespace

int main() {
  Byte ip[4], gateway[4];
  const Byte mask[4] = {255, 255, 255, 0};
  if (KernelParamCount() < 4 || !ParseIp(GetKernelParam(1), ip) || !ParseIp(GetKernelParam(2), gateway)) {
    WriteConsoleF("NetIdle: usage: -append card,ip,gateway,seconds\n");
    return 2;
  }
  LongInt seconds = 0;
  for (const char* p = GetKernelParam(3); *p >= '0' && *p <= '9'; ++p) seconds = seconds * 10 + (*p - '0');
  DedicateNetwork(GetKernelParam(0), ip, gateway, mask, nullptr);
  WriteConsoleF("NetIdle: up for %d s\n", seconds);
  Sleep(seconds * 1000);
  WriteConsoleF("NetIdle: done\n");
  return 0;
}
