// Initial sequence numbers, RFC 6528 §3:
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
// M is a timer that ticks every 4 microseconds; F is SipHash-2-4 keyed with a secret chosen at
// boot, so ISNs of one connection identity advance with time (old duplicates stay outside the
// window) while an off-path attacker cannot guess another connection's ISN.
//
//   uint32_t isn = net::tcp::initial_sequence(key, us_since_boot, local, lport, remote, rport);
#pragma once

#include <cstdint>

#include <lib/siphash.h>
#include <net/packet.h>

namespace net::tcp {

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
