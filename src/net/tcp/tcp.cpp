#include <net/tcp/isn.h>
#include <net/tcp/seq.h>
#include <net/tcp/syncookie.h>
#include <net/tcp/tcp.h>

#include <new>

namespace net::tcp {
namespace {
// How long ago `since` was. The clock is read more than once per event (a record's time may be
// a little later than the caller's `now`): that counts as no time at all, not as 584 years.
uint64_t age(uint64_t now, uint64_t since) { return now > since ? now - since : 0; }
}  // namespace

void Tcp::init(const Config& config, Ipv4 local) {
  config_ = config;
  wheel_ms_ = config_.now_us() / 1000;
  if (config_.max_orphans == 0) {
    const uint64_t m = config_.memory_limit / 1024;
    config_.max_orphans = m < 64 ? 64 : size_t(m);
  }
  local_ = local;
  pool_ = {buffer_allocate, buffer_release, this, false};
}

void Tcp::reset() {
  for (List& l : lists_) {
    while (l.head != nullptr) destroy(l.head);
  }
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

// ---------------------------------------------------------------------------------------------
// Memory: every record and buffer byte counts against the budget.

void* Tcp::charge(size_t size) {
  void* memory = used_ + footprint(size) <= config_.memory_limit ? config_.allocate(size) : nullptr;
  if (memory == nullptr) {
    ++counters_.memory_refused;
    if (!pressure_) {
      pressure_ = pool_.pressure = true;
      next_reclaim_ = 0;
      earliest_ = 0;  // the next tick() reclaims
    }
    return nullptr;
  }
  used_ += footprint(size);
  update_pressure();
  return memory;
}

void Tcp::uncharge(void* memory, size_t size) {
  config_.release(memory);
  used_ -= footprint(size);
  update_pressure();
}

// Pressure from 3/4 of the budget (or a refusal) until use is back under 1/2: a band, so the
// state does not flip at every allocation.
void Tcp::update_pressure() {
  const uint64_t limit = config_.memory_limit;
  if (!pressure_ && used_ >= limit / 4 * 3) {
    pressure_ = true;
    next_reclaim_ = 0;
    earliest_ = 0;
  } else if (pressure_ && used_ < limit / 2) {
    pressure_ = false;
  }
  pool_.pressure = pressure_;
}

uint8_t* Tcp::buffer_allocate(void* ctx, uint32_t size) {
  auto* self = static_cast<Tcp*>(ctx);
  auto* memory = static_cast<uint8_t*>(self->charge(size));
  if (memory != nullptr) self->buffer_bytes_ += self->footprint(size);
  return memory;
}

void Tcp::buffer_release(void* ctx, uint8_t* memory, uint32_t size) {
  auto* self = static_cast<Tcp*>(ctx);
  self->buffer_bytes_ -= self->footprint(size);
  self->uncharge(memory, size);
}

TcpMemory Tcp::memory() const {
  return {used_,
          config_.memory_limit,
          buffer_bytes_,
          footprint(sizeof(Socket)),
          count_,
          lists_[size_t(Socket::List::kOrphan)].count,
          lists_[size_t(Socket::List::kTimeWait)].count,
          pressure_};
}

// A connection reset to free its memory: RST to the peer, buffers freed, and the record too if
// the application does not hold it (one it holds sees the reset as an ordinary one).
void Tcp::reset_connection(Socket* s) {
  const State before = s->conn.state();
  s->conn.abort();
  s->conn.drop_buffers();
  note_state(s, before);
  schedule(s);  // no timers any more
  settle(s);
}

// Under pressure: first the TIME-WAIT records, oldest first (nothing is at stake in them: the
// peer closed its side, and RFC 1337's hazard needs an old duplicate of this very 4-tuple;
// Linux drops TIME-WAIT past tcp_max_tw_buckets the same way); then the orphans (nobody reads
// them), oldest first, those whose data the peer has all acknowledged before those still
// delivering (among them the shut-window ones that pin their unsent answers); then connections
// the application holds that have been idle for kIdleReclaimUs, least recently active first.
// Until use is under half the budget, or nothing is left to take.
void Tcp::reclaim(uint64_t now) {
  const uint64_t target = config_.memory_limit / 2 < used_ / 2 ? config_.memory_limit / 2 : used_ / 2;
  List& tw = list_of(Socket::List::kTimeWait);
  while (used_ > target && tw.head != nullptr) {
    ++counters_.reclaimed_time_wait;
    destroy(tw.head);
  }
  List& orphans = list_of(Socket::List::kOrphan);
  for (Socket* s = orphans.head; s != nullptr && used_ > target;) {
    Socket* next = s->next;
    if (s->conn.queued() == 0) {
      ++counters_.reclaimed_orphans;
      reset_connection(s);
    }
    s = next;
  }
  while (used_ > target && orphans.head != nullptr) {
    ++counters_.reclaimed_orphans;
    reset_connection(orphans.head);
  }
  List& active = list_of(Socket::List::kActive);
  for (Socket* s = active.head; s != nullptr && used_ > target;) {
    if (age(now, s->since) < kIdleReclaimUs) break;  // the rest were active more recently
    Socket* next = s->next;
    if (s->conn.state() != State::kClosed) {
      ++counters_.reclaimed_idle;
      reset_connection(s);
    } else if (s->conn.buffer_bytes() != 0) {
      s->conn.drop_buffers();  // ended, not yet released: nothing more to read that matters
    }
    s = next;
  }
  update_pressure();
}

// Orphans past their lifetime, and the oldest ones past max_orphans, are reset.
void Tcp::expire_orphans(uint64_t now) {
  List& orphans = list_of(Socket::List::kOrphan);
  while (orphans.head != nullptr &&
         (orphans.count > config_.max_orphans || age(now, orphans.head->since) >= kOrphanLifetimeUs)) {
    ++counters_.orphans_expired;
    reset_connection(orphans.head);
  }
}

// ---------------------------------------------------------------------------------------------

size_t Tcp::bucket(Ipv4 remote, uint16_t remote_port, uint16_t local_port) const {
  // Keyed (the ISN secret), so a peer cannot aim all its connections at one bucket.
  uint64_t h = (uint64_t(remote.value) << 32 | uint32_t(remote_port) << 16 | local_port) ^ config_.isn_key.k0;
  h *= 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  return size_t(h >> 54) % kBuckets;  // the top 10 bits
}

Socket* Tcp::create(const Endpoints& e) {
  // New connections stop at 7/8 of the budget: the last eighth is for the data of those that
  // exist (a connection refused now retries; one whose request found no memory stalls).
  if (used_ + footprint(sizeof(Socket)) > config_.memory_limit / 8 * 7) {
    ++counters_.memory_refused;
    if (!pressure_) {
      pressure_ = pool_.pressure = true;
      next_reclaim_ = 0;
      earliest_ = 0;
    }
    return nullptr;
  }
  void* memory = charge(sizeof(Socket));
  if (memory == nullptr) return nullptr;
  auto* s = new (memory) Socket();
  s->conn.init(e, &pool_, config_.rx_buffer, config_.tx_buffer, {output, this});
  append(s, Socket::List::kActive, config_.now_us());
  Socket*& b = buckets_[bucket(e.remote, e.remote_port, e.local_port)];
  s->hash_next = b;
  b = s;
  ++count_;
  ++counters_.connections_opened;
  return s;
}

void Tcp::unlink(Socket* s) {
  List& l = list_of(s->list);
  (s->prev != nullptr ? s->prev->next : l.head) = s->next;
  (s->next != nullptr ? s->next->prev : l.tail) = s->prev;
  s->next = s->prev = nullptr;
  --l.count;
}

void Tcp::append(Socket* s, Socket::List which, uint64_t since) {
  List& l = list_of(which);
  s->list = which;
  s->since = since;
  s->next = nullptr;
  s->prev = l.tail;
  (l.tail != nullptr ? l.tail->next : l.head) = s;
  l.tail = s;
  ++l.count;
}

void Tcp::touch(Socket* s, uint64_t now) {
  if (s->list != Socket::List::kActive) return;
  if (s != list_of(Socket::List::kActive).tail) {
    unlink(s);
    append(s, Socket::List::kActive, now);
  } else {
    s->since = now;
  }
}

void Tcp::destroy(Socket* s) {
  if (s->listener != nullptr) unqueue(s->listener, s);
  unlink(s);
  const Endpoints& e = s->conn.endpoints();
  for (Socket** p = &buckets_[bucket(e.remote, e.remote_port, e.local_port)]; *p != nullptr; p = &(*p)->hash_next) {
    if (*p == s) {
      *p = s->hash_next;
      break;
    }
  }
  --count_;
  ++counters_.connections_closed;
  unschedule(s);
  s->conn.drop_buffers();
  s->~Socket();
  uncharge(s, sizeof(Socket));
}

// Once the application let go of `s`: freed when CLOSED; in TIME-WAIT, its buffers freed and
// the record kept in the TIME-WAIT list until 2*MSL has passed; otherwise an orphan.
void Tcp::settle(Socket* s) {
  if (!s->released) return;
  const State state = s->conn.state();
  if (state == State::kClosed) {
    destroy(s);
  } else if (state == State::kTimeWait) {
    if (s->list == Socket::List::kTimeWait) return;
    unlink(s);
    unschedule(s);  // expires from the TIME-WAIT list instead
    s->conn.drop_buffers();
    append(s, Socket::List::kTimeWait, s->conn.time_wait_since());
  } else if (s->list == Socket::List::kActive) {
    unlink(s);
    append(s, Socket::List::kOrphan, config_.now_us());
  }
}

// Takes `s` out of `l`'s accept queue if it is there.
void Tcp::unqueue(Listener* l, Socket* s) {
  Socket* prev = nullptr;
  for (Socket* q = l->ready_head; q != nullptr; prev = q, q = q->ready_next) {
    if (q != s) continue;
    (prev != nullptr ? prev->ready_next : l->ready_head) = s->ready_next;
    if (l->ready_tail == s) l->ready_tail = prev;
    s->ready_next = nullptr;
    --l->ready;
    return;
  }
}

Socket* Tcp::find(Ipv4 remote, uint16_t remote_port, uint16_t local_port) const {
  for (Socket* s = buckets_[bucket(remote, remote_port, local_port)]; s != nullptr; s = s->hash_next) {
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

// Keeps a listener's counts and accept queue in step with its connections' states. Every input,
// timer and reset of a socket passes here: its event count moves.
void Tcp::note_state(Socket* s, State before) {
  ++s->events;
  const State after = s->conn.state();
  if (before == after || s->listener == nullptr || s->accepted) return;
  Listener* l = s->listener;
  if (before == State::kSynReceived) --l->half_open;
  if (before == State::kSynReceived && after != State::kClosed) {
    enqueue(l, s);  // handshake done: waits for accept() (even if the peer already sent FIN)
  } else if (after == State::kClosed) {
    if (before != State::kSynReceived) unqueue(l, s);
    s->listener = nullptr;  // failed before anyone took it: nobody will release it
    s->released = true;
  }
}

void Tcp::enqueue(Listener* l, Socket* s) {
  s->ready_next = nullptr;
  (l->ready_tail != nullptr ? l->ready_tail->ready_next : l->ready_head) = s;
  l->ready_tail = s;
  ++l->ready;
  ++l->events;
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
  for (Socket* s = list_of(Socket::List::kActive).head; s != nullptr;) {
    Socket* next = s->next;
    if (s->listener == l && !s->accepted) {
      s->conn.abort();
      unqueue(l, s);
      s->listener = nullptr;
      s->released = true;
      settle(s);
    }
    s = next;
  }
  for (Listener** p = &listeners_; *p != nullptr; p = &(*p)->next) {
    if (*p == l) {
      *p = l->next;
      break;
    }
  }
  l->~Listener();
  config_.release(l);
}

Socket* Tcp::accept(Listener* l) {
  Socket* s = l->ready_head;
  if (s == nullptr) return nullptr;
  l->ready_head = s->ready_next;
  if (l->ready_tail == s) l->ready_tail = nullptr;
  s->ready_next = nullptr;
  --l->ready;
  s->accepted = true;
  s->listener = nullptr;
  return s;
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
  schedule(s);
  return s;
}

void Tcp::release(Socket* s) {
  const uint64_t now = config_.now_us();
  s->released = true;
  s->conn.orphan(now);
  s->conn.close(now);
  if (s->conn.state() == State::kSynReceived) s->conn.abort();
  schedule(s);
  settle(s);
  expire_orphans(now);  // past max_orphans, the oldest goes
  note_orphan_deadline();
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
  // RFC 1122 §4.2.2.13: a SYN beyond what the old connection used may reopen a 4-tuple in
  // TIME-WAIT. Peers reuse ports quickly (QEMU's user networking keeps the host's port, and a
  // load generator cycles through its 28 000 ports in seconds), and waiting out 2*MSL would
  // stall the new connection for a minute. The sequence test alone fails half the time once
  // the peer's ISNs have wrapped (RFC 6191 settles it with timestamps, which we do not
  // negotiate), so a SYN also reopens a TIME-WAIT that has been quiet for kTimeWaitReuseUs:
  // an old duplicate still in flight a second after the close is not plausible on the
  // virtual networks this kernel serves, and the cost of being wrong is a segment of the old
  // connection landing in the new one's window (odds about window / 2^32).
  bool reopened = false;
  if (s != nullptr && s->conn.state() == State::kTimeWait && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst) &&
      (seq_gt(seg.seq, s->conn.rcv_nxt()) || age(now, s->conn.time_wait_since()) >= kTimeWaitReuseUs) &&
      find_listener(seg.dst_port) != nullptr) {
    s->conn.abort();  // silently: TIME-WAIT sends nothing on abort
    settle(s);
    s = nullptr;
    reopened = true;
  }
  if (s != nullptr) {
    const State before = s->conn.state();
    touch(s, now);
    s->conn.input(seg, now);
    note_state(s, before);
    schedule(s);
    settle(s);
    return;
  }
  Listener* l = find_listener(seg.dst_port);
  if (l != nullptr && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst)) {
    if (l->ready >= l->backlog) {
      ++counters_.syn_dropped_backlog;  // the peer will retry; the listener stays bounded
      return;
    }
    // Under memory pressure a SYN costs nothing either: the cookie's ACK creates the
    // connection if there is memory for it then. A SYN that reopened a TIME-WAIT takes a
    // record even past the SYN queue (it replaces the TIME-WAIT record, so at most that many
    // more): segments of the old connection may still come, and with a record they get an
    // ACK, without one a RST carrying the old connection's numbers. QEMU's user networking
    // (libslirp) sends them: when the host reuses a port at once, its socket of the old
    // connection can miss our last ACK (it goes to its newer socket for the same 4-tuple) and
    // retransmits its FIN seconds later; and it acts on a RST whose sequence number lies
    // anywhere below its window's right edge (not only at RCV.NXT), so ours would end its new
    // connection on that 4-tuple, whose client gets no answer.
    if ((l->half_open >= config_.syn_queue && !reopened) || pressure_) {
      send_cookie(l, src, seg, now);
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
    schedule(s);
    return;
  }
  if (l != nullptr && seg.has(kAck) && !seg.has(kSyn) && !seg.has(kRst) && now < l->cookies_until &&
      accept_cookie(l, src, seg, now)) {
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

// The SYN,ACK of a full SYN queue: its sequence number is the cookie, nothing is kept.
void Tcp::send_cookie(Listener* l, Ipv4 remote, const Segment& syn, uint64_t now) {
  Segment out;
  out.src_port = syn.dst_port;
  out.dst_port = syn.src_port;
  out.seq = syncookie::make(config_.isn_key, now, local_, syn.dst_port, remote, syn.src_port, syn.seq, syn.mss);
  out.ack = syn.seq + 1;
  out.flags = kSyn | kAck;
  out.window = uint16_t(config_.rx_buffer > 0xFFFF ? 0xFFFF : config_.rx_buffer);  // unscaled
  out.mss = Connection::kOurMss;
  l->cookies_until = now + (syncookie::kMaxAge + 1) * syncookie::kPeriodUs;
  ++counters_.syn_cookies_sent;
  ++counters_.segments_out;
  config_.send(config_.ctx, remote, out);
}

// An ACK for a listener without a connection: if it returns a valid cookie, the connection
// opens ESTABLISHED and takes what the segment carries. False: not a cookie (a RST follows).
bool Tcp::accept_cookie(Listener* l, Ipv4 remote, const Segment& ack, uint64_t now) {
  const uint16_t mss =
      syncookie::check(config_.isn_key, now, local_, ack.dst_port, remote, ack.src_port, ack.seq - 1, ack.ack - 1);
  if (mss == 0) return false;
  if (l->ready >= l->backlog) {
    ++counters_.syn_dropped_backlog;  // as Linux: ignored, the peer's retransmission retries
    return true;
  }
  Socket* s = create({local_, remote, ack.dst_port, ack.src_port});
  if (s == nullptr) {
    ++counters_.syn_dropped_memory;
    return true;
  }
  ++counters_.syn_cookies_accepted;
  s->listener = l;
  enqueue(l, s);
  s->conn.accept_cookie(ack, mss, now);
  const State before = s->conn.state();
  s->conn.input(ack, now);
  note_state(s, before);
  schedule(s);
  settle(s);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Timers.

void Tcp::unschedule(Socket* s) {
  if (s->timer_prev == nullptr) return;
  *s->timer_prev = s->timer_next;
  if (s->timer_next != nullptr) s->timer_next->timer_prev = s->timer_prev;
  const size_t slot = size_t(s->timer_at / 1000) % kWheelSlots;
  if (wheel_[slot] == nullptr) wheel_bits_[slot / 64] &= ~(uint64_t(1) << (slot % 64));
  s->timer_next = nullptr;
  s->timer_prev = nullptr;
}

void Tcp::schedule(Socket* s) {
  const uint64_t d = s->list == Socket::List::kTimeWait ? UINT64_MAX : s->conn.deadline();
  if (s->timer_prev != nullptr && s->timer_at == d) return;
  unschedule(s);
  if (d == UINT64_MAX) return;
  // A deadline whose slot was already visited goes in the next one to be (it is due now).
  const uint64_t ms = d / 1000 > wheel_ms_ ? d / 1000 : wheel_ms_ + 1;
  const size_t slot = size_t(ms) % kWheelSlots;
  s->timer_at = ms == d / 1000 ? d : ms * 1000;
  s->timer_next = wheel_[slot];
  if (s->timer_next != nullptr) s->timer_next->timer_prev = &s->timer_next;
  s->timer_prev = &wheel_[slot];
  wheel_[slot] = s;
  wheel_bits_[slot / 64] |= uint64_t(1) << (slot % 64);
  if (s->timer_at < earliest_) earliest_ = s->timer_at;
}

// The slots from wheel_ms_ + 1 to now (each at most once, however long since the last tick):
// the connections in them that are due run their timers; the others (a lap or more ahead)
// stay, and every one is filed again under its deadline as it is now.
void Tcp::run_timers(uint64_t now) {
  const uint64_t now_ms = now / 1000;
  if (now_ms <= wheel_ms_) return;
  uint64_t from = wheel_ms_ + 1;
  if (now_ms >= kWheelSlots && from < now_ms - kWheelSlots + 1) from = now_ms - kWheelSlots + 1;
  // From here on, what is filed again (or anew) goes after now: a timer still due lands in the
  // next slot and runs at the next tick, a millisecond on.
  wheel_ms_ = now_ms;
  for (uint64_t ms = from; ms <= now_ms; ++ms) {
    const size_t slot = size_t(ms) % kWheelSlots;
    if ((wheel_bits_[slot / 64] & (uint64_t(1) << (slot % 64))) == 0) continue;
    Socket* s = wheel_[slot];
    wheel_[slot] = nullptr;
    wheel_bits_[slot / 64] &= ~(uint64_t(1) << (slot % 64));
    while (s != nullptr) {
      Socket* next = s->timer_next;
      s->timer_next = nullptr;
      s->timer_prev = nullptr;
      if (s->conn.deadline() <= now) {
        const State before = s->conn.state();
        s->conn.timer(now);
        note_state(s, before);
        if (s->released && s->conn.state() == State::kClosed) {
          destroy(s);
          s = next;
          continue;
        }
      }
      schedule(s);
      s = next;
    }
  }
}

// When the first non-empty slot after now comes (a lower bound: its connections may be a lap
// or more ahead, and then tick() merely finds nothing due).
uint64_t Tcp::next_wheel_deadline() const {
  constexpr size_t kWords = kWheelSlots / 64;
  const size_t start = size_t(wheel_ms_ + 1) % kWheelSlots;
  for (size_t i = 0; i <= kWords; ++i) {
    const size_t word = (start / 64 + i) % kWords;
    uint64_t bits = wheel_bits_[word];
    if (i == 0) bits &= ~uint64_t(0) << (start % 64);            // from `start` on
    if (i == kWords) bits &= (uint64_t(1) << (start % 64)) - 1;  // the wrapped-around rest
    if (bits == 0) continue;
    const size_t slot = word * 64 + size_t(__builtin_ctzll(bits));
    const uint64_t ahead = (slot + kWheelSlots - start) % kWheelSlots;
    return (wheel_ms_ + 1 + ahead) * 1000;
  }
  return UINT64_MAX;
}

bool Tcp::timers_consistent() const {
  constexpr Socket::List kTimed[] = {Socket::List::kActive, Socket::List::kOrphan};
  for (Socket::List which : kTimed) {
    for (const Socket* s = lists_[size_t(which)].head; s != nullptr; s = s->next) {
      const uint64_t d = s->conn.deadline();
      if (d == UINT64_MAX ? s->timer_prev != nullptr
                          : s->timer_prev == nullptr || (s->timer_at != d && s->timer_at / 1000 != wheel_ms_ + 1)) {
        return false;
      }
    }
  }
  for (const Socket* s = lists_[size_t(Socket::List::kTimeWait)].head; s != nullptr; s = s->next) {
    if (s->timer_prev != nullptr) return false;
  }
  return true;
}

void Tcp::note_orphan_deadline() {
  const Socket* oldest = lists_[size_t(Socket::List::kOrphan)].head;
  if (oldest != nullptr && oldest->since + kOrphanLifetimeUs < earliest_) earliest_ = oldest->since + kOrphanLifetimeUs;
}

void Tcp::tick() {
  const uint64_t now = config_.now_us();
  earliest_ = UINT64_MAX;
  if (pressure_ && now >= next_reclaim_) {
    reclaim(now);
    next_reclaim_ = now + kReclaimIntervalUs;
  }
  expire_orphans(now);
  run_timers(now);
  // TIME-WAIT records in the order they entered it, so the oldest are at the head. One whose
  // 2*MSL a retransmitted FIN restarted since goes to the back when its first term is up, so it
  // does not hold up the expiry of those behind it.
  List& tw = list_of(Socket::List::kTimeWait);
  while (tw.head != nullptr && tw.head->since + kTimeWaitUs <= now) {
    Socket* s = tw.head;
    s->conn.timer(now);
    if (s->conn.state() == State::kClosed) {
      destroy(s);
    } else {
      unlink(s);
      append(s, Socket::List::kTimeWait, s->conn.time_wait_since());
    }
  }
  if (tw.head != nullptr && tw.head->since + kTimeWaitUs < earliest_) earliest_ = tw.head->since + kTimeWaitUs;
  const uint64_t wheel = next_wheel_deadline();
  if (wheel < earliest_) earliest_ = wheel;
  note_orphan_deadline();
  if (pressure_ && next_reclaim_ < earliest_) earliest_ = next_reclaim_;
}

}  // namespace net::tcp
