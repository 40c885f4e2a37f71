// Sockets: what an application uses of one core's network (toro-spec §1.10, §2.9.6, §2.9.7):
// UDP sockets over the stack's ports and ICMP echo (this header), stream sockets over its TCP
// and network services, an event loop that calls the application back (stream.h).
// src/api/network.cpp maps Toro's names onto them. Portable: the kernel's part (memory, the
// clock, waiting) comes through kKernel, so tests/unit/net/socket_test.cpp drives the module
// over simulated links. Everything of one core's sockets runs on that core: the packet
// thread, the services and blocking callers share it cooperatively, so nothing is locked.
//
//   net::socket::Sockets* here = net::socket::local();        // the core's (kernel.h)
//   auto* u = static_cast<UdpSocket*>(Socket::create(Kind::kDatagram, handle).value());
//   UdpSocket::From from;
//   if (u->bind(here, 7) && u->recv(buf, sizeof buf, /*blocking=*/true, &from)) {
//     send_datagram(here, 7, from.ip, from.port, buf, from.length);      // the echo
//   }
//
// The calls the API makes from one place each are defined inline, at the end of the header, so
// that a Toro call and its body here compile into one function: a call boundary costs its call
// sequence and an entry in the image's symbol table (about 50 bytes), and HelloWorldMicroservice
// must stay under 128 KiB. What has several callers is in stream.cpp.
#pragma once

#include <lib/result.h>
#include <net/packet.h>
#include <net/stack.h>
#include <net/tcp/tcp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace net::socket {

// What the module needs of the kernel. The kernel defines kKernel (net/socket/kernel.cpp: its
// per-core heap and its scheduler); a host test defines its own, whose sleep runs the link.
class StreamSocket;

struct Kernel {
  void* (*allocate)(size_t size, size_t align);  // the calling core's memory; nullptr when out
  void (*release)(void* p);
  uint64_t (*now_ms)();
  void (*sleep_ms)(uint64_t ms);  // a blocking call waits: the core's other threads run
  // The calling thread's id (with its generation, so a stale one names no thread), for the
  // packet thread to wake it early (nullptr: none, the waits are then plain sleeps).
  uint64_t (*current_thread)();
  // sched::run_before_yield: fn(ctx) before the calling thread next gives up the CPU; false if
  // it cannot (the core's slot holds other work, or ctx's sockets are another core's).
  bool (*run_before_yield)(void (*fn)(void*), void* ctx);
};
extern const Kernel kKernel;

// One core's sockets: the stack and TCP they use, and the threads of the core's services,
// which the packet thread wakes after every batch of frames so that a service never sleeps on
// work that has arrived (kernel.h, wake_services). Lives in the core's net::Interface.
struct Sockets {
  static constexpr int kMaxServices = 8;
  Stack* stack = nullptr;
  tcp::Tcp* tcp = nullptr;
  uint32_t core = 0;
  void* service_threads[kMaxServices];  // the kernel's thread handles
  int service_count;
  // Threads waiting in a blocking call (accept, connect, send, select, UDP's recv, an echo), by
  // thread id, each with the event count of what it waits on (tcp::Socket::events or
  // tcp::Listener::events) as it was when it began to wait. After a batch of frames or a run of
  // TCP's timers the packet thread wakes those whose count moved (and those without a count), so a
  // blocking socket answers at once, and a hundred threads waiting on quiet connections are not all
  // run for a frame that is another's. Ids, not pointers: a waiter killed in its wait leaves an id
  // that names no thread (the wake frees its place for the next waiter). One core's table, touched
  // by that core's threads only (cooperative: no lock); when it is full a waiter looks every
  // millisecond. `events` points into the TCP record of the socket waited on, which lives until
  // that socket is closed; a socket closed while another thread is blocked on it leaves that
  // thread's call on freed records (its own StreamSocket too), as it always did: one thread per
  // blocking socket, as in Toro.
  struct Blocked {
    uint64_t thread = 0;
    const uint32_t* events = nullptr;  // nullptr: woken after every batch
    uint32_t seen = 0;
    bool has_news() const { return events == nullptr || *events != seen; }  // wake it
  };
  static constexpr int kMaxBlocked = 64;
  Blocked blocked[kMaxBlocked] = {};
  int blocked_count = 0;  // places in use: the wake stops when it has seen them all
  // The blocking socket whose sent bytes are held until its thread gives up the CPU (stream.h,
  // StreamSocket::plug_for). This core's threads only.
  StreamSocket* plugged = nullptr;

  void attach(Stack* s, tcp::Tcp* t, uint32_t c) {
    stack = s;
    tcp = t;
    core = c;
  }
};

// A port the Toro API accepts: 1-65535.
constexpr bool valid_port(uint32_t port) { return port != 0 && port <= 65535; }

enum class Kind : uint8_t { kDatagram = 1, kStream = 2 };

// The first part of every socket record (what the API keeps in TSocket::Internal): its kind.
class Socket {
 public:
  // A new socket of `kind` (stream.cpp); `handle` is the caller's record for it (the API's
  // TSocket). Errors: kNoMemory.
  static klib::Result<Socket*> create(Kind kind, void* handle);
  Kind kind() const { return kind_; }

 protected:
  explicit Socket(Kind kind) : kind_(kind) {}  // not a POD: derived records use the bytes after kind_

 private:
  Kind kind_;
};

// A UDP socket (RFC 768): a port of the stack, bound on the calling core.
class UdpSocket : public Socket {
 public:
  UdpSocket() : Socket(Kind::kDatagram) {}
  // Binds `port` on `here`. Errors: kNoDevice (no interface), kBusy (bound already, or the port
  // is taken), kInvalidArgument (not a port).
  klib::Status bind(Sockets* here, uint32_t port);
  // Copies the oldest datagram (at most `n` bytes) to `out`; false if there is none and the
  // socket does not block (a blocking one waits, bound or not).
  struct From {
    size_t length;  // bytes copied
    Ipv4 ip;
    uint16_t port;
  };
  bool recv(void* out, size_t n, bool blocking, From* from);
  // True as soon as a datagram waits, false after `timeout_ms` without one.
  bool select(int64_t timeout_ms);  // stream.cpp
  // Unbinds and frees the socket. Errors: kBusy (bound on another core than `here`: the stack
  // is its core's alone; nothing is done).
  klib::Status close(const Sockets* here);
  const Sockets* owner() const { return owner_; }

 private:
  // A blocking recv's or select's wait: for the packet thread's wake-up, up to `max_ms` (and
  // detail::kWaitBoundMs); a millisecond if the socket is not bound (wait.cpp, out of line:
  // SysSocketRecv inlines recv for both kinds of socket).
  void wait(uint64_t max_ms);
  UdpPort port_;
  Sockets* owner_ = nullptr;
};

// Sends a datagram from `here`, port `from_port`: up to three tries, each after waiting up to
// 500 ms for the next hop's ARP entry. Errors: kNoDevice (no interface), kTimeout (it could not
// leave).
klib::Status send_datagram(Sockets* here, uint16_t from_port, Ipv4 to, uint16_t to_port, const void* data,
                           size_t length);

// ICMP echo (ping) from `here`: sends a request (up to three ARP rounds of 500 ms, toro-spec
// §1.10 GetMacAddress; errors: kNoDevice, kTimeout), and takes the oldest reply, waiting up to
// `wait_ms` for one (false if none came).
klib::Status send_echo(Sockets* here, Ipv4 to, uint16_t id, uint16_t seq, const void* data, size_t length);
bool receive_echo(Sockets* here, EchoReply* out, uint64_t wait_ms);

// The MAC frames to `ip` go to (its next hop: `ip` on the local subnet, else the gateway), from
// `here`'s ARP cache, asking up to three times and waiting 500 ms each (toro-spec §1.10
// GetMacAddress). Errors: kNoDevice (no interface), kTimeout (no answer).
klib::Result<Mac> resolve(Sockets* here, Ipv4 ip);

// ---------------------------------------------------------------------------------------------
// Inline: the calls the API makes from one place (see the top of this header).

namespace detail {

// A blocking call's wait for the network, on the waiter's list meanwhile: ended by the packet
// thread after a batch of frames or a run of TCP's timers (wake_services) that moved `*events`
// (any, when `events` is nullptr), which is when what a blocking call waits for can change;
// otherwise after kWaitBoundMs, or `max_ms` if less (a select's time left). The caller looked at
// its condition just before: nothing else ran on this core since (cooperative), so the count read
// here is the one it saw. The bound only catches what no frame or timer brings. A waiter the full
// list has no place for is not woken: it looks every millisecond. (Every waiter used to look every
// millisecond: an idle StaticWebServer, its accept() waiting, took a timer interrupt each
// millisecond, 6-7 % of a host core under TCG.)
constexpr uint64_t kWaitBoundMs = 50;
void wait_for_network(Sockets* here, const uint32_t* events, uint64_t max_ms = kWaitBoundMs);  // wait.cpp
// Waits up to 500 ms for the ARP entry of `to`'s next hop (its request is on its way).
inline void wait_for_next_hop(Sockets* here, Ipv4 to) {
  Mac m;
  for (int ms = 0; ms < 500 && !here->stack->lookup(here->stack->next_hop(to), &m); ++ms) kKernel.sleep_ms(1);
}
}  // namespace detail

inline klib::Status UdpSocket::bind(Sockets* here, uint32_t port) {
  if (here == nullptr) return klib::Error::kNoDevice;
  if (owner_ != nullptr) return klib::Error::kBusy;
  if (!valid_port(port)) return klib::Error::kInvalidArgument;
  port_.port = uint16_t(port);
  if (!here->stack->bind_udp(&port_)) return klib::Error::kBusy;  // taken, or all kUdpPorts slots are
  owner_ = here;
  return {};
}

[[gnu::always_inline]] inline bool UdpSocket::recv(void* out, size_t n, bool blocking, From* from) {
  Datagram d;
  while (!port_.pop(&d)) {
    if (!blocking) return false;
    wait(UINT64_MAX);
  }
  from->length = d.length < n ? d.length : n;
  memcpy(out, d.data, from->length);
  from->ip = d.from;
  from->port = d.from_port;
  return true;
}

inline klib::Status UdpSocket::close(const Sockets* here) {
  if (owner_ != nullptr) {
    if (owner_ != here) return klib::Error::kBusy;
    owner_->stack->unbind_udp(&port_);
  }
  kKernel.release(this);
  return {};
}

inline klib::Status send_datagram(Sockets* here, uint16_t from_port, Ipv4 to, uint16_t to_port, const void* data,
                                  size_t length) {
  if (here == nullptr) return klib::Error::kNoDevice;
  for (int attempt = 0; attempt < 3; ++attempt) {  // the first may need an ARP round trip
    if (here->stack->send_udp(from_port, to, to_port, data, length)) return {};
    detail::wait_for_next_hop(here, to);
  }
  return klib::Error::kTimeout;
}

inline klib::Status send_echo(Sockets* here, Ipv4 to, uint16_t id, uint16_t seq, const void* data, size_t length) {
  if (here == nullptr) return klib::Error::kNoDevice;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (here->stack->send_echo_request(to, id, seq, data, length)) return {};
    detail::wait_for_next_hop(here, to);
  }
  return here->stack->send_echo_request(to, id, seq, data, length) ? klib::Status{} : klib::Error::kTimeout;
}

inline bool receive_echo(Sockets* here, EchoReply* out, uint64_t wait_ms) {
  const uint64_t deadline = kKernel.now_ms() + wait_ms;
  while (!here->stack->pop_echo_reply(out)) {
    const uint64_t now = kKernel.now_ms();
    if (now >= deadline) return false;
    detail::wait_for_network(here, nullptr, deadline - now);
  }
  return true;
}

inline klib::Result<Mac> resolve(Sockets* here, Ipv4 ip) {
  if (here == nullptr) return klib::Error::kNoDevice;
  const Ipv4 hop = here->stack->next_hop(ip);
  Mac mac;
  for (int attempt = 0; !here->stack->lookup(hop, &mac); ++attempt) {
    if (attempt == 3) return klib::Error::kTimeout;
    here->stack->request(hop);
    detail::wait_for_next_hop(here, hop);
  }
  return mac;
}

}  // namespace net::socket
