// Stream (TCP) sockets and network services (toro-spec §1.10, §2.9.6, §2.9.7) over one core's
// tcp::Tcp; the rest of the module is in socket.h.
//
// A blocking socket is used from a thread of the core: accept() waits for a connection,
// select() for data, send() for room. A service's sockets never block: a Service, run by one
// thread of the core (kernel.h, run_service), accepts for its listener and calls the
// application back for each connection's next event (DoAccept, DoReceive, DoClose, DoTimeOut,
// DoConnect, DoConnectFail), which the callback chooses with select() or ends with close().
//
// The layer above (the API) is a template parameter `Up`, called directly (no function
// pointers: the callbacks compile into the dispatcher as they did when it lived in the API).
// It names the sockets the module opens itself and runs the application's callbacks:
//   static void* open(StreamSocket* s, bool blocking);  // its handle (TSocket) for a connection
//                                                       // accept() or a service took; nullptr: no memory
//   static void free(void* handle);                     // a service's socket is freed
//   static void init(const void* app);                  // DoInit
//   static bool call(const void* app, Event e, void* handle);  // the callback for e; false: none
// where `app` is the application's handler as Service::create() copied it.
//
//   auto* s = static_cast<StreamSocket*>(Socket::create(Kind::kStream, handle).value());
//   if (s->listen(here, 80, 8, /*blocking=*/true)) {
//     StreamSocket* c = s->accept<Api>(true).value();          // waits for a connection
//     c->select(1000, true); c->recv(buf, n); c->send(buf, n, true); c->close();
//   }
#pragma once

#include <net/socket/socket.h>

#include <new>

namespace net::socket {

class Service;

// The dispatcher's next callback for a service's socket (toro-spec §2.9.6).
enum class Event : uint8_t { kNone, kAccept, kReceive, kClose, kConnect, kConnectFail, kWaiting, kTimeout };

// A TCP socket: a listener or a connection (accepted or connecting), blocking or a service's.
class StreamSocket : public Socket {
 public:
  explicit StreamSocket(void* handle) : Socket(Kind::kStream), handle_(handle) {}

  // Listens on `port` of `here`. A blocking socket is then used with accept(); a non-blocking
  // one belongs to the service whose thread calls this (from DoInit), which accepts for it.
  // Errors: kNoDevice (no interface), kBusy (listening or connected already, or the port is
  // taken), kInvalidArgument (not a port), kNotSupported (non-blocking outside a service).
  klib::Status listen(Sockets* here, uint32_t port, unsigned backlog, bool blocking);
  // A blocking listener's next connection, waiting for one; its handle comes from Up::open.
  // Errors: kNotSupported (not blocking), kNotConnected (not listening).
  template <class Up>
  klib::Result<StreamSocket*> accept(bool blocking);
  // Opens a connection to remote:port from `here`. Blocking: waits for the handshake.
  // Non-blocking: returns at once; the calling service reports DoConnect or DoConnectFail.
  // Errors: kNoDevice, kBusy (listening or connected already), kInvalidArgument (not a port),
  // kNotSupported (non-blocking outside a service), kNoMemory (no record or no free port),
  // kClosed (blocking: refused, reset or timed out).
  klib::Status connect(Sockets* here, Ipv4 remote, uint32_t port, bool blocking);
  // Never block; 0 when nothing is waiting or the socket is not connected.
  uint32_t recv(void* out, uint32_t n);
  uint32_t peek(void* out, uint32_t n) const;
  // Queues what fits and returns how much; `blocking` waits for room until all is queued or the
  // connection ends.
  uint32_t send(const void* data, uint32_t n, bool blocking);
  // Non-blocking (a service's socket): picks the next callback: DoReceive if data is waiting,
  // DoClose if the peer closed, else DoTimeOut after timeout_ms (or DoReceive/DoClose if that
  // comes first); returns true. Blocking: waits; true when data is waiting, false on peer
  // close or timeout.
  bool select(int64_t timeout_ms, bool blocking);
  // FIN after the queued data (the stack frees the connection later). True if the record is
  // freed now; false if its service frees it, with its handle, after the current callback.
  bool close();
  // TCP options; a listener passes them to what it accepts. Errors: kNotConnected (neither
  // listening nor connected), kInvalidArgument (keep-alive: a negative value, or an interval
  // or count of 0 with idle_ms > 0).
  klib::Status set_nagle(bool on);
  klib::Status set_keepalive(int64_t idle_ms, int64_t interval_ms, int64_t count);

  // A connection's addresses (nullptr: not connected).
  const tcp::Endpoints* endpoints() const { return conn_ == nullptr ? nullptr : &conn_->conn.endpoints(); }
  void* handle() const { return handle_; }

 private:
  friend class Service;
  template <class Up>
  static StreamSocket* wrap(tcp::Socket* c, Sockets* here, bool blocking);
  klib::Status can_open(const Sockets* here, uint32_t port, bool blocking) const;
  void apply_options();
  void inherit_options(const StreamSocket& listener);
  bool finished() const;
  void plug_for(uint32_t n, bool blocking);
  static void flush_plugged(void* sockets);  // run_before_yield's work

  // Fields ordered for size: the small ones fill the bytes after Socket's kind.
  Event event_ = Event::kNone;
  bool in_service_ = false;  // in its service's client list: the dispatcher frees it
  bool closed_ = false;      // close() ran: the dispatcher frees it after the callback
  bool connecting_ = false;  // non-blocking connect: waiting for DoConnect/DoConnectFail
  bool nagle_ = false;
  Sockets* here_ = nullptr;
  tcp::Socket* conn_ = nullptr;        // a connection (accepted or connecting)
  tcp::Listener* listener_ = nullptr;  // a listening socket
  Service* service_ = nullptr;         // the service dispatching it (non-blocking sockets)
  StreamSocket* next_ = nullptr;       // in the service's client list
  void* handle_;                       // the caller's record (the API's TSocket)
  uint64_t deadline_ms_ = 0;           // Event::kWaiting: DoTimeOut then
  uint32_t keepalive_idle_ms_ = 0, keepalive_interval_ms_ = 0, keepalive_count_ = 0;
};

// A network service (toro-spec §2.9.6): the application's callbacks over the connections of
// one listening socket (and those it connects). Its thread calls start<Up>() once, then
// dispatch<Up>() passes forever.
class Service {
 public:
  // A service of `here` with the application's handler `app` (app_size bytes, copied: Up gets
  // the copy). Errors: kLimit (the core runs kMaxServices already), kNoMemory.
  static klib::Result<Service*> create(Sockets* here, const void* app, size_t app_size);
  void destroy() { kKernel.release(this); }  // one that never ran
  // On the service's thread: DoInit (whose listen() and connect() calls join this service).
  template <class Up>
  void start() {
    current_ = this;
    Up::init(app());
  }
  // One dispatcher pass: accepts what the listener has, then calls each client socket's next
  // callback. A callback moves its socket on with select() or close(); one that does neither
  // is called again next pass. Returns whether any callback ran.
  template <class Up>
  bool dispatch();
  // When the earliest DoTimeOut of its waiting sockets is due, as the last pass left them
  // (UINT64_MAX: none waits with a deadline).
  uint64_t next_deadline_ms() const { return next_deadline_ms_; }
  // The service whose DoInit or callback runs on this thread, or nullptr.
  static Service* current() { return current_; }
  Sockets* sockets() const { return here_; }

 private:
  friend class StreamSocket;
  explicit Service(Sockets* here) : here_(here) {}
  template <class Up>
  void call(Event e, StreamSocket* s);
  const void* app() const { return this + 1; }  // the handler's copy follows the record

  static inline thread_local Service* current_ = nullptr;
  Sockets* here_;
  StreamSocket* server_ = nullptr;   // the listener
  StreamSocket* clients_ = nullptr;  // accepted and connecting sockets
  uint64_t next_deadline_ms_ = UINT64_MAX;
};

// ---------------------------------------------------------------------------------------------
// Inline: the calls the API makes from one place (socket.h says why), and the templates.

namespace detail {
inline bool open_state(tcp::State s) { return s == tcp::State::kEstablished || s == tcp::State::kCloseWait; }
}  // namespace detail

// A socket, with its handle, for a connection a listener accepted (inline in both callers,
// accept() and the dispatcher: an application usually uses one of them).
template <class Up>
[[gnu::always_inline]] inline StreamSocket* StreamSocket::wrap(tcp::Socket* c, Sockets* here, bool blocking) {
  auto* s = static_cast<StreamSocket*>(create(Kind::kStream, nullptr).value_or(nullptr));
  if (s != nullptr) {
    s->conn_ = c;
    s->here_ = here;
    s->handle_ = Up::open(s, blocking);
    if (s->handle_ != nullptr) {
      c->user = s;
      return s;
    }
    kKernel.release(s);
  }
  here->tcp->release(c);  // no memory for the socket: the connection is closed
  return nullptr;
}

// What listen() and connect() need: an interface, a socket neither listening nor connected, a
// port, and a service to join when the socket does not block.
inline klib::Status StreamSocket::can_open(const Sockets* here, uint32_t port, bool blocking) const {
  if (here == nullptr) return klib::Error::kNoDevice;
  if (listener_ != nullptr || conn_ != nullptr) return klib::Error::kBusy;
  if (!valid_port(port)) return klib::Error::kInvalidArgument;
  if (!blocking && Service::current() == nullptr) return klib::Error::kNotSupported;
  return {};
}

inline klib::Status StreamSocket::listen(Sockets* here, uint32_t port, unsigned backlog, bool blocking) {
  if (const klib::Status ok = can_open(here, port, blocking); !ok) return ok;
  tcp::Listener* l = here->tcp->listen(uint16_t(port), backlog);
  if (l == nullptr) return klib::Error::kBusy;  // taken (or, rarely, no memory for the record)
  here_ = here;
  listener_ = l;
  if (!blocking) {
    service_ = Service::current();
    service_->server_ = this;
  }
  return {};
}

template <class Up>
klib::Result<StreamSocket*> StreamSocket::accept(bool blocking) {
  if (!blocking) return klib::Error::kNotSupported;
  if (listener_ == nullptr) return klib::Error::kNotConnected;
  for (;;) {
    if (tcp::Socket* c = here_->tcp->accept(listener_)) {
      if (StreamSocket* s = wrap<Up>(c, here_, true)) {
        s->inherit_options(*this);
        return s;
      }
    }
    detail::wait_for_network(here_, &listener_->events);
  }
}

inline klib::Status StreamSocket::connect(Sockets* here, Ipv4 remote, uint32_t port, bool blocking) {
  if (const klib::Status ok = can_open(here, port, blocking); !ok) return ok;
  tcp::Socket* c = here->tcp->connect(remote, uint16_t(port));
  if (c == nullptr) return klib::Error::kNoMemory;
  conn_ = c;
  here_ = here;
  c->user = this;
  if (blocking) {
    for (;;) {
      const tcp::State s = c->conn.state();
      if (detail::open_state(s)) return {};
      if (s == tcp::State::kClosed) return klib::Error::kClosed;
      detail::wait_for_network(here, &c->events);
    }
  }
  connecting_ = true;
  event_ = Event::kNone;
  service_ = Service::current();
  in_service_ = true;
  next_ = service_->clients_;
  service_->clients_ = this;
  return {};
}

inline uint32_t StreamSocket::recv(void* out, uint32_t n) {
  return conn_ == nullptr || out == nullptr ? 0 : here_->tcp->recv(conn_, static_cast<uint8_t*>(out), n);
}

inline uint32_t StreamSocket::peek(void* out, uint32_t n) const {
  return conn_ == nullptr || out == nullptr ? 0 : conn_->conn.peek(static_cast<uint8_t*>(out), n);
}

inline uint32_t StreamSocket::send(const void* data, uint32_t n, bool blocking) {
  if (conn_ == nullptr || data == nullptr) return 0;
  tcp::Tcp& tcp = *here_->tcp;
  const auto* bytes = static_cast<const uint8_t*>(data);
  // A blocking send that fits in the send buffer is held (corked) until the thread gives up the
  // CPU, closes the socket or sends on another: then what it sent leaves together, an answer
  // with its FIN in one segment. Its peer could not have answered sooner: nothing it sends back
  // is read before this core's threads yield to the packet thread.
  plug_for(n, blocking);  // held: the send below only queues (the connection is corked)
  // The segments one call lets out reach the card with one doorbell (the wait is outside it).
  auto burst = [&](uint32_t from) {
    Stack::Burst b(here_->stack);
    return tcp.send(conn_, bytes + from, n - from);
  };
  uint32_t done = burst(0);
  while (blocking && done < n && detail::open_state(conn_->conn.state())) {
    detail::wait_for_network(here_, &conn_->events);
    done += burst(done);
  }
  return done;
}

// Nothing more will be read: the peer sent FIN (and all of it was read) or the connection ended.
inline bool StreamSocket::finished() const {
  if (conn_ == nullptr) return true;
  const tcp::Connection& c = conn_->conn;
  return c.readable() == 0 && (c.peer_closed() || c.state() == tcp::State::kClosed);
}

inline bool StreamSocket::select(int64_t timeout_ms, bool blocking) {
  if (timeout_ms < 0) timeout_ms = 0;
  if (!blocking) {
    if (conn_ != nullptr && conn_->conn.readable() != 0) {
      event_ = Event::kReceive;
    } else if (finished()) {
      event_ = Event::kClose;
    } else {
      event_ = Event::kWaiting;
      deadline_ms_ = kKernel.now_ms() + uint64_t(timeout_ms);
    }
    return true;
  }
  const uint64_t deadline = kKernel.now_ms() + uint64_t(timeout_ms);
  for (;;) {
    if (conn_ != nullptr && conn_->conn.readable() != 0) return true;
    if (finished()) {
      event_ = Event::kClose;
      return false;
    }
    const uint64_t now = kKernel.now_ms();
    if (now >= deadline) return false;
    detail::wait_for_network(here_, conn_ != nullptr ? &conn_->events : nullptr, deadline - now);
  }
}

// A connection `listener` accepted takes its options.
inline void StreamSocket::inherit_options(const StreamSocket& listener) {
  nagle_ = listener.nagle_;
  keepalive_idle_ms_ = listener.keepalive_idle_ms_;
  keepalive_interval_ms_ = listener.keepalive_interval_ms_;
  keepalive_count_ = listener.keepalive_count_;
  apply_options();
}

inline klib::Status StreamSocket::set_nagle(bool on) {
  if (conn_ == nullptr && listener_ == nullptr) return klib::Error::kNotConnected;
  nagle_ = on;
  apply_options();
  return {};
}

inline klib::Status StreamSocket::set_keepalive(int64_t idle_ms, int64_t interval_ms, int64_t count) {
  if (idle_ms < 0 || interval_ms < 0 || count < 0 || (idle_ms > 0 && (interval_ms == 0 || count == 0))) {
    return klib::Error::kInvalidArgument;
  }
  if (conn_ == nullptr && listener_ == nullptr) return klib::Error::kNotConnected;
  keepalive_idle_ms_ = uint32_t(idle_ms);
  keepalive_interval_ms_ = uint32_t(interval_ms);
  keepalive_count_ = uint32_t(count);
  apply_options();
  return {};
}

inline klib::Result<Service*> Service::create(Sockets* here, const void* app, size_t app_size) {
  if (here->service_count == Sockets::kMaxServices) return klib::Error::kLimit;
  void* memory = kKernel.allocate(sizeof(Service) + app_size, 64);
  if (memory == nullptr) return klib::Error::kNoMemory;
  auto* sv = new (memory) Service(here);
  memcpy(sv + 1, app, app_size);
  return sv;
}

// Runs the application's callback for `e` (a nil callback closes the socket: nobody would ever
// move it on).
template <class Up>
void Service::call(Event e, StreamSocket* s) {
  if (!Up::call(app(), e, s->handle_)) s->close();
}

template <class Up>
bool Service::dispatch() {
  current_ = this;
  bool work = false;
  if (server_ != nullptr) {
    StreamSocket* ss = server_;
    while (tcp::Socket* c = ss->here_->tcp->accept(ss->listener_)) {
      StreamSocket* cs = StreamSocket::wrap<Up>(c, ss->here_, false);
      if (cs == nullptr) continue;
      cs->inherit_options(*ss);
      cs->service_ = this;
      cs->in_service_ = true;
      cs->event_ = Event::kAccept;
      cs->next_ = clients_;
      clients_ = cs;
    }
  }
  const uint64_t now = kKernel.now_ms();
  uint64_t next_deadline = UINT64_MAX;
  for (StreamSocket** link = &clients_; *link != nullptr;) {
    StreamSocket* cs = *link;
    if (!cs->closed_) {
      if (cs->connecting_ && cs->conn_ != nullptr) {
        const tcp::State state = cs->conn_->conn.state();
        if (detail::open_state(state)) {
          cs->connecting_ = false;
          cs->event_ = Event::kConnect;
        } else if (state == tcp::State::kClosed) {
          cs->connecting_ = false;
          cs->event_ = Event::kConnectFail;
        }
      }
      if (cs->event_ == Event::kWaiting) {
        if (cs->conn_ != nullptr && cs->conn_->conn.readable() != 0) {
          cs->event_ = Event::kReceive;
        } else if (cs->finished()) {
          cs->event_ = Event::kClose;
        } else if (now >= cs->deadline_ms_) {
          cs->event_ = Event::kTimeout;
          work = true;
          call<Up>(Event::kTimeout, cs);
        }
      }
      // The callback's sends wait until it returns (or closes): an answer and its FIN leave
      // together (Connection::set_cork).
      tcp::Socket* corked = cs->event_ != Event::kWaiting && cs->event_ != Event::kNone ? cs->conn_ : nullptr;
      if (corked != nullptr) cs->here_->tcp->set_cork(corked, true);
      const Event e = cs->event_;
      if (e == Event::kAccept || e == Event::kReceive || e == Event::kClose || e == Event::kConnect ||
          e == Event::kConnectFail) {
        work = true;
        call<Up>(e, cs);
      }
      // Still ours (close() in the callback already sent everything with the FIN).
      if (corked != nullptr && cs->conn_ == corked) cs->here_->tcp->set_cork(corked, false);
    }
    if (cs->closed_) {
      *link = cs->next_;
      Up::free(cs->handle_);
      kKernel.release(cs);
    } else {
      if (cs->event_ == Event::kWaiting && cs->deadline_ms_ < next_deadline) next_deadline = cs->deadline_ms_;
      link = &cs->next_;
    }
  }
  next_deadline_ms_ = next_deadline;
  return work;
}

}  // namespace net::socket
