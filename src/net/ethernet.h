// Ethernet II framing (IEEE 802.3 clause 3.2.6, the DIX frame): what the stack's protocol files
// share about the frame around their packets. Frames carry no FCS here (the NIC adds and checks
// it).
//
//   put_mac(frame, to);  put_mac(frame + 6, mac_);  store16(frame + 12, kEtherIpv4);
//   const Mac from = get_mac(frame + 6);
#pragma once

#include <net/packet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace net {

constexpr uint16_t kEtherArp = 0x0806, kEtherIpv4 = 0x0800;  // EtherType
constexpr size_t kEthHeader = 14;                            // destination, source, type
constexpr size_t kEthMinFrame = 60;                          // without the FCS: shorter ones are padded

inline void put_mac(uint8_t* p, const Mac& m) { memcpy(p, m.b, 6); }
inline Mac get_mac(const uint8_t* p) {
  Mac m;
  memcpy(m.b, p, 6);
  return m;
}

}  // namespace net
