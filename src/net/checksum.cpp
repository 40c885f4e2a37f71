// The Internet checksum (RFC 1071), 64-bit words at a time.
//
// The one's-complement sum does not depend on byte order (RFC 1071 §2(B)): summed as the
// machine's little-endian words, the folded result is the byte swap of the sum of the wire's
// big-endian words. So the bytes are added as 64-bit words with the carry out of each addition
// added back (end-around carry), folded to 16 bits, swapped once, and the caller's partial sum
// (big-endian words, such as a pseudo-header) is added last. The 16-bit loop this replaces cost
// 3.5 instructions a byte, a third of StaticWebServer's instructions per 4 KiB answer.
#include "net/packet.h"

namespace net {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the sum is taken in little-endian words (x86-64)");

namespace {

// a + b in one's complement over 64 bits: the carry out of bit 63 comes back in at bit 0.
inline uint64_t add_carry(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s + (s < b);
}

}  // namespace

uint16_t checksum(const uint8_t* data, size_t length, uint32_t initial) {
  uint64_t sum = 0;
  // 32 bytes a step (fewer loop branches: one TCG block per 32 bytes), then 8.
  for (; length >= 32; data += 32, length -= 32) {
    uint64_t w[4];
    __builtin_memcpy(w, data, 32);
    sum = add_carry(sum, w[0]);
    sum = add_carry(sum, w[1]);
    sum = add_carry(sum, w[2]);
    sum = add_carry(sum, w[3]);
  }
  for (; length >= 8; data += 8, length -= 8) {
    uint64_t w;
    __builtin_memcpy(&w, data, 8);  // unaligned loads are fine on x86; this is the portable way
    sum = add_carry(sum, w);
  }
  // The last 0-7 bytes as one zero-padded word: still at an even offset from the start, so each
  // pair is one of the wire's words, and an odd last byte is the high half of its word (the low
  // byte of a little-endian one).
  if (length != 0) {
    uint64_t w = 0;
    __builtin_memcpy(&w, data, length);
    sum = add_carry(sum, w);
  }
  // Fold 64 -> 16 bits, each step adding the carries back.
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFFFFFF) + (sum >> 32);
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  // Little-endian words summed: swap to the wire's order, then the caller's big-endian part.
  uint64_t total = uint64_t(uint16_t(sum << 8 | sum >> 8)) + initial;
  while (total >> 16) total = (total & 0xFFFF) + (total >> 16);
  return uint16_t(~total);
}

}  // namespace net
