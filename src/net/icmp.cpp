// ICMP echo (RFC 792): requests are answered, replies are kept for the application (the latest
// kEchoQueue), and the application's requests go out; other ICMP messages are counted and dropped.
#include <net/ipv4.h>
#include <net/stack.h>

namespace net {

void Stack::handle_icmp(const uint8_t* frame, const uint8_t* ip, size_t ip_header, const uint8_t* p, size_t length) {
  (void)ip_header;
  if (length < 8 || checksum(p, length) != 0) {
    ++counters_.dropped_bad_icmp;
    return;
  }
  const Ipv4 src{load32(ip + 12)};
  const uint8_t type = p[0];
  if (type == 8 && p[1] == 0) {  // echo request: answer with the same id, seq and data
    if (length > kMaxFrame - kIpPayload) {
      ++counters_.dropped_bad_icmp;
      return;
    }
    uint8_t reply[kMaxFrame];
    uint8_t* icmp = reply + kIpPayload;
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

bool Stack::send_echo_request(Ipv4 dst, uint16_t id, uint16_t seq, const void* data, size_t length) {
  if (length > kMaxFrame - kIpPayload - 8) return false;
  uint8_t frame[kMaxFrame];
  uint8_t* icmp = frame + kIpPayload;
  icmp[0] = 8;
  icmp[1] = 0;
  store16(icmp + 2, 0);
  store16(icmp + 4, id);
  store16(icmp + 6, seq);
  memcpy(icmp + 8, data, length);
  store16(icmp + 2, checksum(icmp, 8 + length));
  return send_ipv4(frame, dst, kProtoIcmp, 8 + length, nullptr);
}

bool Stack::pop_echo_reply(EchoReply* out) {
  if (echo_count_ == 0) return false;
  *out = echo_[echo_head_];
  echo_head_ = (echo_head_ + 1) % kEchoQueue;
  --echo_count_;
  return true;
}

}  // namespace net
