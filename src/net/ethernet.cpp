// Ethernet II (the stack's bottom): configuration, a received frame's demultiplexing by
// EtherType, and every frame's way out (padding to the minimum size).
#include <net/ethernet.h>
#include <net/stack.h>

namespace net {

void Stack::configure(const Mac& mac, Ipv4 ip, Ipv4 gateway, Ipv4 mask, Sender sender, Clock now_ms) {
  mac_ = mac;
  ip_ = ip;
  gateway_ = gateway;
  mask_ = mask;
  sender_ = sender;
  now_ = now_ms;
}

void Stack::Burst::hold(Stack* s, bool on) {
  if (s != nullptr && s->sender_.hold != nullptr) s->sender_.hold(s->sender_.ctx, on);
}

bool Stack::transmit(uint8_t* frame, size_t length) {
  if (length < kEthMinFrame) {  // Ethernet minimum (without FCS): pad with zeros
    memset(frame + length, 0, kEthMinFrame - length);
    length = kEthMinFrame;
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
  } else if (raw_.take != nullptr) {
    ++counters_.raw_in;
    raw_.take(raw_.ctx, frame, length);
  } else {
    ++counters_.dropped_unknown_type;
  }
}

}  // namespace net
