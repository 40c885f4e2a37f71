// DHCP client messages (RFC 2131 §2-4, options RFC 2132): DISCOVER and REQUEST out, OFFER, ACK
// and NAK in. Portable; net/dhcp_client.cpp runs the exchange over a UDP port.
//
//   uint8_t msg[548];
//   size_t n = net::dhcp_build(msg, sizeof msg, net::kDhcpDiscover, xid, mac, {}, {});
//   net::DhcpReply r;  if (net::dhcp_parse(data, len, xid, &r) && r.type == net::kDhcpOffer) ...
#pragma once

#include <net/packet.h>

#include <cstddef>
#include <cstdint>

namespace net {

constexpr uint8_t kDhcpDiscover = 1, kDhcpOffer = 2, kDhcpRequest = 3, kDhcpAck = 5, kDhcpNak = 6;
constexpr uint16_t kDhcpServerPort = 67, kDhcpClientPort = 68;

struct DhcpReply {
  uint8_t type = 0;
  Ipv4 your_ip, server, router, mask;
  uint32_t lease_seconds = 0;
};

// A client message of `type` (DISCOVER, or REQUEST for `requested` from `server`); returns its
// length, 0 if `capacity` is too small.
size_t dhcp_build(uint8_t* out, size_t capacity, uint8_t type, uint32_t xid, const Mac& mac, Ipv4 requested,
                  Ipv4 server);
// A server reply to transaction `xid`; false for anything else or anything malformed.
bool dhcp_parse(const uint8_t* p, size_t length, uint32_t xid, DhcpReply* out);

}  // namespace net
