#include <net/tcp/segment.h>

#include <cstring>

namespace net::tcp {
namespace {

enum OptionKind : uint8_t { kEnd = 0, kNop = 1, kMss = 2, kWindowScale = 3, kSackPermitted = 4 };

// RFC 9293 §3.1 "Options": kind 0 ends the list, kind 1 is one byte, every other kind has a
// length byte that counts kind and length. Unknown kinds are skipped by their length.
bool parse_options(const uint8_t* p, size_t length, Segment* out) {
  size_t i = 0;
  while (i < length) {
    const uint8_t kind = p[i];
    if (kind == kEnd) return true;
    if (kind == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= length) return false;
    const uint8_t size = p[i + 1];
    if (size < 2 || i + size > length) return false;
    if (kind == kMss && size == 4) {
      out->mss = load16(p + i + 2);
    } else if (kind == kWindowScale && size == 3) {
      // RFC 7323 §2.3: a shift count above 14 is used as 14.
      out->window_scale = int8_t(p[i + 2] > 14 ? 14 : p[i + 2]);
    } else if (kind == kSackPermitted && size == 2) {
      out->sack_permitted = true;
    }
    i += size;
  }
  return true;
}

size_t options_size(const Segment& s) {
  size_t n = (s.mss != 0 ? 4 : 0) + (s.sack_permitted ? 2 : 0) + (s.window_scale >= 0 ? 3 : 0);
  return (n + 3) & ~size_t(3);
}

}  // namespace

ParseResult parse(Ipv4 src, Ipv4 dst, const uint8_t* data, size_t length, Segment* out) {
  if (length < kHeaderSize) return ParseResult::kTooShort;
  const size_t header = size_t(data[12] >> 4) * 4;
  if (header < kHeaderSize || header > length) return ParseResult::kBadOffset;
  if (length > 0xFFFF || checksum(data, length, pseudo_header_sum(src, dst, kProtoTcp, uint16_t(length))) != 0) {
    return ParseResult::kBadChecksum;
  }
  *out = Segment{};
  out->src_port = load16(data);
  out->dst_port = load16(data + 2);
  out->seq = load32(data + 4);
  out->ack = load32(data + 8);
  out->flags = data[13] & 0x3F;
  out->window = load16(data + 14);
  out->urgent = load16(data + 18);
  if (!parse_options(data + kHeaderSize, header - kHeaderSize, out)) return ParseResult::kBadOption;
  out->payload = data + header;
  out->payload_length = length - header;
  return ParseResult::kOk;
}

size_t header_size(const Segment& s) { return kHeaderSize + options_size(s); }

size_t build(Ipv4 src, Ipv4 dst, const Segment& s, uint8_t* out, size_t capacity) {
  const size_t header = header_size(s);
  const size_t total = header + s.payload_length;
  if (total > capacity || total > 0xFFFF) return 0;
  store16(out, s.src_port);
  store16(out + 2, s.dst_port);
  store32(out + 4, s.seq);
  store32(out + 8, s.ack);
  out[12] = uint8_t(header / 4 << 4);
  out[13] = s.flags & 0x3F;
  store16(out + 14, s.window);
  store16(out + 16, 0);
  store16(out + 18, s.urgent);
  uint8_t* o = out + kHeaderSize;
  if (s.mss != 0) {
    o[0] = kMss;
    o[1] = 4;
    store16(o + 2, s.mss);
    o += 4;
  }
  if (s.sack_permitted) {
    o[0] = kSackPermitted;
    o[1] = 2;
    o += 2;
  }
  if (s.window_scale >= 0) {
    o[0] = kWindowScale;
    o[1] = 3;
    o[2] = uint8_t(s.window_scale > 14 ? 14 : s.window_scale);
    o += 3;
  }
  while (o < out + header) *o++ = kNop;
  if (s.payload_length != 0) memcpy(out + header, s.payload, s.payload_length);
  store16(out + 16, checksum(out, total, pseudo_header_sum(src, dst, kProtoTcp, uint16_t(total))));
  return total;
}

}  // namespace net::tcp
