// A TCP segment's header, parsed from and written to the wire (RFC 9293 §3.1 "Header Format",
// §3.2 "Specific Option Definitions"; window scale RFC 7323 §2.2; SACK-permitted RFC 2018 §2).
//
//   net::tcp::Segment s;
//   if (net::tcp::parse(src_ip, dst_ip, bytes, length, &s) == net::tcp::ParseResult::kOk) {
//     ... s.seq, s.flags, s.payload, s.seg_len() ...
//   }
//   size_t n = net::tcp::build(src_ip, dst_ip, reply, out, sizeof out);  // 0 if it does not fit
//
// Portable: no kernel dependency; compiled into the host tests and the fuzzer.
#pragma once

#include <net/packet.h>

#include <cstddef>
#include <cstdint>

namespace net::tcp {

inline constexpr uint8_t kProtoTcp = 6;
inline constexpr size_t kHeaderSize = 20;     // without options
inline constexpr size_t kMaxHeaderSize = 60;  // data offset is 4 bits of 32-bit words

enum Flag : uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20 };

struct Segment {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire: the scale factor is the connection's business
  uint16_t urgent = 0;
  // Options. Absent ones keep these values; build() writes the present ones.
  uint16_t mss = 0;             // kind 2; 0 = absent
  int8_t window_scale = -1;     // kind 3, shift count 0..14 (larger values are clamped to 14); -1 = absent
  bool sack_permitted = false;  // kind 4 (parsed so a peer may offer it; we do not use SACK)
  const uint8_t* payload = nullptr;
  size_t payload_length = 0;

  bool has(uint8_t flag) const { return (flags & flag) != 0; }
  // SEG.LEN: the payload plus one for SYN and one for FIN (RFC 9293 §3.4).
  uint32_t seg_len() const { return uint32_t(payload_length) + (has(kSyn) ? 1 : 0) + (has(kFin) ? 1 : 0); }
};

enum class ParseResult : uint8_t {
  kOk,
  kTooShort,     // shorter than its own header
  kBadOffset,    // data offset below 5 words or past the end
  kBadChecksum,  // RFC 9293 §3.1: a segment whose checksum does not verify is dropped
  kBadOption,    // an option whose length runs past the header or is below 2
};

// `data` is the TCP header and payload (the IP payload), `length` its size from the IP header.
ParseResult parse(Ipv4 src, Ipv4 dst, const uint8_t* data, size_t length, Segment* out);

// Writes header, options and payload to `out` with the checksum; returns the bytes written, or
// 0 when `capacity` is too small. Options are written in the order MSS, SACK-permitted, window
// scale, padded with NOPs to a 32-bit boundary.
size_t build(Ipv4 src, Ipv4 dst, const Segment& s, uint8_t* out, size_t capacity);

// The header size build() will write for `s` (20 + options, a multiple of 4).
size_t header_size(const Segment& s);

}  // namespace net::tcp
