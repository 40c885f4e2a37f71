// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// 64-bit pseudo-random function for short inputs. Used where an attacker must not predict or
// steer a value from its inputs: TCP initial sequence numbers (RFC 6528 §3 asks for a PRF).
//
//   klib::SipKey key{k0, k1};                 // secret, chosen at boot
//   uint64_t h = klib::siphash24(key, bytes, n);
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

namespace detail {
constexpr uint64_t rotl(uint64_t x, int b) { return x << b | x >> (64 - b); }
struct SipState {
  uint64_t v0, v1, v2, v3;
  constexpr void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  constexpr void absorb(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};
}  // namespace detail

constexpr uint64_t siphash24(SipKey key, const uint8_t* data, size_t length) {
  detail::SipState s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL, key.k0 ^ 0x6c7967656e657261ULL,
                     key.k1 ^ 0x7465646279746573ULL};
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t m = 0;
    for (int b = 0; b < 8; ++b) m |= uint64_t(data[i + b]) << (8 * b);  // little-endian words
    s.absorb(m);
  }
  uint64_t last = uint64_t(length & 0xFF) << 56;
  for (size_t b = 0; i + b < length; ++b) last |= uint64_t(data[i + b]) << (8 * b);
  s.absorb(last);
  s.v2 ^= 0xFF;
  for (int r = 0; r < 4; ++r) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace klib
