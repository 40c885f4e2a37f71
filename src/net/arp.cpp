// ARP (RFC 826) for Ethernet and IPv4: answers for our address, a cache of neighbours with a
// 60 s lifetime, and the frames held for a next hop whose reply is awaited (RFC 1122 §2.3.2.2).
#include <net/ethernet.h>
#include <net/stack.h>

namespace net {

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
  if (pending_count_ != 0) release_pending(ip, mac);  // every IPv4 frame from a neighbour comes here
}

void Stack::hold(const uint8_t* frame, size_t length, Ipv4 hop) {
  const uint64_t now = now_ ? now_() : 0;
  for (auto& p : pending_) {
    if (p.used && now - p.stamp > kPendingMs) {  // its ARP request went unanswered
      p.used = false;
      --pending_count_;
    }
  }
  Pending* slot = &pending_[0];
  for (auto& p : pending_) {
    if (!p.used) {
      slot = &p;
      break;
    }
    if (p.stamp < slot->stamp) slot = &p;  // all taken: the oldest makes room
  }
  if (slot->used) {
    ++counters_.dropped_no_arp;
  } else {
    ++pending_count_;
  }
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
    --pending_count_;
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

}  // namespace net
