// Initial sequence numbers, RFC 6528 §3:
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
// M is a timer that ticks every 4 microseconds; F is SipHash-2-4 keyed with a secret chosen at
// boot, so ISNs of one connection identity advance with time (old duplicates stay outside the
// window) while an off-path attacker cannot guess another connection's ISN.
//
//   klib::SipKey key = net::tcp::isn_secret([] { return arch::rdtsc(); }, mac);   // once per interface
//   uint32_t isn = net::tcp::initial_sequence(key, us_since_boot, local, lport, remote, rport);
#pragma once

#include <lib/siphash.h>
#include <net/packet.h>

#include <cstdint>

namespace net::tcp {

// The secret (RFC 6528 §3), chosen when an interface comes up: a reading of `clock` (the TSC),
// the MAC and a stack address mixed through SipHash, and a second reading. Without RDRAND in
// the guest it is guessable by someone who knows the boot timing to the cycle; it still gives
// every connection identity its own sequence space.
template <class Clock>
klib::SipKey isn_secret(Clock clock, const Mac& mac) {
  uint8_t seed[14];
  const uint64_t now = clock();
  memcpy(seed, &now, 8);
  memcpy(seed + 8, mac.b, 6);
  const klib::SipKey mix{now * 0x9E3779B97F4A7C15ULL, reinterpret_cast<uint64_t>(&mix)};
  return {klib::siphash24(mix, seed, sizeof seed), klib::siphash24(mix, seed, 8) ^ clock()};
}

inline uint32_t initial_sequence(const klib::SipKey& key, uint64_t microseconds, Ipv4 local, uint16_t local_port,
                                 Ipv4 remote, uint16_t remote_port) {
  uint8_t id[12];
  store32(id, local.value);
  store16(id + 4, local_port);
  store32(id + 6, remote.value);
  store16(id + 10, remote_port);
  return uint32_t(microseconds / 4) + uint32_t(klib::siphash24(key, id, sizeof id));
}

}  // namespace net::tcp
