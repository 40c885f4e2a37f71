// SHA-1 (RFC 3174, FIPS 180-4 §6.1), portable and allocation-free. SHA-1 is broken for
// collision resistance; it is here because RFC 6455 §4.2.2 derives Sec-WebSocket-Accept from it,
// not for anything that needs a secure hash.
//
//   klib::Sha1 h;  h.update(data, n);  h.update(more, m);
//   uint8_t digest[klib::Sha1::kDigestSize];  h.finish(digest);   // or klib::sha1(data, n, digest)
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

class Sha1 {
 public:
  static constexpr size_t kDigestSize = 20;
  static constexpr size_t kBlockSize = 64;

  void update(const void* data, size_t length);
  // Pads, writes the 20-byte digest and resets the object for a new message.
  void finish(uint8_t digest[kDigestSize]);

 private:
  void compress(const uint8_t block[kBlockSize]);
  void reset();

  uint32_t h_[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  uint8_t block_[kBlockSize] = {};
  size_t used_ = 0;     // bytes in block_
  uint64_t total_ = 0;  // message length in bytes (RFC 3174 allows < 2^64 bits)
};

inline void sha1(const void* data, size_t length, uint8_t digest[Sha1::kDigestSize]) {
  Sha1 h;
  h.update(data, length);
  h.finish(digest);
}

}  // namespace klib
