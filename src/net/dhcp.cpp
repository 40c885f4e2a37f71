#include <net/dhcp.h>

namespace net {
namespace {
constexpr size_t kFixed = 236;  // op .. file
constexpr uint8_t kMagic[4] = {99, 130, 83, 99};
}  // namespace

size_t dhcp_build(uint8_t* out, size_t capacity, uint8_t type, uint32_t xid, const Mac& mac, Ipv4 requested,
                  Ipv4 server) {
  const size_t length = kFixed + 4 + 3 + 6 + 6 + 5 + 1;
  if (capacity < length) return 0;
  memset(out, 0, length);
  out[0] = 1;  // BOOTREQUEST
  out[1] = 1;  // Ethernet
  out[2] = 6;
  store32(out + 4, xid);
  store16(out + 10, 0x8000);  // broadcast: we cannot receive unicast before we have an address
  memcpy(out + 28, mac.b, 6);
  memcpy(out + kFixed, kMagic, 4);
  uint8_t* o = out + kFixed + 4;
  *o++ = 53;  // message type
  *o++ = 1;
  *o++ = type;
  if (requested.value != 0) {
    *o++ = 50;  // requested IP address
    *o++ = 4;
    store32(o, requested.value);
    o += 4;
  }
  if (server.value != 0) {
    *o++ = 54;  // server identifier
    *o++ = 4;
    store32(o, server.value);
    o += 4;
  }
  *o++ = 55;  // parameter request list: subnet mask, router, DNS
  *o++ = 3;
  *o++ = 1;
  *o++ = 3;
  *o++ = 6;
  *o++ = 255;
  size_t n = size_t(o - out);
  if (n < 300 && capacity >= 300) {  // BOOTP's minimum message (RFC 1542 §2.1): pad with zeros
    memset(o, 0, 300 - n);
    n = 300;
  }
  return n;
}

bool dhcp_parse(const uint8_t* p, size_t length, uint32_t xid, DhcpReply* out) {
  if (length < kFixed + 4 || p[0] != 2 || load32(p + 4) != xid || memcmp(p + kFixed, kMagic, 4) != 0) return false;
  *out = DhcpReply{};
  out->your_ip = Ipv4{load32(p + 16)};
  size_t i = kFixed + 4;
  while (i < length) {
    const uint8_t code = p[i];
    if (code == 255) break;
    if (code == 0) {  // pad
      ++i;
      continue;
    }
    if (i + 1 >= length || i + 2 + p[i + 1] > length) return false;  // option runs past the end
    const uint8_t len = p[i + 1];
    const uint8_t* v = p + i + 2;
    if (code == 53 && len >= 1) out->type = v[0];
    if (code == 1 && len >= 4) out->mask = Ipv4{load32(v)};
    if (code == 3 && len >= 4) out->router = Ipv4{load32(v)};
    if (code == 54 && len >= 4) out->server = Ipv4{load32(v)};
    if (code == 51 && len >= 4) out->lease_seconds = load32(v);
    i += 2 + size_t(len);
  }
  return out->type != 0;
}

}  // namespace net
