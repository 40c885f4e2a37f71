// Port of Toro's Ping example (toro-spec §3.2): pings the gateway once a second and prints
// what comes back. With QEMU's user networking the guest is 10.0.2.15 and the gateway 10.0.2.2,
// which answers echo requests. `-append N[,CARD]` sets how many pings (default 3) and the card
// ("e1000" by default, "virtionet" for virtio-net); the exit code is
// 0 when every ping got its reply.
#include <toro.h>

int main() {
  const Byte ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
  // The card: "e1000" unless the second kernel parameter names another ("virtionet").
  const char* card = GetKernelParam(1) != nullptr ? GetKernelParam(1) : "e1000";
  DedicateNetwork(card, ip, gateway, mask, nullptr);
  LongInt count = 3;
  if (const char* p = GetKernelParam(0)) {
    count = 0;
    while (*p >= '0' && *p <= '9') count = count * 10 + (*p++ - '0');
  }
  TIPAddress target;
  _IPAddress(gateway, target);
  const char payload[] = "abcdefghijklmtororstuvwabcdefghi";  // 32 bytes, as in Toro
  WriteConsoleF("\t ToroPing: This test sends ICMP packets every 1s\n");
  LongInt received = 0;
  for (Word seq = 90; seq < 90 + count; ++seq) {
    WriteConsoleF("\t ToroPing: sending ping to %d.%d.%d.%d, seq: %d\n", gateway[0], gateway[1], gateway[2], gateway[3],
                  seq);
    if (ICMPSendEcho(target, payload, 32, seq, 0) != 0) {
      WriteConsoleF("\t ToroPing: could not send (no ARP answer from the gateway)\n");
      Sleep(1000);
      continue;
    }
    // Up to three polls of a second each: on a loaded host a reply can come late, and a late
    // reply to an earlier ping is reported and skipped instead of ending this one's wait.
    bool matched = false;
    for (int poll = 0; poll < 3 && !matched; ++poll) {
      PICMPReply reply = ICMPPoolPackets();
      if (reply == nullptr) continue;
      if (reply->SourceIP == target && reply->Seq == seq) {
        WriteConsoleF("\t ToroPing: received ping from %d.%d.%d.%d\n", gateway[0], gateway[1], gateway[2], gateway[3]);
        ++received;
        matched = true;
      } else {
        WriteConsoleF("\t ToroPing: wrong received ping, seq=%d\n", reply->Seq);
      }
      ToroFreeMem(reply);
    }
    if (!matched) {
      WriteConsoleF("\t ToroPing: no received ping from %d.%d.%d.%d\n", gateway[0], gateway[1], gateway[2], gateway[3]);
    }
    Sleep(1000);
  }
  WriteConsoleF("ToroPing: %d of %d replies\n", received, count);
  return received == count ? 0 : 1;
}
