// Stream (TCP) sockets and network services behind the Toro socket API (toro-spec §1.10,
// §2.9.6, §2.9.7). network.cpp dispatches SysSocket* calls here for SOCKET_STREAM sockets.
// Everything runs on the core that owns the interface: the service thread, the packet thread
// and blocking callers share it cooperatively, so no locks are needed.
#pragma once

#include <net/packet.h>
#include <toro/network.h>

namespace toro::stream {

// Toro's TIPAddress keeps the first octet in the lowest byte (toro-spec §1.10).
inline net::Ipv4 from_toro(TIPAddress t) {
  return net::Ipv4::from_bytes(uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24));
}
inline TIPAddress to_toro(net::Ipv4 a) {
  return TIPAddress(a.octet(0)) | TIPAddress(a.octet(1)) << 8 | TIPAddress(a.octet(2)) << 16 |
         TIPAddress(a.octet(3)) << 24;
}

// The first field of every socket's kernel state (TSocket::Internal): its type.
struct Header {
  LongInt type;
};
inline bool is_stream(PSocket s) {
  return s != nullptr && s->Internal != nullptr && static_cast<Header*>(s->Internal)->type == SOCKET_STREAM;
}

PSocket create();
Boolean bind(PSocket s, TIPAddress remote, LongInt port);
LongInt recv(PSocket s, PChar addr, DWORD len);
LongInt peek(PSocket s, PChar addr, DWORD len);
LongInt send(PSocket s, PChar addr, DWORD len);
Boolean select(PSocket s, LongInt timeout_ms);
void close(PSocket s);

}  // namespace toro::stream
