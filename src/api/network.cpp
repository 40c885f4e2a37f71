#include <kernel/console.h>
#include <kernel/memory.h>
#include <net/interface.h>
#include <sched/scheduler.h>
#include <toro/network.h>

#include <cstring>

namespace {
net::Ipv4 from_array(const Byte a[4]) { return net::Ipv4::from_bytes(a[0], a[1], a[2], a[3]); }
net::Ipv4 from_toro(TIPAddress t) {
  return net::Ipv4::from_bytes(uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24));
}
TIPAddress to_toro(net::Ipv4 a) {
  return TIPAddress(a.octet(0)) | TIPAddress(a.octet(1)) << 8 | TIPAddress(a.octet(2)) << 16 |
         TIPAddress(a.octet(3)) << 24;
}
}  // namespace

void DedicateNetwork(const char* Name, const Byte IP[4], const Byte Gateway[4], const Byte Mask[4], TThreadFunc Handler) {
  if (Handler != nullptr) {
    kernel::printk("DedicateNetwork: a raw packet handler is not supported; use nullptr\n");
    return;
  }
  net::dedicate(Name, from_array(IP), from_array(Gateway), from_array(Mask));
}

void _IPAddress(const Byte Ip[4], TIPAddress& Result) { Result = to_toro(from_array(Ip)); }

void _IPAddresstoArray(TIPAddress Ip, Byte Result[4]) {
  for (int i = 0; i < 4; ++i) Result[i] = Byte(Ip >> (8 * i));
}

Word SwapWORD(Word n) { return Word((n >> 8) | (n << 8)); }

THardwareAddress GetLocalMAC() {
  THardwareAddress out{};
  if (net::Interface* i = net::local()) memcpy(out.b, i->stack.mac().b, 6);
  return out;
}

LongInt ICMPSendEcho(TIPAddress IpDest, const void* Data, LongInt len, Word seq, Word id) {
  net::Interface* i = net::local();
  if (i == nullptr || len < 0) return 1;
  const net::Ipv4 dst = from_toro(IpDest);
  // Up to three ARP attempts, 50 ms each (toro-spec §1.10 GetMacAddress).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (i->stack.send_echo_request(dst, id, seq, Data, size_t(len))) return 0;
    net::Mac m;
    for (int ms = 0; ms < 500 && !i->stack.lookup(i->stack.next_hop(dst), &m); ++ms) sched::sleep_ms(1);
  }
  return i->stack.send_echo_request(dst, id, seq, Data, size_t(len)) ? 0 : 1;
}

PICMPReply ICMPPoolPackets() {
  net::Interface* i = net::local();
  if (i == nullptr) return nullptr;
  net::EchoReply r;
  for (int ms = 0; ms <= 1000; ++ms) {
    if (i->stack.pop_echo_reply(&r)) {
      auto* out = static_cast<PICMPReply>(kernel::allocate(sizeof(TICMPReply)));
      if (out == nullptr) return nullptr;
      out->SourceIP = to_toro(r.from);
      out->Seq = r.seq;
      out->Id = r.id;
      out->Size = r.length;
      memcpy(out->Data, r.data, r.length);
      return out;
    }
    sched::sleep_ms(1);
  }
  return nullptr;
}
