// IPv4 (RFC 791): the checks on a received header, its demultiplexing by protocol (ICMP, UDP,
// and TCP, which the stack hands to its tcp::Tcp), routing to the next hop, and the header of
// everything we send (no options, don't fragment; fragments are dropped on the way in).
#include <net/ipv4.h>
#include <net/stack.h>
#include <net/tcp/tcp.h>

namespace net {

Ipv4 Stack::next_hop(Ipv4 dst) const { return (dst.value & mask_.value) == (ip_.value & mask_.value) ? dst : gateway_; }

void Stack::handle_ipv4(const uint8_t* frame, const uint8_t* p, size_t length) {
  if (length < 20 || (p[0] >> 4) != 4) {
    ++counters_.dropped_bad_ip;
    return;
  }
  const size_t header = size_t(p[0] & 0xF) * 4;
  const size_t total = load16(p + 2);
  if (header < 20 || total < header || total > length) {
    ++counters_.dropped_bad_ip;
    return;
  }
  if (checksum(p, header) != 0) {
    ++counters_.dropped_bad_checksum;
    return;
  }
  const uint16_t frag = load16(p + 6);
  if ((frag & 0x2000) || (frag & 0x1FFF)) {  // MF set or an offset: we do not reassemble
    ++counters_.dropped_fragment;
    return;
  }
  const Ipv4 dst{load32(p + 16)};
  const bool for_us = dst == ip_ || dst.value == 0xFFFFFFFF;
  if (!for_us && p[9] != kProtoUdp) {  // UDP decides per port (a DHCP client takes any address)
    ++counters_.dropped_not_for_us;
    return;
  }
  // The sender is a neighbour (or the gateway on its behalf): remember its MAC.
  const Ipv4 src{load32(p + 12)};
  if (next_hop(src) == src) learn(src, get_mac(frame + 6));
  if (p[9] == kProtoIcmp && for_us) {
    handle_icmp(frame, p, header, p + header, total - header);
  } else if (p[9] == kProtoUdp) {
    handle_udp(p, p + header, total - header, for_us);
  } else if (p[9] == tcp::kProtoTcp && for_us && tcp_ != nullptr && dst == ip_) {
    tcp_->receive(src, dst, p + header, total - header);
  } else {
    ++counters_.dropped_unknown_protocol;
  }
}

// `frame` is a kMaxFrame buffer whose payload is already in place after the Ethernet and IPv4
// headers (offset kIpPayload); this fills in both headers and sends it.
bool Stack::send_ipv4(uint8_t* frame, Ipv4 dst, uint8_t protocol, size_t length, const Mac* known_mac) {
  if (length > kMaxFrame - kIpPayload) return false;
  Mac to;
  bool resolved = true;
  if (known_mac != nullptr) {
    to = *known_mac;
  } else if (dst.value == 0xFFFFFFFF) {
    to = kBroadcast;
  } else if (!lookup(next_hop(dst), &to)) {
    resolved = false;  // built below, then held until the ARP reply names the next hop
  }
  put_mac(frame, to);
  put_mac(frame + 6, mac_);
  store16(frame + 12, kEtherIpv4);
  uint8_t* h = frame + kEthHeader;
  h[0] = 0x45;  // version 4, 5-word header
  h[1] = 0;
  store16(h + 2, uint16_t(kIpv4Header + length));
  store16(h + 4, ip_id_++);
  store16(h + 6, 0x4000);  // don't fragment
  h[8] = 64;               // TTL
  h[9] = protocol;
  store16(h + 10, 0);
  store32(h + 12, ip_.value);
  store32(h + 16, dst.value);
  store16(h + 10, checksum(h, kIpv4Header));
  if (!resolved) {
    hold(frame, kIpPayload + length, next_hop(dst));
    request(next_hop(dst));
    return true;  // on its way once the next hop answers
  }
  return transmit(frame, kIpPayload + length);
}

// TCP's way out (Tcp::Config::send): the segment built in place after the IPv4 header.
bool Stack::send_tcp(Ipv4 to, const tcp::Segment& segment) {
  uint8_t frame[kMaxFrame];
  const size_t length = tcp::build(ip_, to, segment, frame + kIpPayload, kMaxFrame - kIpPayload);
  if (length == 0 || !send_ipv4(frame, to, tcp::kProtoTcp, length, nullptr)) {
    ++counters_.tcp_out_no_route;
    return false;
  }
  return true;
}

}  // namespace net
