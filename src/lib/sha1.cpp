// SHA-1, RFC 3174 §5-6 (method 1: an 80-word schedule).
#include "sha1.h"

namespace klib {
namespace {

constexpr uint32_t rotl(uint32_t x, int b) { return x << b | x >> (32 - b); }

}  // namespace

void Sha1::reset() { *this = Sha1(); }

void Sha1::compress(const uint8_t block[kBlockSize]) {
  uint32_t w[80];
  for (int t = 0; t < 16; ++t) {  // big-endian words (RFC 3174 §6.1 a)
    w[t] = uint32_t(block[4 * t]) << 24 | uint32_t(block[4 * t + 1]) << 16 | uint32_t(block[4 * t + 2]) << 8 |
           uint32_t(block[4 * t + 3]);
  }
  for (int t = 16; t < 80; ++t) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
  for (int t = 0; t < 80; ++t) {
    uint32_t f, k;  // RFC 3174 §5: f(t;B,C,D) and K(t) for the four rounds
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDC;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6;
    }
    const uint32_t temp = rotl(a, 5) + f + e + w[t] + k;
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = temp;
  }
  h_[0] += a;
  h_[1] += b;
  h_[2] += c;
  h_[3] += d;
  h_[4] += e;
}

void Sha1::update(const void* data, size_t length) {
  const auto* p = static_cast<const uint8_t*>(data);
  total_ += length;
  while (length > 0) {
    if (used_ == 0 && length >= kBlockSize) {  // whole blocks straight from the input
      compress(p);
      p += kBlockSize;
      length -= kBlockSize;
      continue;
    }
    const size_t n = length < kBlockSize - used_ ? length : kBlockSize - used_;
    for (size_t i = 0; i < n; ++i) block_[used_ + i] = p[i];
    used_ += n;
    p += n;
    length -= n;
    if (used_ == kBlockSize) {
      compress(block_);
      used_ = 0;
    }
  }
}

void Sha1::finish(uint8_t digest[kDigestSize]) {
  // RFC 3174 §4: a 1 bit, zeros up to 56 mod 64 bytes, then the bit length big-endian.
  const uint64_t bits = total_ * 8;
  block_[used_++] = 0x80;
  if (used_ > kBlockSize - 8) {
    while (used_ < kBlockSize) block_[used_++] = 0;
    compress(block_);
    used_ = 0;
  }
  while (used_ < kBlockSize - 8) block_[used_++] = 0;
  for (int i = 0; i < 8; ++i) block_[kBlockSize - 1 - i] = uint8_t(bits >> (8 * i));
  compress(block_);
  for (int i = 0; i < 5; ++i) {
    digest[4 * i] = uint8_t(h_[i] >> 24);
    digest[4 * i + 1] = uint8_t(h_[i] >> 16);
    digest[4 * i + 2] = uint8_t(h_[i] >> 8);
    digest[4 * i + 3] = uint8_t(h_[i]);
  }
  reset();
}

}  // namespace klib
