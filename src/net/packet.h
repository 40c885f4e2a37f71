// Byte order, addresses and the Internet checksum, shared by every protocol file.
//
//   net::Ipv4 a = net::Ipv4::from_bytes(10, 0, 2, 15);   // a.be: network order, as on the wire
//   uint16_t sum = net::checksum(header, 20);            // RFC 1071; 0 over a valid header
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace net {

inline uint16_t load16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// An IPv4 address as a host-order number (10.0.2.15 = 0x0A00020F).
struct Ipv4 {
  uint32_t value = 0;
  static constexpr Ipv4 from_bytes(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return {uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d};
  }
  bool operator==(const Ipv4&) const = default;
  uint8_t octet(int i) const { return uint8_t(value >> (24 - 8 * i)); }
};

struct Mac {
  uint8_t b[6];
  bool operator==(const Mac&) const = default;
  bool is_broadcast() const {
    return b[0] == 0xFF && b[1] == 0xFF && b[2] == 0xFF && b[3] == 0xFF && b[4] == 0xFF && b[5] == 0xFF;
  }
};
inline constexpr Mac kBroadcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

// RFC 1071 one's-complement sum; `initial` carries a pseudo-header's partial sum (checksum.cpp:
// eight bytes per step, the costliest loop of a file server's answer under QEMU's TCG).
uint16_t checksum(const uint8_t* data, size_t length, uint32_t initial = 0);

// The partial sum of the pseudo-header that UDP (RFC 768) and TCP (RFC 9293 §3.1) checksums
// cover: source, destination, zero, protocol, and the transport length.
inline uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, uint8_t protocol, uint16_t length) {
  return (src.value >> 16) + (src.value & 0xFFFF) + (dst.value >> 16) + (dst.value & 0xFFFF) + protocol + length;
}

}  // namespace net
