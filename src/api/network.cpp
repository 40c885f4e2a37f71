#include <kernel/console.h>
#include <kernel/memory.h>
#include <net/interface.h>
#include <sched/scheduler.h>
#include <toro/network.h>

#include "stream.h"

#include <cstring>
#include <new>

namespace {
using toro::stream::from_toro;
using toro::stream::to_toro;
net::Ipv4 from_array(const Byte a[4]) { return net::Ipv4::from_bytes(a[0], a[1], a[2], a[3]); }
}  // namespace

Boolean DedicateNetwork(const char* Name, const Byte IP[4], const Byte Gateway[4], const Byte Mask[4],
                        TThreadFunc Handler) {
  if (Name == nullptr || IP == nullptr || Gateway == nullptr || Mask == nullptr) {
    kernel::printk("DedicateNetwork: a name and three addresses are needed\n");
    return false;
  }
  if (Handler != nullptr) {
    kernel::printk("DedicateNetwork: a raw packet handler is not supported; use nullptr\n");
    return false;
  }
  return net::dedicate(Name, from_array(IP), from_array(Gateway), from_array(Mask)) != nullptr;
}

void _IPAddress(const Byte Ip[4], TIPAddress& Result) { Result = to_toro(from_array(Ip)); }

void _IPAddresstoArray(TIPAddress Ip, Byte Result[4]) {
  for (int i = 0; i < 4; ++i) Result[i] = Byte(Ip >> (8 * i));
}

Word SwapWORD(Word n) { return Word((n >> 8) | (n << 8)); }

THardwareAddress GetLocalMAC() {
  THardwareAddress out{};
  if (net::Interface* i = net::local()) memcpy(out.b, i->stack.mac().b, 6);
  return out;
}

LongInt ICMPSendEcho(TIPAddress IpDest, const void* Data, LongInt len, Word seq, Word id) {
  net::Interface* i = net::local();
  if (i == nullptr || len < 0) return 1;
  const net::Ipv4 dst = from_toro(IpDest);
  // Up to three ARP attempts, 50 ms each (toro-spec §1.10 GetMacAddress).
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (i->stack.send_echo_request(dst, id, seq, Data, size_t(len))) return 0;
    net::Mac m;
    for (int ms = 0; ms < 500 && !i->stack.lookup(i->stack.next_hop(dst), &m); ++ms) sched::sleep_ms(1);
  }
  return i->stack.send_echo_request(dst, id, seq, Data, size_t(len)) ? 0 : 1;
}

PICMPReply ICMPPoolPackets() {
  net::Interface* i = net::local();
  if (i == nullptr) return nullptr;
  net::EchoReply r;
  for (int ms = 0; ms <= 1000; ++ms) {
    if (i->stack.pop_echo_reply(&r)) {
      auto* out = static_cast<PICMPReply>(kernel::allocate(sizeof(TICMPReply)));
      if (out == nullptr) return nullptr;
      out->SourceIP = to_toro(r.from);
      out->Seq = r.seq;
      out->Id = r.id;
      out->Size = r.length;
      memcpy(out->Data, r.data, r.length);
      return out;
    }
    sched::sleep_ms(1);
  }
  return nullptr;
}

namespace {
// What a socket needs of the kernel: its UDP port and the interface (core) it is bound on.
struct SocketState {
  toro::stream::Header header{SOCKET_DATAGRAM};
  net::UdpPort port;
  net::Interface* owner;
};
SocketState* state_of(PSocket s) {
  return s == nullptr || toro::stream::is_stream(s) ? nullptr : static_cast<SocketState*>(s->Internal);
}
net::UdpPort* port_of(PSocket s) {
  SocketState* state = state_of(s);
  return state == nullptr ? nullptr : &state->port;
}
}  // namespace

PSocket SysSocket(LongInt SocketType) {
  if (SocketType == SOCKET_STREAM) return toro::stream::create();
  if (SocketType != SOCKET_DATAGRAM) return nullptr;
  auto* s = static_cast<PSocket>(kernel::allocate(sizeof(TSocket)));
  auto* state = static_cast<SocketState*>(kernel::allocate(sizeof(SocketState), 64));
  if (s == nullptr || state == nullptr) {
    kernel::release(s);
    kernel::release(state);
    return nullptr;
  }
  new (state) SocketState();
  state->owner = nullptr;
  *s = TSocket{0, 0, 0, false, nullptr, state};
  return s;
}

Boolean SysSocketBind(PSocket Socket, TIPAddress, TIPAddress IPRemote, LongInt LocalPort) {
  if (toro::stream::is_stream(Socket)) return toro::stream::bind(Socket, IPRemote, LocalPort);
  net::Interface* i = net::local();
  SocketState* state = state_of(Socket);
  if (i == nullptr || state == nullptr || state->owner != nullptr || LocalPort <= 0 || LocalPort > 65535) return false;
  state->port.port = uint16_t(LocalPort);
  if (!i->stack.bind_udp(&state->port)) return false;
  state->owner = i;
  Socket->SourcePort = DWORD(LocalPort);
  Socket->DestIp = IPRemote;
  return true;
}

LongInt SysSocketRecvFrom(PSocket Socket, PChar Addr, DWORD AddrLen, TIPAddress* FromIp, DWORD* FromPort) {
  net::UdpPort* port = port_of(Socket);
  if (port == nullptr) return 0;
  net::Datagram d;
  while (!port->pop(&d)) {
    if (!Socket->Blocking) return 0;
    sched::sleep_ms(1);
  }
  const DWORD n = d.length < AddrLen ? d.length : AddrLen;
  memcpy(Addr, d.data, n);
  if (FromIp != nullptr) *FromIp = to_toro(d.from);
  if (FromPort != nullptr) *FromPort = d.from_port;
  Socket->DestIp = to_toro(d.from);
  Socket->DestPort = d.from_port;
  return LongInt(n);
}

LongInt SysSocketRecv(PSocket Socket, PChar Addr, DWORD AddrLen, DWORD) {
  if (toro::stream::is_stream(Socket)) return toro::stream::recv(Socket, Addr, AddrLen);
  return SysSocketRecvFrom(Socket, Addr, AddrLen, nullptr, nullptr);
}

LongInt SysSocketSendTo(PSocket Socket, const void* Addr, DWORD AddrLen, TIPAddress ToIp, DWORD ToPort) {
  net::Interface* i = net::local();
  if (i == nullptr || Socket == nullptr) return 0;
  const net::Ipv4 to = from_toro(ToIp);
  for (int attempt = 0; attempt < 3; ++attempt) {  // the first may need an ARP round trip
    if (i->stack.send_udp(uint16_t(Socket->SourcePort), to, uint16_t(ToPort), Addr, AddrLen)) return LongInt(AddrLen);
    net::Mac m;
    for (int ms = 0; ms < 500 && !i->stack.lookup(i->stack.next_hop(to), &m); ++ms) sched::sleep_ms(1);
  }
  return 0;
}

LongInt SysSocketSend(PSocket Socket, PChar Addr, DWORD AddrLen, DWORD) {
  if (Socket == nullptr) return 0;
  if (toro::stream::is_stream(Socket)) return toro::stream::send(Socket, Addr, AddrLen);
  return SysSocketSendTo(Socket, Addr, AddrLen, Socket->DestIp, Socket->DestPort);
}

Boolean SysSocketSelect(PSocket Socket, LongInt TimeOut) {
  if (toro::stream::is_stream(Socket)) return toro::stream::select(Socket, TimeOut);
  net::UdpPort* port = port_of(Socket);
  if (port == nullptr) return false;
  for (LongInt ms = 0; ms <= TimeOut; ++ms) {
    if (port->count != 0) return true;
    sched::sleep_ms(1);
  }
  return port->count != 0;
}

// Must run on the socket's core (the stack is owner-only); from another core it is refused
// rather than racing the packet thread.
void SysSocketClose(PSocket Socket) {
  if (toro::stream::is_stream(Socket)) {
    toro::stream::close(Socket);
    return;
  }
  SocketState* state = state_of(Socket);
  if (state == nullptr) return;
  if (state->owner != nullptr) {
    if (state->owner != net::local()) {
      kernel::printk("SysSocketClose: the socket belongs to Core#%d\n", state->owner->core);
      return;
    }
    state->owner->stack.unbind_udp(&state->port);
  }
  kernel::release(state);
  kernel::release(Socket);
}
