// IPv4 (RFC 791) as the stack's protocol files see it: the protocol numbers it carries and the
// size of the header it sends (no options). A payload to send sits in a Stack::kMaxFrame buffer
// at kIpPayload, after the Ethernet and IPv4 headers that Stack::send_ipv4() fills in.
#pragma once

#include <net/ethernet.h>

#include <cstddef>
#include <cstdint>

namespace net {

constexpr uint8_t kProtoIcmp = 1, kProtoUdp = 17;  // TCP's is tcp::kProtoTcp (tcp/segment.h)
constexpr size_t kIpv4Header = 20;                 // what we send: version 4, 5 words, no options
constexpr size_t kIpPayload = kEthHeader + kIpv4Header;

}  // namespace net
