// Toro's network names (toro-spec §1.10) on the kernel's: a card dedicated to a core
// (net/interface.h) and what applications use of it, sockets, services and ICMP echo
// (net/socket/socket.h). Here a TSocket becomes a socket record and back, Toro's address
// order becomes the stack's, and a failure becomes Toro's nil, 0 or false (with a console line
// where Toro C++ says why).
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <net/interface.h>
#include <net/socket/kernel.h>
#include <toro/network.h>

#include <cstring>

namespace {

using net::socket::Event;
using net::socket::Kind;
using net::socket::StreamSocket;
using net::socket::UdpSocket;

net::Ipv4 from_array(const Byte a[4]) { return net::Ipv4::from_bytes(a[0], a[1], a[2], a[3]); }
// Toro's TIPAddress keeps the first octet in the lowest byte (toro-spec §1.10).
net::Ipv4 from_toro(TIPAddress t) {
  return net::Ipv4::from_bytes(uint8_t(t), uint8_t(t >> 8), uint8_t(t >> 16), uint8_t(t >> 24));
}
TIPAddress to_toro(net::Ipv4 a) {
  return TIPAddress(a.octet(0)) | TIPAddress(a.octet(1)) << 8 | TIPAddress(a.octet(2)) << 16 |
         TIPAddress(a.octet(3)) << 24;
}

// TSocket::Internal is the socket module's record.
net::socket::Socket* record(PSocket s) {
  return s == nullptr ? nullptr : static_cast<net::socket::Socket*>(s->Internal);
}
StreamSocket* stream_of(PSocket s) {
  net::socket::Socket* r = record(s);
  return r != nullptr && r->kind() == Kind::kStream ? static_cast<StreamSocket*>(r) : nullptr;
}
UdpSocket* udp_of(PSocket s) {
  net::socket::Socket* r = record(s);
  return r != nullptr && r->kind() == Kind::kDatagram ? static_cast<UdpSocket*>(r) : nullptr;
}

// What the socket module calls back (net/socket/stream.h): the TSocket of a connection it
// accepted, and the application's TNetworkHandler.
struct Api {
  static void* open(StreamSocket* s, bool blocking) {
    auto* h = static_cast<PSocket>(kernel::allocate(sizeof(TSocket)));
    if (h == nullptr) return nullptr;
    const net::tcp::Endpoints& e = *s->endpoints();
    *h = TSocket{e.local_port, e.remote_port, to_toro(e.remote), blocking, nullptr, s};
    return h;
  }
  static void free(void* handle) { kernel::release(handle); }
  static void init(const void* app) {
    if (TInitProc init = static_cast<const TNetworkHandler*>(app)->DoInit) init();
  }
  static bool call(const void* app, Event event, void* handle) {
    const TNetworkHandler& h = *static_cast<const TNetworkHandler*>(app);
    TSocketProc cb = nullptr;
    switch (event) {
      case Event::kAccept:
        cb = h.DoAccept;
        break;
      case Event::kReceive:
        cb = h.DoReceive;
        break;
      case Event::kClose:
        cb = h.DoClose;
        break;
      case Event::kConnect:
        cb = h.DoConnect;
        break;
      case Event::kConnectFail:
        cb = h.DoConnectFail;
        break;
      case Event::kTimeout:
        cb = h.DoTimeOut;
        break;
      default:
        break;
    }
    if (cb == nullptr) return false;
    cb(static_cast<PSocket>(handle));
    return true;
  }
};

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

void IPStrtoArray(const char* Ip, Byte Result[4]) {
  Byte out[4] = {};
  int part = 0, digits = 0;
  unsigned value = 0;
  for (const char* c = Ip; c != nullptr; ++c) {
    if (*c >= '0' && *c <= '9' && digits < 3) {
      value = value * 10 + unsigned(*c - '0');
      ++digits;
      continue;
    }
    const bool end = *c == '\0' || *c == ' ';
    if (digits == 0 || value > 255 || (*c != '.' && !end) || (end != (part == 3))) break;
    out[part++] = Byte(value);
    if (end) {
      memcpy(Result, out, 4);
      return;
    }
    value = 0;
    digits = 0;
  }
  memset(Result, 0, 4);
}

PMachine GetMacAddress(TIPAddress IP) {
  const klib::Result<net::Mac> mac = net::socket::resolve(net::socket::local(), from_toro(IP));
  if (!mac) return nullptr;
  auto* out = static_cast<PMachine>(kernel::allocate(sizeof(TMachine)));
  if (out == nullptr) return nullptr;
  out->IpAddress = IP;
  memcpy(out->HardAddress.b, mac.value().b, 6);
  return out;
}

Word SwapWORD(Word n) { return Word((n >> 8) | (n << 8)); }

THardwareAddress GetLocalMAC() {
  THardwareAddress out{};
  if (net::Interface* i = net::local()) memcpy(out.b, i->stack.mac().b, 6);
  return out;
}

LongInt ICMPSendEcho(TIPAddress IpDest, const void* Data, LongInt len, Word seq, Word id) {
  if (len < 0) return 1;
  return net::socket::send_echo(net::socket::local(), from_toro(IpDest), id, seq, Data, size_t(len)) ? 0 : 1;
}

PICMPReply ICMPPoolPackets() {
  net::socket::Sockets* here = net::socket::local();
  net::EchoReply r;
  if (here == nullptr || !net::socket::receive_echo(here, &r, 1000)) return nullptr;
  auto* out = static_cast<PICMPReply>(kernel::allocate(sizeof(TICMPReply)));
  if (out == nullptr) return nullptr;
  out->SourceIP = to_toro(r.from);
  out->Seq = r.seq;
  out->Id = r.id;
  out->Size = r.length;
  memcpy(out->Data, r.data, r.length);
  return out;
}

PSocket SysSocket(LongInt SocketType) {
  if (SocketType != SOCKET_STREAM && SocketType != SOCKET_DATAGRAM) return nullptr;
  auto* s = static_cast<PSocket>(kernel::allocate(sizeof(TSocket)));
  if (s == nullptr) return nullptr;
  const klib::Result<net::socket::Socket*> r =
      net::socket::Socket::create(SocketType == SOCKET_STREAM ? Kind::kStream : Kind::kDatagram, s);
  if (!r) {
    kernel::release(s);
    return nullptr;
  }
  *s = TSocket{0, 0, 0, false, nullptr, r.value()};
  return s;
}

Boolean SysSocketBind(PSocket Socket, TIPAddress, TIPAddress IPRemote, LongInt LocalPort) {
  if (stream_of(Socket) != nullptr) {
    if (!net::socket::valid_port(DWORD(LocalPort))) return false;  // SysSocketListen takes it
  } else {
    UdpSocket* u = udp_of(Socket);
    if (u == nullptr || !u->bind(net::socket::local(), DWORD(LocalPort))) return false;
  }
  Socket->SourcePort = DWORD(LocalPort);
  Socket->DestIp = IPRemote;
  return true;
}

LongInt SysSocketRecvFrom(PSocket Socket, PChar Addr, DWORD AddrLen, TIPAddress* FromIp, DWORD* FromPort) {
  UdpSocket* u = udp_of(Socket);
  UdpSocket::From from;
  if (u == nullptr || !u->recv(Addr, AddrLen, Socket->Blocking, &from)) return 0;
  if (FromIp != nullptr) *FromIp = to_toro(from.ip);
  if (FromPort != nullptr) *FromPort = from.port;
  Socket->DestIp = to_toro(from.ip);
  Socket->DestPort = from.port;
  return LongInt(from.length);
}

LongInt SysSocketRecv(PSocket Socket, PChar Addr, DWORD AddrLen, DWORD) {
  if (StreamSocket* s = stream_of(Socket)) return LongInt(s->recv(Addr, AddrLen));
  return SysSocketRecvFrom(Socket, Addr, AddrLen, nullptr, nullptr);
}

LongInt SysSocketSendTo(PSocket Socket, const void* Addr, DWORD AddrLen, TIPAddress ToIp, DWORD ToPort) {
  if (Socket == nullptr) return 0;
  const klib::Status sent = net::socket::send_datagram(net::socket::local(), uint16_t(Socket->SourcePort),
                                                       from_toro(ToIp), uint16_t(ToPort), Addr, AddrLen);
  return sent ? LongInt(AddrLen) : 0;
}

LongInt SysSocketSend(PSocket Socket, const char* Addr, DWORD AddrLen, DWORD) {
  if (Socket == nullptr) return 0;
  if (StreamSocket* s = stream_of(Socket)) return LongInt(s->send(Addr, AddrLen, Socket->Blocking));
  return SysSocketSendTo(Socket, Addr, AddrLen, Socket->DestIp, Socket->DestPort);
}

Boolean SysSocketSelect(PSocket Socket, LongInt TimeOut) {
  if (StreamSocket* s = stream_of(Socket)) return s->select(TimeOut, Socket->Blocking);
  UdpSocket* u = udp_of(Socket);
  return u != nullptr && u->select(TimeOut);
}

// Toro programs read Socket->UserDefined after SysSocketClose (toro-spec §2.9.6: the stack
// freed sockets later). So a TSocket stays valid until the service callback that closed it
// returns (its dispatcher frees it then) or, closed anywhere else, until the closing thread's
// next kernel call returns: it is parked on the core and freed by the core's next such close.
// One thread of the core runs at a time (cooperative), so another thread's close can only run
// inside a kernel call of the closing thread. Internal is cleared: a call on the closed socket
// (a second close) finds no record and does nothing instead of freeing it twice.
// A datagram socket must be closed on its own core (the stack is owner-only); from another
// core it is refused rather than racing the packet thread.
void SysSocketClose(PSocket Socket) {
  if (StreamSocket* s = stream_of(Socket)) {
    if (!s->close()) return;  // its service frees it after the callback
  } else {
    UdpSocket* u = udp_of(Socket);
    if (u == nullptr) return;
    if (!u->close(net::socket::local())) {
      kernel::printk("SysSocketClose: the socket belongs to Core#%d\n", u->owner()->core);
      return;
    }
  }
  Socket->Internal = nullptr;
  void*& parked = kernel::this_cpu()->closed_socket;
  kernel::release(parked);  // nullptr: nothing
  parked = Socket;
}

Boolean SysSocketListen(PSocket Socket, LongInt QueueLen) {
  StreamSocket* s = stream_of(Socket);
  if (s == nullptr) return false;
  const klib::Status listening =
      s->listen(net::socket::local(), Socket->SourcePort, QueueLen <= 0 ? 1 : unsigned(QueueLen), Socket->Blocking);
  if (listening.error() == klib::Error::kNotSupported) {
    kernel::printk("SysSocketListen: a non-blocking socket listens from a service's DoInit\n");
  }
  return listening.ok();
}

PSocket SysSocketAccept(PSocket Socket) {
  StreamSocket* s = stream_of(Socket);
  if (s == nullptr) return nullptr;
  const klib::Result<StreamSocket*> c = s->accept<Api>(Socket->Blocking);
  return c ? static_cast<PSocket>(c.value()->handle()) : nullptr;
}

Boolean SysSocketConnect(PSocket Socket) {
  StreamSocket* s = stream_of(Socket);
  if (s == nullptr) return false;
  const klib::Status connected =
      s->connect(net::socket::local(), from_toro(Socket->DestIp), Socket->DestPort, Socket->Blocking);
  if (connected.ok() || connected.error() == klib::Error::kClosed) Socket->SourcePort = s->endpoints()->local_port;
  return connected.ok();
}

LongInt SysSocketPeek(PSocket Socket, PChar Addr, DWORD AddrLen) {
  StreamSocket* s = stream_of(Socket);
  return s != nullptr ? LongInt(s->peek(Addr, AddrLen)) : 0;
}

[[gnu::cold]] Boolean SysRegisterNetworkService(PNetworkHandler Handler) {  // once per service: for size
  if (Handler == nullptr) {
    kernel::printk("SysRegisterNetworkService: no handler\n");
    return false;
  }
  net::socket::Sockets* here = net::socket::local();
  if (here == nullptr) {
    kernel::printk("SysRegisterNetworkService: Core#%d has no network interface (DedicateNetwork first)\n",
                   kernel::current_core());
    return false;
  }
  const klib::Result<net::socket::Service*> sv = net::socket::Service::create(here, Handler, sizeof *Handler);
  if (sv.error() == klib::Error::kLimit) {
    kernel::printk("SysRegisterNetworkService: Core#%d already runs %d services\n", kernel::current_core(),
                   net::socket::Sockets::kMaxServices);
    return false;
  }
  if (!sv) {
    kernel::printk("SysRegisterNetworkService: no memory for the service\n");
    return false;
  }
  if (!net::socket::run_service<Api>(*sv.value())) {
    kernel::printk("SysRegisterNetworkService: no memory for the service thread\n");
    sv.value()->destroy();
    return false;
  }
  return true;
}

Boolean SysSocketSetNagle(PSocket Socket, Boolean On) {
  StreamSocket* s = stream_of(Socket);
  return s != nullptr && s->set_nagle(On).ok();
}

Boolean SysSocketSetKeepAlive(PSocket Socket, LongInt IdleMs, LongInt IntervalMs, LongInt Count) {
  StreamSocket* s = stream_of(Socket);
  return s != nullptr && s->set_keepalive(IdleMs, IntervalMs, Count).ok();
}
