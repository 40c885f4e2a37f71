// SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the SYN,ACK's sequence
// number carries the connection's state instead of a record, so a SYN flood costs no memory and
// a real client still gets in: its ACK (cookie + 1) is checked and the connection is created
// ESTABLISHED from it. The cookie is 32 bits:
//
//   cookie = H1(4-tuple) + peer's ISN + (count << 24) + ((H2(4-tuple, count, peer's ISN) + mss_index) mod 2^24)
//
// (Linux's layout; H2 also covers the peer's ISN here, so an ACK whose sequence number is off
// does not pass with a neighbouring MSS step.)
// with `count` the 64-second period it was made in (8 bits on the wire) and H1, H2 SipHash-2-4
// under the table's secret key, so an off-path attacker cannot forge one (a guess passes with
// probability about 3 * 4 / 2^24). A cookie is good for two periods after the one it was made
// in. What a cookie cannot carry is lost: the connection uses no window scaling and an MSS of
// the table's four steps at most the peer's.
//
//   uint32_t iss = net::tcp::syncookie::make(key, now, local, lport, remote, rport, syn.seq, syn.mss);
//   uint16_t mss = net::tcp::syncookie::check(key, now, local, lport, remote, rport, ack.seq - 1, ack.ack - 1);
//   if (mss != 0) ... a valid cookie: open with this MSS ...
//
// Portable: compiled into the host tests and the fuzzer.
#pragma once

#include <lib/siphash.h>
#include <net/packet.h>

#include <cstdint>

namespace net::tcp::syncookie {

inline constexpr uint16_t kMss[4] = {536, 1220, 1440, 1460};
inline constexpr uint64_t kPeriodUs = 64'000'000;
inline constexpr uint32_t kMaxAge = 2;  // periods

namespace detail {
inline uint32_t hash(const klib::SipKey& key, Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport, uint32_t count,
                     uint32_t peer_isn, uint8_t tag) {
  uint8_t id[21];
  store32(id, local.value);
  store16(id + 4, lport);
  store32(id + 6, remote.value);
  store16(id + 10, rport);
  store32(id + 12, count);
  store32(id + 16, peer_isn);
  id[20] = tag;
  return uint32_t(klib::siphash24(key, id, sizeof id));
}
}  // namespace detail

// The period `now` falls in.
inline uint32_t period(uint64_t now_us) { return uint32_t(now_us / kPeriodUs); }

// Our ISN for a SYN with sequence `peer_isn` offering `peer_mss` (0: none, RFC 9293's 536).
inline uint32_t make(const klib::SipKey& key, uint64_t now_us, Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport,
                     uint32_t peer_isn, uint16_t peer_mss) {
  uint32_t index = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    if (kMss[i] <= (peer_mss == 0 ? kMss[0] : peer_mss)) index = i;
  }
  const uint32_t count = period(now_us);
  const uint32_t h1 = detail::hash(key, local, lport, remote, rport, 0, 0, 1);
  const uint32_t h2 = detail::hash(key, local, lport, remote, rport, count, peer_isn, 2);
  return h1 + peer_isn + (count << 24) + ((h2 + index) & 0xFFFFFF);
}

// The MSS a valid `cookie` (the ACK's acknowledgment number - 1) encodes for the SYN that had
// sequence `peer_isn` (the ACK's sequence number - 1); 0 if it is not one of ours or too old.
inline uint16_t check(const klib::SipKey& key, uint64_t now_us, Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport,
                      uint32_t peer_isn, uint32_t cookie) {
  const uint32_t count = period(now_us);
  const uint32_t h1 = detail::hash(key, local, lport, remote, rport, 0, 0, 1);
  const uint32_t diff = cookie - h1 - peer_isn;
  const uint32_t age = (count - (diff >> 24)) & 0xFF;
  if (age > kMaxAge) return 0;
  const uint32_t made = count - age;
  const uint32_t h2 = detail::hash(key, local, lport, remote, rport, made, peer_isn, 2);
  const uint32_t index = (diff - h2) & 0xFFFFFF;
  return index < 4 ? kMss[index] : 0;
}

}  // namespace net::tcp::syncookie
