#include <net/stack.h>
#include <net/tcp/tcp.h>

namespace net {
namespace {

constexpr uint16_t kEtherArp = 0x0806, kEtherIpv4 = 0x0800;
constexpr uint8_t kProtoIcmp = 1, kProtoUdp = 17;
constexpr size_t kEthHeader = 14;

void put_mac(uint8_t* p, const Mac& m) { memcpy(p, m.b, 6); }
Mac get_mac(const uint8_t* p) {
  Mac m;
  memcpy(m.b, p, 6);
  return m;
}

}  // namespace

void Stack::configure(const Mac& mac, Ipv4 ip, Ipv4 gateway, Ipv4 mask, Sender sender, Clock now_ms) {
  mac_ = mac;
  ip_ = ip;
  gateway_ = gateway;
  mask_ = mask;
  sender_ = sender;
  now_ = now_ms;
}

bool Stack::transmit(uint8_t* frame, size_t length) {
  if (length < 60) {  // Ethernet minimum (without FCS): pad with zeros
    memset(frame + length, 0, 60 - length);
    length = 60;
  }
  ++counters_.frames_out;
  return sender_.send != nullptr && sender_.send(sender_.ctx, frame, length);
}

void Stack::receive_frame(const uint8_t* frame, size_t length) {
  ++counters_.frames_in;
  if (length < kEthHeader) {
    ++counters_.dropped_short;
    return;
  }
  const Mac dst = get_mac(frame);
  if (!(dst == mac_) && !dst.is_broadcast()) {
    ++counters_.dropped_not_for_us;
    return;
  }
  const uint16_t type = load16(frame + 12);
  if (type == kEtherArp) {
    handle_arp(frame + kEthHeader, length - kEthHeader);
  } else if (type == kEtherIpv4) {
    handle_ipv4(frame, frame + kEthHeader, length - kEthHeader);
  } else {
    ++counters_.dropped_unknown_type;
  }
}

// RFC 826 for Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4; op 1 request, 2 reply.
void Stack::handle_arp(const uint8_t* p, size_t length) {
  if (length < 28 || load16(p) != 1 || load16(p + 2) != kEtherIpv4 || p[4] != 6 || p[5] != 4) {
    ++counters_.dropped_bad_arp;
    return;
  }
  const uint16_t op = load16(p + 6);
  const Mac sender_mac = get_mac(p + 8);
  const Ipv4 sender_ip{load32(p + 14)};
  const Ipv4 target_ip{load32(p + 24)};
  if (op != 1 && op != 2) {
    ++counters_.dropped_bad_arp;
    return;
  }
  if (target_ip == ip_ || op == 2) learn(sender_ip, sender_mac);  // merge flag of RFC 826, simplified
  if (op == 1 && target_ip == ip_ && ip_.value != 0) {
    ++counters_.arp_requests_answered;
    send_arp(2, sender_mac, sender_mac, sender_ip);
  }
}

// An ARP packet (RFC 826) from us: a request (op 1, broadcast, target MAC unknown) or a reply
// (op 2, to the asker).
void Stack::send_arp(uint16_t op, const Mac& to, const Mac& target_mac, Ipv4 target_ip) {
  uint8_t frame[64];
  put_mac(frame, to);
  put_mac(frame + 6, mac_);
  store16(frame + 12, kEtherArp);
  uint8_t* a = frame + kEthHeader;
  store16(a, 1);
  store16(a + 2, kEtherIpv4);
  a[4] = 6;
  a[5] = 4;
  store16(a + 6, op);
  put_mac(a + 8, mac_);
  store32(a + 14, ip_.value);
  put_mac(a + 18, target_mac);
  store32(a + 24, target_ip.value);
  transmit(frame, kEthHeader + 28);
}

void Stack::learn(Ipv4 ip, const Mac& mac) {
  if (ip.value == 0) return;
  ArpEntry* slot = nullptr;
  for (auto& e : arp_) {
    if (e.used && e.ip == ip) {
      slot = &e;
      break;
    }
    if (!e.used && slot == nullptr) slot = &e;
  }
  if (slot == nullptr) {  // full: replace the oldest
    slot = &arp_[0];
    for (auto& e : arp_) {
      if (e.stamp < slot->stamp) slot = &e;
    }
  }
  *slot = {ip, mac, now_ ? now_() : 0, true};
  release_pending(ip, mac);
}

void Stack::hold(const uint8_t* frame, size_t length, Ipv4 hop) {
  const uint64_t now = now_ ? now_() : 0;
  for (auto& p : pending_) {
    if (p.used && now - p.stamp > kPendingMs) p.used = false;  // its ARP request went unanswered
  }
  Pending* slot = &pending_[0];
  for (auto& p : pending_) {
    if (!p.used) {
      slot = &p;
      break;
    }
    if (p.stamp < slot->stamp) slot = &p;  // all taken: the oldest makes room
  }
  if (slot->used) ++counters_.dropped_no_arp;
  slot->used = true;
  slot->hop = hop;
  slot->stamp = now;
  slot->length = uint16_t(length);
  memcpy(slot->frame, frame, length);
}

void Stack::release_pending(Ipv4 hop, const Mac& mac) {
  const uint64_t now = now_ ? now_() : 0;
  for (auto& p : pending_) {
    if (!p.used || !(p.hop == hop)) continue;
    p.used = false;
    if (now - p.stamp > kPendingMs) continue;  // too late: the sender has moved on
    put_mac(p.frame, mac);
    transmit(p.frame, p.length);
  }
}

bool Stack::lookup(Ipv4 ip, Mac* out) const {
  const uint64_t now = now_ ? now_() : 0;
  for (const auto& e : arp_) {
    if (e.used && e.ip == ip && now - e.stamp < kArpTimeoutMs) {
      *out = e.mac;
      return true;
    }
  }
  return false;
}

void Stack::request(Ipv4 ip) { send_arp(1, kBroadcast, Mac{}, ip); }

Ipv4 Stack::next_hop(Ipv4 dst) const {
  return (dst.value & mask_.value) == (ip_.value & mask_.value) ? dst : gateway_;
}

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

void Stack::handle_icmp(const uint8_t* frame, const uint8_t* ip, size_t ip_header, const uint8_t* p, size_t length) {
  (void)ip_header;
  if (length < 8 || checksum(p, length) != 0) {
    ++counters_.dropped_bad_icmp;
    return;
  }
  const Ipv4 src{load32(ip + 12)};
  const uint8_t type = p[0];
  if (type == 8 && p[1] == 0) {  // echo request: answer with the same id, seq and data
    if (length > kMaxFrame - kEthHeader - 20) {
      ++counters_.dropped_bad_icmp;
      return;
    }
    uint8_t reply[kMaxFrame];
    uint8_t* icmp = reply + kEthHeader + 20;
    memcpy(icmp, p, length);
    icmp[0] = 0;
    store16(icmp + 2, 0);
    store16(icmp + 2, checksum(icmp, length));
    ++counters_.echo_requests_answered;
    const Mac to = get_mac(frame + 6);
    send_ipv4(reply, src, kProtoIcmp, length, &to);
  } else if (type == 0 && p[1] == 0) {  // echo reply: keep for the application
    if (echo_count_ == kEchoQueue) {
      echo_head_ = (echo_head_ + 1) % kEchoQueue;  // drop the oldest
      --echo_count_;
    }
    EchoReply& r = echo_[(echo_head_ + echo_count_) % kEchoQueue];
    r.from = src;
    r.id = load16(p + 4);
    r.seq = load16(p + 6);
    r.length = uint16_t(length - 8 > sizeof r.data ? sizeof r.data : length - 8);
    memcpy(r.data, p + 8, r.length);
    ++echo_count_;
  } else {
    ++counters_.dropped_bad_icmp;
  }
}

// `frame` is a kMaxFrame buffer whose payload is already in place after the Ethernet and IPv4
// headers (offset 34); this fills in both headers and sends it.
bool Stack::send_ipv4(uint8_t* frame, Ipv4 dst, uint8_t protocol, size_t length, const Mac* known_mac) {
  if (length > kMaxFrame - kEthHeader - 20) return false;
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
  store16(h + 2, uint16_t(20 + length));
  store16(h + 4, ip_id_++);
  store16(h + 6, 0x4000);  // don't fragment
  h[8] = 64;               // TTL
  h[9] = protocol;
  store16(h + 10, 0);
  store32(h + 12, ip_.value);
  store32(h + 16, dst.value);
  store16(h + 10, checksum(h, 20));
  if (!resolved) {
    hold(frame, kEthHeader + 20 + length, next_hop(dst));
    request(next_hop(dst));
    return true;  // on its way once the next hop answers
  }
  return transmit(frame, kEthHeader + 20 + length);
}

bool Stack::send_tcp(Ipv4 to, const tcp::Segment& segment) {
  uint8_t frame[kMaxFrame];
  const size_t length = tcp::build(ip_, to, segment, frame + kEthHeader + 20, kMaxFrame - kEthHeader - 20);
  if (length == 0 || !send_ipv4(frame, to, tcp::kProtoTcp, length, nullptr)) {
    ++counters_.tcp_out_no_route;
    return false;
  }
  return true;
}

bool Stack::send_echo_request(Ipv4 dst, uint16_t id, uint16_t seq, const void* data, size_t length) {
  if (length > kMaxFrame - kEthHeader - 20 - 8) return false;
  uint8_t frame[kMaxFrame];
  uint8_t* icmp = frame + kEthHeader + 20;
  icmp[0] = 8;
  icmp[1] = 0;
  store16(icmp + 2, 0);
  store16(icmp + 4, id);
  store16(icmp + 6, seq);
  memcpy(icmp + 8, data, length);
  store16(icmp + 2, checksum(icmp, 8 + length));
  return send_ipv4(frame, dst, kProtoIcmp, 8 + length, nullptr);
}

void Stack::handle_udp(const uint8_t* ip, const uint8_t* p, size_t length, bool for_us) {
  if (length < 8 || load16(p + 4) < 8 || load16(p + 4) > length) {
    ++counters_.dropped_bad_udp;
    return;
  }
  const uint16_t udp_length = load16(p + 4);
  if (load16(p + 6) != 0 && checksum(p, udp_length, pseudo_header_sum(Ipv4{load32(ip + 12)}, Ipv4{load32(ip + 16)}, kProtoUdp, udp_length)) != 0) {
    ++counters_.dropped_bad_checksum;
    return;
  }
  const uint16_t dst_port = load16(p + 2);
  UdpPort* port = nullptr;
  for (UdpPort* u : udp_) {
    if (u != nullptr && u->port == dst_port) port = u;
  }
  if (port == nullptr || (!for_us && !port->any_destination)) {
    ++counters_.dropped_no_port;
    return;
  }
  if (port->count == UdpPort::kQueue) {
    ++counters_.dropped_queue_full;
    return;
  }
  Datagram& d = port->queue[(port->head + port->count) % UdpPort::kQueue];
  d.from = Ipv4{load32(ip + 12)};
  d.from_port = load16(p);
  const size_t payload = size_t(udp_length) - 8;
  d.length = uint16_t(payload > sizeof d.data ? sizeof d.data : payload);
  memcpy(d.data, p + 8, d.length);
  ++port->count;
  ++counters_.udp_in;
}

bool UdpPort::pop(Datagram* out) {
  if (count == 0) return false;
  *out = queue[head];
  head = (head + 1) % kQueue;
  --count;
  return true;
}

bool Stack::bind_udp(UdpPort* port) {
  UdpPort** free_slot = nullptr;
  for (UdpPort*& u : udp_) {
    if (u != nullptr && u->port == port->port) return false;
    if (u == nullptr && free_slot == nullptr) free_slot = &u;
  }
  if (free_slot == nullptr) return false;
  port->head = port->count = 0;
  *free_slot = port;
  return true;
}

void Stack::unbind_udp(UdpPort* port) {
  for (UdpPort*& u : udp_) {
    if (u == port) u = nullptr;
  }
}

bool Stack::send_udp(uint16_t from_port, Ipv4 to, uint16_t to_port, const void* data, size_t length) {
  if (length > kMaxFrame - kEthHeader - 20 - 8) return false;
  uint8_t frame[kMaxFrame];
  uint8_t* u = frame + kEthHeader + 20;
  store16(u, from_port);
  store16(u + 2, to_port);
  store16(u + 4, uint16_t(8 + length));
  store16(u + 6, 0);
  memcpy(u + 8, data, length);
  uint16_t sum = checksum(u, 8 + length, pseudo_header_sum(ip_, to, kProtoUdp, uint16_t(8 + length)));
  store16(u + 6, sum == 0 ? 0xFFFF : sum);  // 0 means "no checksum": send its complement
  if (!send_ipv4(frame, to, kProtoUdp, 8 + length, nullptr)) return false;
  ++counters_.udp_out;
  return true;
}

bool Stack::pop_echo_reply(EchoReply* out) {
  if (echo_count_ == 0) return false;
  *out = echo_[echo_head_];
  echo_head_ = (echo_head_ + 1) % kEchoQueue;
  --echo_count_;
  return true;
}

}  // namespace net
