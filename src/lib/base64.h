// Base64 (RFC 4648 §4: the standard alphabet with '=' padding), portable and allocation-free.
//
//   char text[klib::base64_encoded_size(20) + 1];
//   text[klib::base64_encode(digest, 20, text)] = '\0';
//   uint8_t raw[16];  size_t n;  bool ok = klib::base64_decode(key, 24, raw, sizeof raw, &n);
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

constexpr size_t base64_encoded_size(size_t length) { return (length + 2) / 3 * 4; }

// Writes base64_encoded_size(length) characters to out (no terminator) and returns that count.
constexpr size_t base64_encode(const uint8_t* data, size_t length, char* out) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < length; i += 3) {
    const size_t left = length - i;
    const uint32_t v =
        uint32_t(data[i]) << 16 | (left > 1 ? uint32_t(data[i + 1]) << 8 : 0) | (left > 2 ? uint32_t(data[i + 2]) : 0);
    out[o++] = kAlphabet[v >> 18 & 63];
    out[o++] = kAlphabet[v >> 12 & 63];
    out[o++] = left > 1 ? kAlphabet[v >> 6 & 63] : '=';
    out[o++] = left > 2 ? kAlphabet[v & 63] : '=';
  }
  return o;
}

// Strict decoding: length a multiple of 4, only alphabet characters, '=' only as the last one
// or two, and zero bits where padding cuts a byte (RFC 4648 §3.5 lets a decoder reject
// anything else; it keeps "one value, one text"). False if text is not canonical base64 or the
// result does not fit out_size; *out_length is the number of bytes written.
constexpr bool base64_decode(const char* text, size_t length, uint8_t* out, size_t out_size, size_t* out_length) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (length % 4 != 0) return false;
  size_t o = 0;
  for (size_t i = 0; i < length; i += 4) {
    const bool last = i + 4 == length;
    const int pad = last ? (text[i + 3] == '=') + (text[i + 3] == '=' && text[i + 2] == '=') : 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = k >= 4 - pad ? 0 : value(text[i + k]);
      if (d < 0) return false;
      v = v << 6 | uint32_t(d);
    }
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return false;
    const int bytes = 3 - pad;
    if (o + size_t(bytes) > out_size) return false;
    for (int k = 0; k < bytes; ++k) out[o++] = uint8_t(v >> (16 - 8 * k));
  }
  *out_length = o;
  return true;
}

}  // namespace klib
