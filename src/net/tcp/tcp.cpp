#include <net/tcp/isn.h>
#include <net/tcp/seq.h>
#include <net/tcp/tcp.h>

#include <new>

namespace net::tcp {

void Tcp::init(const Config& config, Ipv4 local) {
  config_ = config;
  local_ = local;
}

void Tcp::reset() {
  while (sockets_ != nullptr) destroy(sockets_);
  while (listeners_ != nullptr) {
    Listener* l = listeners_;
    listeners_ = l->next;
    l->~Listener();
    config_.release(l);
  }
}

bool Tcp::output(void* ctx, const Connection& c, const Segment& s) {
  auto* self = static_cast<Tcp*>(ctx);
  ++self->counters_.segments_out;
  return self->config_.send(self->config_.ctx, c.endpoints().remote, s);
}

Socket* Tcp::create(const Endpoints& e) {
  const size_t size = sizeof(Socket) + config_.rx_buffer + config_.tx_buffer;
  void* memory = config_.allocate(size);
  if (memory == nullptr) return nullptr;
  auto* s = new (memory) Socket();
  uint8_t* rx = static_cast<uint8_t*>(memory) + sizeof(Socket);
  s->conn.init(e, rx, config_.rx_buffer, rx + config_.rx_buffer, config_.tx_buffer, {output, this});
  s->next = sockets_;
  sockets_ = s;
  ++count_;
  ++counters_.connections_opened;
  return s;
}

void Tcp::destroy(Socket* s) {
  for (Socket** p = &sockets_; *p != nullptr; p = &(*p)->next) {
    if (*p == s) {
      *p = s->next;
      break;
    }
  }
  --count_;
  ++counters_.connections_closed;
  s->~Socket();
  config_.release(s);
}

// Frees the records nobody holds any more: released by the application (or never accepted
// and failed) and CLOSED.
void Tcp::reap() {
  Socket* s = sockets_;
  while (s != nullptr) {
    Socket* next = s->next;
    if (s->released && s->conn.state() == State::kClosed) destroy(s);
    s = next;
  }
}

Socket* Tcp::find(Ipv4 remote, uint16_t remote_port, uint16_t local_port) const {
  for (Socket* s = sockets_; s != nullptr; s = s->next) {
    const Endpoints& e = s->conn.endpoints();
    if (e.remote_port == remote_port && e.local_port == local_port && e.remote == remote &&
        s->conn.state() != State::kClosed) {
      return s;
    }
  }
  return nullptr;
}

Listener* Tcp::find_listener(uint16_t port) const {
  for (Listener* l = listeners_; l != nullptr; l = l->next) {
    if (l->port == port) return l;
  }
  return nullptr;
}

bool Tcp::accept_queue_full() const {
  for (Listener* l = listeners_; l != nullptr; l = l->next) {
    if (l->ready >= l->backlog) return true;
  }
  return false;
}

// Keeps a listener's counts in step with its connections' states.
void Tcp::note_state(Socket* s, State before) {
  const State after = s->conn.state();
  if (before == after || s->listener == nullptr || s->accepted) return;
  Listener* l = s->listener;
  if (before == State::kSynReceived) --l->half_open;
  if (before == State::kSynReceived && after != State::kClosed) {
    ++l->ready;  // handshake done: waits for accept() (even if the peer already sent FIN)
  } else if (after == State::kClosed) {
    if (before != State::kSynReceived) --l->ready;
    s->listener = nullptr;  // failed before anyone took it: nobody will release it
    s->released = true;
  }
}

Listener* Tcp::listen(uint16_t port, unsigned backlog) {
  if (port == 0 || find_listener(port) != nullptr) return nullptr;
  void* memory = config_.allocate(sizeof(Listener));
  if (memory == nullptr) return nullptr;
  auto* l = new (memory) Listener();
  l->port = port;
  l->backlog = backlog == 0 ? 1 : backlog;
  l->next = listeners_;
  listeners_ = l;
  return l;
}

void Tcp::unlisten(Listener* l) {
  for (Socket* s = sockets_; s != nullptr; s = s->next) {
    if (s->listener == l && !s->accepted) {
      s->conn.abort();
      s->listener = nullptr;
      s->released = true;
    }
  }
  for (Listener** p = &listeners_; *p != nullptr; p = &(*p)->next) {
    if (*p == l) {
      *p = l->next;
      break;
    }
  }
  l->~Listener();
  config_.release(l);
  reap();
}

Socket* Tcp::accept(Listener* l) {
  Socket* oldest = nullptr;  // the list is newest first: the last match waited longest
  for (Socket* s = sockets_; s != nullptr; s = s->next) {
    if (s->listener == l && !s->accepted && s->conn.state() != State::kSynReceived) oldest = s;
  }
  if (oldest != nullptr) {
    oldest->accepted = true;
    oldest->listener = nullptr;
    --l->ready;
  }
  return oldest;
}

uint16_t Tcp::ephemeral_port(Ipv4 remote, uint16_t remote_port) {
  for (unsigned tries = 0; tries < 16384; ++tries) {
    const uint16_t port = next_port_;
    next_port_ = next_port_ == 65535 ? 49152 : uint16_t(next_port_ + 1);
    if (find(remote, remote_port, port) == nullptr && find_listener(port) == nullptr) return port;
  }
  return 0;
}

Socket* Tcp::connect(Ipv4 remote, uint16_t remote_port) {
  const uint16_t port = ephemeral_port(remote, remote_port);
  if (port == 0) return nullptr;
  Socket* s = create({local_, remote, port, remote_port});
  if (s == nullptr) return nullptr;
  s->accepted = true;
  const uint64_t now = config_.now_us();
  s->conn.connect(initial_sequence(config_.isn_key, now, local_, port, remote, remote_port), now);
  return s;
}

void Tcp::release(Socket* s) {
  s->released = true;
  s->conn.close(config_.now_us());
  if (s->conn.state() == State::kSynReceived) s->conn.abort();
  reap();
}

void Tcp::receive(Ipv4 src, Ipv4 dst, const uint8_t* data, size_t length) {
  ++counters_.segments_in;
  Segment seg;
  if (parse(src, dst, data, length, &seg) != ParseResult::kOk) {
    ++counters_.bad_segments;
    return;
  }
  const uint64_t now = config_.now_us();
  Socket* s = find(src, seg.src_port, seg.dst_port);
  // RFC 1122 §4.2.2.13 (and RFC 6191): a SYN beyond what the old connection used may reopen a
  // 4-tuple in TIME-WAIT. Peers reuse ports quickly (QEMU's user networking keeps the host's
  // port), and waiting out 2*MSL would stall the new connection for a minute.
  if (s != nullptr && s->conn.state() == State::kTimeWait && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst) &&
      seq_gt(seg.seq, s->conn.rcv_nxt()) && find_listener(seg.dst_port) != nullptr) {
    s->conn.abort();  // silently: TIME-WAIT sends nothing on abort
    reap();
    s = nullptr;
  }
  if (s != nullptr) {
    const State before = s->conn.state();
    s->conn.input(seg, now);
    note_state(s, before);
    reap();
    return;
  }
  Listener* l = find_listener(seg.dst_port);
  if (l != nullptr && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst)) {
    if (l->half_open >= config_.syn_queue || l->ready >= l->backlog) {
      ++counters_.syn_dropped_backlog;  // the peer will retry; the listener stays bounded
      return;
    }
    Socket* s = create({dst, src, seg.dst_port, seg.src_port});
    if (s == nullptr) {
      ++counters_.syn_dropped_memory;
      return;
    }
    s->listener = l;
    ++l->half_open;
    s->conn.accept_syn(seg, initial_sequence(config_.isn_key, now, dst, seg.dst_port, src, seg.src_port), now);
    return;
  }
  // No connection (CLOSED) or an ACK/RST to a listener: §3.10.7.1–2, a RST unless it is one.
  Segment reset;
  if (reset_for(seg, &reset)) {
    ++counters_.resets_sent;
    ++counters_.segments_out;
    config_.send(config_.ctx, src, reset);
  }
}

void Tcp::tick() {
  const uint64_t now = config_.now_us();
  for (Socket* s = sockets_; s != nullptr; s = s->next) {
    if (s->conn.deadline() <= now) {
      const State before = s->conn.state();
      s->conn.timer(now);
      note_state(s, before);
    }
  }
  reap();
}

uint64_t Tcp::next_deadline() const {
  uint64_t d = UINT64_MAX;
  for (Socket* s = sockets_; s != nullptr; s = s->next) {
    const uint64_t t = s->conn.deadline();
    if (t < d) d = t;
  }
  return d;
}

}  // namespace net::tcp
