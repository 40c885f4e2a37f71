// Stream sockets and network services (toro-spec §1.10, §2.9.6, §2.9.7) over net::tcp.
#include "stream.h"

#include <arch/x86_64/cpu.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <net/interface.h>
#include <sched/scheduler.h>

#include <new>

namespace toro::stream {
namespace {

// The dispatcher's next callback for a socket (§2.9.6).
enum class Event : uint8_t { kNone, kAccept, kReceive, kClose, kConnect, kConnectFail, kWaiting, kTimeout };

struct Service;

struct StreamState {
  Header header{SOCKET_STREAM};
  net::Interface* iface = nullptr;
  net::tcp::Socket* conn = nullptr;      // a connection (accepted or connecting)
  net::tcp::Listener* listener = nullptr;  // a listening socket
  Service* service = nullptr;            // the service dispatching it (non-blocking sockets)
  PSocket next = nullptr;                // in the service's client list
  Event event = Event::kNone;
  uint64_t deadline_ms = 0;
  bool in_service = false;
  bool closed = false;      // SysSocketClose ran: the dispatcher frees it after the callback
  bool connecting = false;  // non-blocking connect: waiting for DoConnect/DoConnectFail
  // TCP options (SysSocketSetNagle/SetKeepAlive); a listener passes them to what it accepts.
  bool nagle = false;
  uint32_t keepalive_idle_ms = 0, keepalive_interval_ms = 0, keepalive_count = 0;
};

struct Service {
  TNetworkHandler handler;
  PSocket server = nullptr;
  PSocket clients = nullptr;
};

// The service whose thread is running (DoInit's SysSocketListen and a callback's
// SysSocketConnect attach their socket to it).
thread_local Service* t_service = nullptr;

StreamState* st(PSocket s) { return static_cast<StreamState*>(s->Internal); }
using sched::now_ms;
using sched::now_us;

PSocket make_socket() {
  auto* s = static_cast<PSocket>(kernel::allocate(sizeof(TSocket)));
  auto* state = static_cast<StreamState*>(kernel::allocate(sizeof(StreamState), 64));
  if (s == nullptr || state == nullptr) {
    kernel::release(s);
    kernel::release(state);
    return nullptr;
  }
  new (state) StreamState();
  *s = TSocket{0, 0, 0, false, nullptr, state};
  return s;
}

void free_socket(PSocket s) {
  kernel::release(s->Internal);
  kernel::release(s);
}

void apply_options(StreamState* state) {
  if (state->conn == nullptr) return;
  state->iface->tcp.set_options(state->conn, state->nagle, uint64_t(state->keepalive_idle_ms) * 1000,
                                uint64_t(state->keepalive_interval_ms) * 1000, state->keepalive_count);
}

// A connection `listener` accepted takes its options.
void inherit_options(const StreamState* listener, PSocket s) {
  StreamState* state = st(s);
  state->nagle = listener->nagle;
  state->keepalive_idle_ms = listener->keepalive_idle_ms;
  state->keepalive_interval_ms = listener->keepalive_interval_ms;
  state->keepalive_count = listener->keepalive_count;
  apply_options(state);
}

// A TSocket for a connection the TCP table handed out (accepted or connected).
PSocket wrap(net::tcp::Socket* c, net::Interface* iface, bool blocking) {
  PSocket s = make_socket();
  if (s == nullptr) {
    iface->tcp.release(c);  // no memory for the socket: the connection is closed
    return nullptr;
  }
  st(s)->conn = c;
  st(s)->iface = iface;
  c->user = s;
  const net::tcp::Endpoints& e = c->conn.endpoints();
  s->SourcePort = e.local_port;
  s->DestPort = e.remote_port;
  s->DestIp = to_toro(e.remote);
  s->Blocking = blocking;
  return s;
}

bool open_state(net::tcp::State state) {
  return state == net::tcp::State::kEstablished || state == net::tcp::State::kCloseWait;
}

// Nothing more will be read: the peer sent FIN (and all of it was read) or the connection ended.
bool finished(const StreamState* s) {
  if (s->conn == nullptr) return true;
  const net::tcp::Connection& c = s->conn->conn;
  return c.readable() == 0 && (c.peer_closed() || c.state() == net::tcp::State::kClosed);
}

// Calls `cb` (a nil callback closes the socket: nobody would ever move it on).
void invoke(TSocketProc cb, PSocket s) {
  if (cb != nullptr) {
    cb(s);
  } else {
    close(s);
  }
}

// One dispatcher pass (§2.9.6). Returns whether any callback ran.
bool dispatch(Service* sv) {
  bool work = false;
  if (sv->server != nullptr) {
    StreamState* ss = st(sv->server);
    while (net::tcp::Socket* c = ss->iface->tcp.accept(ss->listener)) {
      PSocket cs = wrap(c, ss->iface, false);
      if (cs == nullptr) continue;
      inherit_options(ss, cs);
      st(cs)->service = sv;
      st(cs)->in_service = true;
      st(cs)->event = Event::kAccept;
      st(cs)->next = sv->clients;
      sv->clients = cs;
    }
  }
  const TNetworkHandler& h = sv->handler;
  const uint64_t now = now_ms();
  for (PSocket* link = &sv->clients; *link != nullptr;) {
    PSocket s = *link;
    StreamState* cs = st(s);
    if (!cs->closed) {
      if (cs->connecting && cs->conn != nullptr) {
        const net::tcp::State state = cs->conn->conn.state();
        if (open_state(state)) {
          cs->connecting = false;
          cs->event = Event::kConnect;
        } else if (state == net::tcp::State::kClosed) {
          cs->connecting = false;
          cs->event = Event::kConnectFail;
        }
      }
      if (cs->event == Event::kWaiting) {
        if (cs->conn != nullptr && cs->conn->conn.readable() != 0) {
          cs->event = Event::kReceive;
        } else if (finished(cs)) {
          cs->event = Event::kClose;
        } else if (now >= cs->deadline_ms) {
          cs->event = Event::kTimeout;
          work = true;
          invoke(h.DoTimeOut, s);
        }
      }
      // The callback's sends wait until it returns (or closes): an answer and its FIN leave
      // together (Connection::set_cork).
      net::tcp::Socket* corked = cs->event != Event::kWaiting && cs->event != Event::kNone ? cs->conn : nullptr;
      if (corked != nullptr) cs->iface->tcp.set_cork(corked, true);
      switch (cs->event) {
        case Event::kAccept: work = true; invoke(h.DoAccept, s); break;
        case Event::kReceive: work = true; invoke(h.DoReceive, s); break;
        case Event::kClose: work = true; invoke(h.DoClose, s); break;
        case Event::kConnect: work = true; invoke(h.DoConnect, s); break;
        case Event::kConnectFail: work = true; invoke(h.DoConnectFail, s); break;
        default: break;
      }
      // Still ours (SysSocketClose in the callback already sent everything with the FIN).
      if (corked != nullptr && cs->conn == corked) cs->iface->tcp.set_cork(corked, false);
    }
    if (cs->closed) {
      *link = cs->next;
      free_socket(s);
    } else {
      link = &cs->next;
    }
  }
  return work;
}

intptr_t service_main(void* arg) {
  auto* sv = static_cast<Service*>(arg);
  t_service = sv;
  if (sv->handler.DoInit != nullptr) sv->handler.DoInit();
  for (;;) {
    // A pass that ran callbacks yields and goes again; an idle one sleeps so the core can halt.
    // The packet thread wakes it when frames arrive; the sleep bounds timeouts' lateness.
    if (dispatch(sv)) {
      sched::yield();
    } else {
      sched::sleep_ms(5);
    }
  }
}

}  // namespace

PSocket create() { return make_socket(); }

Boolean bind(PSocket s, TIPAddress remote, LongInt port) {
  if (port <= 0 || port > 65535) return false;
  s->SourcePort = DWORD(port);
  s->DestIp = remote;
  return true;
}

LongInt recv(PSocket s, PChar addr, DWORD len) {
  StreamState* state = st(s);
  if (state->conn == nullptr || addr == nullptr) return 0;
  return LongInt(state->iface->tcp.recv(state->conn, reinterpret_cast<uint8_t*>(addr), len));
}

LongInt peek(PSocket s, PChar addr, DWORD len) {
  StreamState* state = st(s);
  if (state->conn == nullptr || addr == nullptr) return 0;
  return LongInt(state->conn->conn.peek(reinterpret_cast<uint8_t*>(addr), len));
}

LongInt send(PSocket s, PChar addr, DWORD len) {
  StreamState* state = st(s);
  if (state->conn == nullptr || addr == nullptr) return 0;
  net::tcp::Tcp& tcp = state->iface->tcp;
  const auto* data = reinterpret_cast<const uint8_t*>(addr);
  DWORD done = tcp.send(state->conn, data, len);
  while (s->Blocking && done < len && open_state(state->conn->conn.state())) {
    sched::sleep_ms(1);
    done += tcp.send(state->conn, data + done, len - done);
  }
  return LongInt(done);
}

Boolean select(PSocket s, LongInt timeout_ms) {
  StreamState* state = st(s);
  if (timeout_ms < 0) timeout_ms = 0;
  if (!s->Blocking) {
    if (state->conn != nullptr && state->conn->conn.readable() != 0) {
      state->event = Event::kReceive;
    } else if (finished(state)) {
      state->event = Event::kClose;
    } else {
      state->event = Event::kWaiting;
      state->deadline_ms = now_ms() + uint64_t(timeout_ms);
    }
    return true;
  }
  const uint64_t deadline = now_ms() + uint64_t(timeout_ms);
  for (;;) {
    if (state->conn != nullptr && state->conn->conn.readable() != 0) return true;
    if (finished(state)) {
      state->event = Event::kClose;
      return false;
    }
    if (now_ms() >= deadline) return false;
    sched::sleep_ms(1);
  }
}

void close(PSocket s) {
  StreamState* state = st(s);
  if (state->closed) return;
  if (state->listener != nullptr) {
    state->iface->tcp.unlisten(state->listener);
    state->listener = nullptr;
    if (state->service != nullptr && state->service->server == s) state->service->server = nullptr;
  }
  if (state->conn != nullptr) {
    state->conn->user = nullptr;
    state->iface->tcp.release(state->conn);  // FIN after the queued data; freed when CLOSED
    state->conn = nullptr;
  }
  if (state->in_service) {
    state->closed = true;  // the dispatcher unlinks and frees it
  } else {
    free_socket(s);
  }
}

}  // namespace toro::stream

using toro::stream::is_stream;

Boolean SysSocketListen(PSocket Socket, LongInt QueueLen) {
  if (!is_stream(Socket)) return false;
  auto* state = static_cast<toro::stream::StreamState*>(Socket->Internal);
  net::Interface* iface = net::local();
  if (iface == nullptr || state->listener != nullptr || state->conn != nullptr || Socket->SourcePort == 0 ||
      Socket->SourcePort > 65535) {
    return false;
  }
  toro::stream::Service* sv = toro::stream::t_service;
  if (!Socket->Blocking && sv == nullptr) {
    kernel::printk("SysSocketListen: a non-blocking socket listens from a service's DoInit\n");
    return false;
  }
  net::tcp::Listener* l = iface->tcp.listen(uint16_t(Socket->SourcePort), QueueLen <= 0 ? 1 : unsigned(QueueLen));
  if (l == nullptr) return false;
  state->iface = iface;
  state->listener = l;
  if (!Socket->Blocking) {
    state->service = sv;
    sv->server = Socket;
  }
  return true;
}

PSocket SysSocketAccept(PSocket Socket) {
  if (!is_stream(Socket) || !Socket->Blocking) return nullptr;
  auto* state = static_cast<toro::stream::StreamState*>(Socket->Internal);
  if (state->listener == nullptr) return nullptr;
  for (;;) {
    if (net::tcp::Socket* c = state->iface->tcp.accept(state->listener)) {
      if (PSocket s = toro::stream::wrap(c, state->iface, true)) {
        toro::stream::inherit_options(state, s);
        return s;
      }
    }
    sched::sleep_ms(1);
  }
}

Boolean SysSocketConnect(PSocket Socket) {
  if (!is_stream(Socket)) return false;
  auto* state = static_cast<toro::stream::StreamState*>(Socket->Internal);
  net::Interface* iface = net::local();
  toro::stream::Service* sv = toro::stream::t_service;
  if (iface == nullptr || state->conn != nullptr || state->listener != nullptr || Socket->DestPort == 0 ||
      Socket->DestPort > 65535 || (!Socket->Blocking && sv == nullptr)) {
    return false;
  }
  net::tcp::Socket* c = iface->tcp.connect(toro::stream::from_toro(Socket->DestIp), uint16_t(Socket->DestPort));
  if (c == nullptr) return false;
  state->conn = c;
  state->iface = iface;
  c->user = Socket;
  Socket->SourcePort = c->conn.endpoints().local_port;
  if (Socket->Blocking) {
    for (;;) {
      const net::tcp::State s = c->conn.state();
      if (toro::stream::open_state(s)) return true;
      if (s == net::tcp::State::kClosed) return false;
      sched::sleep_ms(1);
    }
  }
  state->connecting = true;
  state->event = toro::stream::Event::kNone;
  state->service = sv;
  state->in_service = true;
  state->next = sv->clients;
  sv->clients = Socket;
  return true;
}

LongInt SysSocketPeek(PSocket Socket, PChar Addr, DWORD AddrLen) {
  return is_stream(Socket) ? toro::stream::peek(Socket, Addr, AddrLen) : 0;
}

Boolean SysRegisterNetworkService(PNetworkHandler Handler) {
  if (Handler == nullptr) {
    kernel::printk("SysRegisterNetworkService: no handler\n");
    return false;
  }
  net::Interface* iface = net::local();
  if (iface == nullptr) {
    kernel::printk("SysRegisterNetworkService: Core#%d has no network interface (DedicateNetwork first)\n",
                   kernel::current_core());
    return false;
  }
  if (iface->service_count == net::Interface::kMaxServices) {
    kernel::printk("SysRegisterNetworkService: Core#%d already runs %d services\n", kernel::current_core(),
                   net::Interface::kMaxServices);
    return false;
  }
  auto* sv = static_cast<toro::stream::Service*>(kernel::allocate(sizeof(toro::stream::Service), 64));
  if (sv == nullptr) {
    kernel::printk("SysRegisterNetworkService: no memory for the service\n");
    return false;
  }
  new (sv) toro::stream::Service();
  sv->handler = *Handler;
  sched::Thread* t = sched::create_thread(kernel::current_core(), 40 * 1024, toro::stream::service_main, sv);
  if (t == nullptr) {
    kernel::printk("SysRegisterNetworkService: no memory for the service thread\n");
    kernel::release(sv);
    return false;
  }
  iface->services[iface->service_count++] = t;  // woken by the packet thread
  return true;
}

Boolean SysSocketSetNagle(PSocket Socket, Boolean On) {
  if (!is_stream(Socket)) return false;
  auto* state = static_cast<toro::stream::StreamState*>(Socket->Internal);
  if (state->conn == nullptr && state->listener == nullptr) return false;
  state->nagle = On;
  toro::stream::apply_options(state);
  return true;
}

Boolean SysSocketSetKeepAlive(PSocket Socket, LongInt IdleMs, LongInt IntervalMs, LongInt Count) {
  if (!is_stream(Socket) || IdleMs < 0 || IntervalMs < 0 || Count < 0 || (IdleMs > 0 && (IntervalMs == 0 || Count == 0))) {
    return false;
  }
  auto* state = static_cast<toro::stream::StreamState*>(Socket->Internal);
  if (state->conn == nullptr && state->listener == nullptr) return false;
  state->keepalive_idle_ms = uint32_t(IdleMs);
  state->keepalive_interval_ms = uint32_t(IntervalMs);
  state->keepalive_count = uint32_t(Count);
  toro::stream::apply_options(state);
  return true;
}
