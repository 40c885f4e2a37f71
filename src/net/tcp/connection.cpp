#include <net/tcp/connection.h>
#include <net/tcp/seq.h>

namespace net::tcp {
namespace {
constexpr uint32_t min3(uint32_t a, uint32_t b, uint32_t c) {
  const uint32_t ab = a < b ? a : b;
  return ab < c ? ab : c;
}
}  // namespace

const char* state_name(State s) {
  static const char* const kNames[] = {"CLOSED",      "LISTEN",     "SYN-SENT",   "SYN-RECEIVED",
                                       "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                       "CLOSING",     "LAST-ACK",   "TIME-WAIT"};
  return kNames[int(s)];
}

void Connection::init(const Endpoints& e, BufferPool* pool, uint32_t rx_limit, uint32_t tx_limit, Output out) {
  *this = Connection{};
  ep_ = e;
  out_ = out;
  rx_.init(pool, rx_limit);
  tx_.init(pool, tx_limit);
}

bool Connection::synchronized() const {
  return state_ != State::kClosed && state_ != State::kListen && state_ != State::kSynSent &&
         state_ != State::kSynReceived;
}

uint32_t Connection::fin_at() const { return snd_una_ + (syn_acked_ ? 0 : 1) + tx_.size(); }

bool Connection::fin_in_flight() const { return close_requested_ && !fin_acked_ && seq_gt(snd_nxt_, fin_at()); }

uint32_t Connection::sent_data() const {
  return snd_nxt_ - snd_una_ - (syn_acked_ ? 0 : 1) - (fin_in_flight() ? 1 : 0);
}

// The window offered: room up to the buffer's limit. While memory is short (the pool's
// pressure) only the memory the buffer already holds is offered, or one segment if it holds
// less (so the connection still moves, as Linux clamps to a few segments), but never less than
// what is left of the window already advertised: its right edge does not move back (RFC 9293
// §3.8.6.2.1), the window only stops growing.
uint16_t Connection::advertised_window() const {
  uint32_t space = rx_.space();
  if (rx_.under_pressure()) {
    const uint32_t promised = seq_gt(rcv_adv_, rcv_nxt_) ? rcv_adv_ - rcv_nxt_ : 0;
    uint32_t offer = rx_.room() > mss_ ? rx_.room() : mss_;
    if (promised > offer) offer = promised;
    if (offer < space) space = offer;
  }
  const uint32_t w = space >> rcv_scale_;
  return uint16_t(w > 0xFFFF ? 0xFFFF : w);
}

void Connection::emit(uint8_t flags, uint32_t seq, const uint8_t* payload, uint32_t length) {
  Segment s;
  s.src_port = ep_.local_port;
  s.dst_port = ep_.remote_port;
  s.seq = seq;
  s.flags = flags;
  if (flags & kAck) {
    s.ack = rcv_nxt_;
    ack_pending_ = 0;
    delack_at_ = 0;
  }
  if (flags & kSyn) {
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    s.window = uint16_t(rx_.space() > 0xFFFF ? 0xFFFF : rx_.space());
    s.mss = kOurMss;
    if (state_ == State::kSynSent || wscale_ok_) s.window_scale = int8_t(kOurWindowScale);
  } else {
    s.window = advertised_window();
  }
  last_advertised_ = uint32_t(s.window) << ((flags & kSyn) ? 0 : rcv_scale_);
  if (flags & kAck) rcv_adv_ = seq_max(rcv_adv_, rcv_nxt_ + last_advertised_);
  s.payload = payload;
  s.payload_length = length;
  if (out_.send != nullptr) out_.send(out_.ctx, *this, s);
}

void Connection::emit_for(const Segment& in, uint8_t flags) {
  Segment s;
  s.src_port = ep_.local_port;
  s.dst_port = ep_.remote_port;
  s.seq = in.ack;
  s.ack = in.seq + in.seg_len();
  s.flags = flags;
  s.window = advertised_window();
  if (out_.send != nullptr) out_.send(out_.ctx, *this, s);
}

void Connection::send_syn() { emit(state_ == State::kSynSent ? kSyn : kSyn | kAck, iss_, nullptr, 0); }

void Connection::take_options(const Segment& syn) {
  // RFC 9293 §3.7.1: without the option the peer takes 536; never more than we can carry.
  // A tiny MSS would let a peer make us send a segment per byte: 64 is the floor.
  uint16_t mss = syn.mss != 0 ? syn.mss : kDefaultMss;
  mss_ = mss > kOurMss ? kOurMss : mss < 64 ? 64 : mss;
  // RFC 7323 §2.2: scaling is on only when both SYNs carry the option.
  wscale_ok_ = syn.window_scale >= 0;
  snd_scale_ = wscale_ok_ ? uint8_t(syn.window_scale) : 0;
  rcv_scale_ = wscale_ok_ ? kOurWindowScale : 0;
  // RFC 6928: an initial window of ten segments.
  cwnd_ = 10u * mss_;
}

void Connection::orphan(uint64_t now) {
  orphaned_ = true;
  // Nobody will read what has arrived or arrives from now on: it is acknowledged and dropped
  // (the peer's close completes) and the receive buffer's memory goes back at once.
  rx_.consume(rx_.size());
  ooo_count_ = 0;
  rx_.release_if_empty();
  if (state_ == State::kFinWait2) fin_wait2_until_ = now + kFinWait2Timeout;
}

void Connection::become(State s, uint64_t now) {
  state_ = s;
  if (s == State::kEstablished) established_once_ = true;
  if (s == State::kFinWait2 && orphaned_) fin_wait2_until_ = now + kFinWait2Timeout;
  if (s == State::kTimeWait) {
    time_wait_until_ = now + 2 * kMsl;  // RFC 9293 §3.10.7.4: the 2 MSL timer
    rto_at_ = delack_at_ = 0;
  }
  if (s == State::kClosed) rto_at_ = delack_at_ = time_wait_until_ = 0;
}

void Connection::fail(Error e) {
  error_ = e;
  become(State::kClosed, 0);
}

// Both opens: our SYN (or SYN,ACK) on `isn`, its retransmission timer, and its round trip timed.
void Connection::send_first_syn(State state, uint32_t isn, uint64_t now) {
  iss_ = snd_una_ = isn;
  snd_nxt_ = snd_max_ = isn + 1;
  state_ = state;
  send_syn();
  arm_rto(now);
  timing_ = true;
  timed_seq_ = snd_nxt_;
  timed_at_ = now;
}

void Connection::connect(uint32_t isn, uint64_t now) { send_first_syn(State::kSynSent, isn, now); }

void Connection::accept_syn(const Segment& syn, uint32_t isn, uint64_t now) {
  irs_ = syn.seq;
  rcv_nxt_ = rcv_adv_ = syn.seq + 1;
  take_options(syn);
  snd_wnd_ = syn.window;
  snd_wl1_ = syn.seq;
  snd_wl2_ = 0;
  send_first_syn(State::kSynReceived, isn, now);
}

void Connection::accept_cookie(const Segment& ack, uint16_t mss, uint64_t now) {
  irs_ = ack.seq - 1;
  rcv_nxt_ = rcv_adv_ = ack.seq;
  Segment syn;  // what the cookie kept of the peer's SYN
  syn.mss = mss;
  take_options(syn);
  iss_ = ack.ack - 1;
  snd_una_ = snd_nxt_ = snd_max_ = ack.ack;
  syn_acked_ = true;
  snd_wnd_ = ack.window;
  snd_wl1_ = ack.seq;
  snd_wl2_ = ack.ack;
  become(State::kEstablished, now);
}

// RFC 9293 §3.10.7.3: SEGMENT ARRIVES in SYN-SENT.
void Connection::input_syn_sent(const Segment& s, uint64_t now) {
  if (s.has(kAck) && (seq_le(s.ack, iss_) || seq_gt(s.ack, snd_max_))) {
    if (!s.has(kRst)) emit(kRst, s.ack, nullptr, 0);
    return;
  }
  if (s.has(kRst)) {
    if (s.has(kAck)) fail(Error::kRefused);  // an acceptable ACK: the peer refused
    return;
  }
  if (!s.has(kSyn)) return;
  irs_ = s.seq;
  rcv_nxt_ = rcv_adv_ = s.seq + 1;
  take_options(s);
  if (s.has(kAck)) {
    snd_una_ = s.ack;
    syn_acked_ = true;
    if (timing_) rtt_.sample(now - timed_at_);
    timing_ = false;
    retries_ = 0;
    snd_wnd_ = s.window;  // unscaled in a SYN
    snd_wl1_ = s.seq;
    snd_wl2_ = s.ack;
    rto_at_ = 0;
    become(State::kEstablished, now);
    send_ack();
    output(now);
  } else {
    // Simultaneous open: SYN-RECEIVED, answer with SYN,ACK on our ISS.
    become(State::kSynReceived, now);
    snd_wnd_ = s.window;
    snd_wl1_ = s.seq;
    send_syn();
  }
}

void Connection::set_keepalive(uint64_t idle, uint64_t interval, unsigned count, uint64_t now) {
  keepalive_idle_ = idle;
  keepalive_interval_ = interval;
  keepalive_count_ = count;
  keepalive_sent_ = 0;
  keepalive_at_ = idle != 0 ? now + idle : 0;
}

void Connection::input(const Segment& s, uint64_t now) {
  if (state_ == State::kClosed || state_ == State::kListen) return;  // the owner answers these
  if (keepalive_idle_ != 0) {                                        // the peer is alive: the idle time starts again
    keepalive_sent_ = 0;
    keepalive_at_ = now + keepalive_idle_;
  }
  if (state_ == State::kSynSent) {
    input_syn_sent(s, now);
    return;
  }

  // First: the sequence number (§3.10.7.4, the four cases of the acceptability test), against
  // the window we advertised even if our buffer has filled since (§3.8.6.2.1: a receiver
  // should not shrink its window). A segment without text may sit at the window's right
  // edge, as Linux and BSD accept: a peer's pure ACK with SEQ = RCV.NXT + RCV.WND is valid.
  const uint32_t wnd = receive_window();
  const uint32_t len = s.seg_len();
  bool acceptable;
  if (len == 0) {
    acceptable = s.seq == rcv_nxt_ || seq_in(s.seq, rcv_nxt_, rcv_nxt_ + wnd + 1);
  } else {
    acceptable =
        wnd != 0 && (seq_in(s.seq, rcv_nxt_, rcv_nxt_ + wnd) || seq_in(s.seq + len - 1, rcv_nxt_, rcv_nxt_ + wnd));
  }
  if (!acceptable) {
    if (s.has(kRst)) return;
    if (state_ == State::kSynReceived && s.has(kSyn) && s.seq == irs_) {
      send_syn();  // the peer retransmitted its SYN: our SYN,ACK was lost
      return;
    }
    if (state_ == State::kTimeWait && s.has(kFin)) {
      if (s.seq + uint32_t(s.payload_length) + 1 == rcv_nxt_) {
        time_wait_until_ = now + 2 * kMsl;  // the peer's FIN again (our ACK was lost): §3.10.7.4
      } else {
        // A FIN that is not this connection's: one of an earlier connection on this 4-tuple,
        // whose TIME-WAIT a SYN cut short (Tcp::receive), and whose peer never had our last
        // ACK. It gets the ACK that connection's TIME-WAIT would have sent (the numbers are
        // the segment's own), which lets the old peer close, and it neither restarts 2*MSL
        // nor counts as this connection's peer being heard from. Our ACK with this
        // connection's numbers would be unacceptable to the old peer, which answers it with
        // its FIN again: QEMU's libslirp keeps such a socket in LAST-ACK, and the two would
        // trade FIN and ACK without end, the 2*MSL restarted each time, so that a new SYN
        // whose ISN is not above this connection's could never reopen the 4-tuple.
        if (s.has(kAck)) emit_for(s, kAck);
        return;
      }
    }
    // A zero window still takes ACKs (§3.10.7.4 "special allowance"): the probe's ACK matters.
    if (wnd == 0 && s.seq == rcv_nxt_ && s.has(kAck) && synchronized()) {
      if (!process_ack(s, now)) return;
    }
    send_ack();
    return;
  }

  // Second: RST. RFC 5961 §3.2: only an exact match resets; any other in-window RST gets a
  // challenge ACK, so a blind attacker must guess the exact number.
  if (s.has(kRst)) {
    if (s.seq != rcv_nxt_) {
      send_ack();
      return;
    }
    fail(state_ == State::kSynReceived && !established_once_ ? Error::kRefused : Error::kReset);
    return;
  }

  // Fourth: a SYN in a synchronized state (RFC 5961 §4.2: challenge ACK, never a reset).
  if (s.has(kSyn)) {
    send_ack();
    return;
  }

  // Fifth: the ACK field.
  if (!s.has(kAck)) return;
  if (state_ == State::kSynReceived) {
    if (!(seq_lt(snd_una_, s.ack) && seq_le(s.ack, snd_max_))) {
      emit(kRst, s.ack, nullptr, 0);
      return;
    }
    snd_wnd_ = uint32_t(s.window) << snd_scale_;
    snd_wl1_ = s.seq;
    snd_wl2_ = s.ack;
    become(State::kEstablished, now);
    if (close_requested_) become(State::kFinWait1, now);  // closed during the handshake
  }
  if (!process_ack(s, now)) return;
  if (state_ == State::kClosed) return;

  // Seventh: the segment text, in order only.
  bool in_order = true;
  if (s.payload_length != 0 &&
      (state_ == State::kEstablished || state_ == State::kFinWait1 || state_ == State::kFinWait2)) {
    const uint32_t skip = seq_lt(s.seq, rcv_nxt_) ? rcv_nxt_ - s.seq : 0;  // already have these
    if (orphaned_ && seq_le(s.seq, rcv_nxt_)) {
      rcv_nxt_ += uint32_t(s.payload_length - (skip < s.payload_length ? skip : s.payload_length));  // dropped unread
      send_ack();
    } else if (orphaned_) {
      send_ack();  // out of order, and nobody would read it: the peer resends it in order
    } else if (seq_gt(s.seq, rcv_nxt_)) {
      // A hole before it: kept (in the buffer, past the readable part) for when the hole fills;
      // a duplicate ACK at once tells the peer (RFC 5681 §3.2: fast retransmit).
      in_order = false;
      store_out_of_order(s);
      send_ack();
    } else if (skip < s.payload_length) {
      const uint32_t took = rx_.write(s.payload + skip, uint32_t(s.payload_length - skip));
      rcv_nxt_ += took;
      if (took < s.payload_length - skip) in_order = false;  // did not fit: the rest is lost, ACK says so
      // Kept data that now follows on becomes readable; an ACK at once when a hole filled
      // (RFC 5681 §4.2), as when something was refused. Otherwise §3.8.6.3: an ACK for at
      // least every second full-sized segment, none later than 0.5 s (we wait at most 40 ms).
      const bool filled = take_out_of_order();
      if (filled && s.has(kFin)) in_order = false;  // its FIN is not next any more: the peer resends it
      if (++ack_pending_ >= 2 || !in_order || filled) {
        send_ack();
      } else if (delack_at_ == 0) {
        delack_at_ = now + kDelayedAck;
      }
    } else {
      send_ack();  // a pure duplicate
    }
  }

  // Eighth: FIN, if everything before it has arrived.
  if (s.has(kFin) && in_order && s.seq + uint32_t(s.payload_length) == rcv_nxt_) {
    switch (state_) {
      case State::kEstablished:
        rcv_nxt_ += 1;
        peer_fin_ = true;
        become(State::kCloseWait, now);
        break;
      case State::kFinWait1:
        rcv_nxt_ += 1;
        peer_fin_ = true;
        become(fin_acked_ ? State::kTimeWait : State::kClosing, now);  // simultaneous close
        break;
      case State::kFinWait2:
        rcv_nxt_ += 1;
        peer_fin_ = true;
        become(State::kTimeWait, now);
        break;
      default:
        break;  // CLOSE-WAIT, CLOSING, LAST-ACK: a FIN already counted
    }
    send_ack();
  }
  output(now);
}

// What the acceptability test allows: the space in the buffer, or the window we last
// advertised if that reaches further.
uint32_t Connection::receive_window() const {
  const uint32_t space = rx_.space();
  const uint32_t advertised = seq_gt(rcv_adv_, rcv_nxt_) ? rcv_adv_ - rcv_nxt_ : 0;
  return advertised > space ? advertised : space;
}

// Keeps the text of a segment that lies past RCV.NXT: written into rx_ where it belongs (only
// what fits the free space), and its range recorded, merged with the ranges it touches. With
// every range slot taken and no merge possible, the segment is not kept (the peer resends it).
void Connection::store_out_of_order(const Segment& s) {
  const uint32_t offset = s.seq - rcv_nxt_;
  const uint32_t n = rx_.write_at(offset, s.payload, uint32_t(s.payload_length));
  if (n == 0) return;
  uint32_t start = s.seq, end = s.seq + n;
  Range merged[kMaxRanges + 1];
  unsigned count = 0;
  bool placed = false;
  for (unsigned i = 0; i < ooo_count_; ++i) {
    const Range& r = ooo_[i];
    if (seq_lt(r.end, start)) {
      merged[count++] = r;  // entirely before
    } else if (seq_lt(end, r.start)) {
      if (!placed) merged[count++] = {start, end}, placed = true;
      merged[count++] = r;  // entirely after
    } else {
      start = seq_lt(r.start, start) ? r.start : start;  // touching or overlapping: one range
      end = seq_gt(r.end, end) ? r.end : end;
    }
  }
  if (!placed) merged[count++] = {start, end};
  if (count > kMaxRanges) return;  // no slot: the bytes stay unrecorded (harmless) and the peer resends
  for (unsigned i = 0; i < count; ++i) ooo_[i] = merged[i];
  ooo_count_ = count;
}

// After in-order text: makes kept ranges that now start at or before RCV.NXT readable and
// advances RCV.NXT over them. Returns whether any did.
bool Connection::take_out_of_order() {
  bool took = false;
  while (ooo_count_ != 0 && seq_le(ooo_[0].start, rcv_nxt_)) {
    if (seq_gt(ooo_[0].end, rcv_nxt_)) {
      const uint32_t n = ooo_[0].end - rcv_nxt_;
      rx_.commit(n);
      rcv_nxt_ += n;
      took = true;
    }
    for (unsigned i = 1; i < ooo_count_; ++i) ooo_[i - 1] = ooo_[i];
    --ooo_count_;
  }
  return took;
}

// The ACK field of an acceptable segment (§3.10.7.4 fifth check; RFC 5681 for the congestion
// window). Returns false when the segment is to be dropped.
bool Connection::process_ack(const Segment& s, uint64_t now) {
  if (seq_gt(s.ack, snd_max_)) {  // acknowledges something not yet sent
    send_ack();
    return false;
  }
  const uint32_t wnd = uint32_t(s.window) << snd_scale_;
  if (seq_gt(s.ack, snd_una_)) {
    const uint32_t fin = fin_at();
    uint32_t acked = s.ack - snd_una_;
    if (!syn_acked_) {
      syn_acked_ = true;
      --acked;
    }
    if (close_requested_ && !fin_acked_ && seq_gt(s.ack, fin)) {
      fin_acked_ = true;
      --acked;
    }
    tx_.consume(acked);
    tx_.release_if_empty();  // all acknowledged: the send buffer's memory goes back
    snd_una_ = s.ack;
    if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;  // acknowledges beyond a rewind
    retries_ = 0;
    if (timing_ && seq_ge(s.ack, timed_seq_)) {  // Karn: timing_ is off after a retransmission
      rtt_.sample(now - timed_at_);
      timing_ = false;
    }
    if (in_recovery_) {
      in_recovery_ = false;  // Reno: a new ACK ends fast recovery (RFC 5681 §3.2 step 6)
      cwnd_ = ssthresh_;
    } else if (cwnd_ < ssthresh_) {
      cwnd_ += acked < mss_ ? acked : mss_;  // slow start (§3.1, eq. 2)
    } else {
      const uint32_t inc = uint32_t(mss_) * mss_ / (cwnd_ == 0 ? 1 : cwnd_);  // congestion avoidance (eq. 3)
      cwnd_ += inc == 0 ? 1 : inc;
    }
    dupacks_ = 0;
    rto_at_ = 0;
    if (snd_una_ != snd_max_) arm_rto(now);
  } else if (s.ack == snd_una_ && s.payload_length == 0 && !s.has(kSyn) && !s.has(kFin) && wnd == snd_wnd_ &&
             snd_una_ != snd_max_) {
    // A duplicate ACK (RFC 5681 §2). The third starts fast retransmit (§3.2).
    ++dupacks_;
    if (dupacks_ == 3 && !in_recovery_) {
      const uint32_t flight = snd_max_ - snd_una_;
      ssthresh_ = flight / 2 > 2u * mss_ ? flight / 2 : 2u * mss_;
      in_recovery_ = true;
      recover_ = snd_max_;
      timing_ = false;
      ++retransmissions_;
      send_at(snd_una_, mss_);
      cwnd_ = ssthresh_ + 3u * mss_;
    } else if (dupacks_ > 3 && in_recovery_) {
      cwnd_ += mss_;
    }
  }
  // The send window (fifth check, "If SND.UNA =< SEG.ACK =< SND.NXT").
  if (seq_le(snd_una_, s.ack) && (seq_lt(snd_wl1_, s.seq) || (snd_wl1_ == s.seq && seq_le(snd_wl2_, s.ack)))) {
    if (snd_wnd_ == 0 && wnd != 0 && seq_lt(snd_una_, snd_nxt_)) {
      snd_nxt_ = snd_una_;  // the window opened: the unacknowledged probe goes again with the rest now
      rto_at_ = 0;
    }
    snd_wnd_ = wnd;
    snd_wl1_ = s.seq;
    snd_wl2_ = s.ack;
  }
  if (fin_acked_) {
    if (state_ == State::kFinWait1) {
      become(State::kFinWait2, now);
    } else if (state_ == State::kClosing) {
      become(State::kTimeWait, now);
    } else if (state_ == State::kLastAck) {
      become(State::kClosed, now);
      return false;
    }
  }
  return true;
}

// Sends up to `max` bytes of queued data starting at sequence number `seq`, or the FIN if
// that is what lies there. Returns the sequence space sent.
uint32_t Connection::send_at(uint32_t seq, uint32_t max) {
  const uint32_t offset = seq - snd_una_;
  uint32_t n = offset < tx_.size() ? tx_.size() - offset : 0;
  if (n > max) n = max;
  if (n > kOurMss) n = kOurMss;
  if (n != 0) {
    // Straight from the send buffer (build() copies it into the frame), unless the bytes wrap
    // around the ring's end: then gathered here first. One copy of every byte sent fewer.
    const uint8_t* data = tx_.contiguous(offset, n);
    uint8_t payload[kOurMss];  // on the caller's stack: an idle connection's record stays small
    if (data == nullptr) {
      tx_.copy_out(offset, payload, n);
      data = payload;
    }
    // The last queued bytes of a closing connection carry the FIN (one segment, not two).
    const bool fin = close_requested_ && !fin_acked_ && offset + n == tx_.size();
    emit(kAck | kPsh | (fin ? kFin : 0), seq, data, n);
    return n + (fin ? 1 : 0);
  }
  if (close_requested_ && !fin_acked_ && offset == tx_.size()) {
    emit(kFin | kAck, seq, nullptr, 0);
    return 1;
  }
  return 0;
}

void Connection::output(uint64_t now) {
  if (!(state_ == State::kEstablished || state_ == State::kCloseWait || state_ == State::kFinWait1 ||
        state_ == State::kClosing || state_ == State::kLastAck)) {
    return;
  }
  for (;;) {
    const uint32_t flight = snd_nxt_ - snd_una_;
    const uint32_t unsent = tx_.size() - sent_data();
    const uint32_t wnd = snd_wnd_ < cwnd_ ? snd_wnd_ : cwnd_;
    if (unsent != 0) {
      const uint32_t room = wnd > flight ? wnd - flight : 0;
      const uint32_t n = min3(unsent, mss_, room);
      if (n == 0) {
        // §3.8.6.1: a zero window is probed when the (persist) timer fires.
        if (snd_wnd_ == 0 && rto_at_ == 0) arm_rto(now);
        return;
      }
      if (nagle_ && n < mss_ && flight != 0) return;  // §3.7.4: wait for the ACK
      const uint32_t sent = send_at(snd_nxt_, n);
      if (!timing_ && snd_nxt_ == snd_max_) {
        timing_ = true;
        timed_seq_ = snd_nxt_ + sent;
        timed_at_ = now;
      }
      snd_nxt_ += sent;
      snd_max_ = seq_max(snd_max_, snd_nxt_);
      if (rto_at_ == 0) arm_rto(now);
      continue;
    }
    if (close_requested_ && !fin_acked_ && snd_nxt_ == fin_at()) {
      send_at(snd_nxt_, 0);
      snd_nxt_ += 1;
      snd_max_ = seq_max(snd_max_, snd_nxt_);
      if (rto_at_ == 0) arm_rto(now);
    }
    return;
  }
}

// The retransmission timer expired (RFC 6298 §5.4–5.7; RFC 5681 §3.1 eq. 4 for the windows).
void Connection::retransmit(uint64_t now) {
  ++retransmissions_;
  timing_ = false;
  rtt_.back_off();
  if (state_ == State::kSynSent || state_ == State::kSynReceived) {
    if (++retries_ > kMaxSynRetransmissions) {
      fail(Error::kTimedOut);
      return;
    }
    send_syn();
    arm_rto(now);
    return;
  }
  // A zero-window probe may go unanswered for as long as the peer keeps its window shut; it
  // does not count towards giving up (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17), unless nobody
  // holds the connection any more: an orphan's probes count, answered or not, so a peer that
  // never opens its window cannot pin the record and its data (RFC 6429).
  const bool probing = snd_wnd_ == 0;
  if ((!probing || orphaned_) && ++retries_ > (orphaned_ ? kMaxOrphanRetries : kMaxRetransmissions)) {
    fail(Error::kTimedOut);
    return;
  }
  const uint32_t flight = snd_max_ - snd_una_;
  if (flight != 0) {
    ssthresh_ = flight / 2 > 2u * mss_ ? flight / 2 : 2u * mss_;
    cwnd_ = mss_;
  }
  in_recovery_ = false;
  dupacks_ = 0;
  snd_nxt_ = snd_una_;  // go back: resend from the first unacknowledged byte
  if (probing) {
    // One byte past the closed window (or the FIN), sent at SND.UNA without moving SND.NXT: the
    // peer most likely drops it, and once the window opens sending resumes from SND.UNA.
    snd_max_ = seq_max(snd_max_, snd_una_ + send_at(snd_una_, 1));
  } else {
    output(now);
  }
  arm_rto(now);
}

void Connection::timer(uint64_t now) {
  if (state_ == State::kTimeWait) {
    if (now >= time_wait_until_) become(State::kClosed, now);
    return;
  }
  if (state_ == State::kClosed) return;
  if (state_ == State::kFinWait2 && fin_wait2_until_ != 0 && now >= fin_wait2_until_) {
    fail(Error::kTimedOut);  // silently, as Linux: the peer's FIN, if it ever comes, gets a RST
    return;
  }
  if (delack_at_ != 0 && now >= delack_at_) send_ack();
  if (rto_at_ != 0 && now >= rto_at_) retransmit(now);
  if (keepalive_at_ != 0 && now >= keepalive_at_ && (state_ == State::kEstablished || state_ == State::kCloseWait)) {
    if (rto_at_ != 0) {
      keepalive_at_ = now + keepalive_idle_;  // data in flight: retransmissions watch the peer
    } else if (keepalive_sent_ >= keepalive_count_) {
      fail(Error::kTimedOut);
    } else {
      emit(kAck, snd_una_ - 1, nullptr, 0);
      ++keepalive_sent_;
      keepalive_at_ = now + keepalive_interval_;
    }
  }
}

uint64_t Connection::deadline() const {
  uint64_t d = UINT64_MAX;
  if (state_ == State::kTimeWait) return time_wait_until_;
  if (rto_at_ != 0 && rto_at_ < d) d = rto_at_;
  if (delack_at_ != 0 && delack_at_ < d) d = delack_at_;
  if (state_ == State::kFinWait2 && fin_wait2_until_ != 0 && fin_wait2_until_ < d) d = fin_wait2_until_;
  if (keepalive_at_ != 0 && keepalive_at_ < d && (state_ == State::kEstablished || state_ == State::kCloseWait)) {
    d = keepalive_at_;
  }
  return d;
}

uint32_t Connection::send(const uint8_t* data, uint32_t n, uint64_t now) {
  const bool open = state_ == State::kEstablished || state_ == State::kCloseWait || state_ == State::kSynSent ||
                    state_ == State::kSynReceived;
  if (!open || close_requested_) return 0;
  const uint32_t queued = tx_.write(data, n);
  if (!corked_) output(now);
  return queued;
}

uint32_t Connection::recv(uint8_t* out, uint32_t n, uint64_t now) {
  (void)now;
  const uint32_t got = rx_.read(out, n);
  if (ooo_count_ == 0) rx_.release_if_empty();  // all read: the receive buffer's memory goes back
  // Receiver-side silly window avoidance (§3.8.6.2.2): announce the opened window once it has
  // grown by a full segment or half the buffer, whichever is less.
  if (got != 0 && synchronized() && !peer_fin_) {
    const uint32_t threshold = rx_.limit() / 2 < mss_ ? rx_.limit() / 2 : mss_;
    if (rx_.space() >= last_advertised_ + threshold) send_ack();
  }
  return got;
}

void Connection::close(uint64_t now) {
  corked_ = false;  // everything queued goes now, with the FIN
  switch (state_) {
    case State::kSynSent:
      become(State::kClosed, now);
      return;
    case State::kSynReceived:
      close_requested_ = true;  // FIN-WAIT-1 and the FIN once the handshake's ACK arrives
      return;
    case State::kEstablished:
      close_requested_ = true;
      become(State::kFinWait1, now);
      output(now);
      return;
    case State::kCloseWait:
      close_requested_ = true;
      become(State::kLastAck, now);
      output(now);
      return;
    default:
      return;
  }
}

void Connection::abort() {
  if (state_ != State::kClosed && state_ != State::kListen && state_ != State::kSynSent && state_ != State::kTimeWait) {
    emit(kRst, snd_nxt_, nullptr, 0);
  }
  become(State::kClosed, 0);
}

bool reset_for(const Segment& in, Segment* out) {
  if (in.has(kRst)) return false;
  *out = Segment{};
  out->src_port = in.dst_port;
  out->dst_port = in.src_port;
  if (in.has(kAck)) {
    out->seq = in.ack;
    out->flags = kRst;
  } else {
    out->seq = 0;
    out->ack = in.seq + in.seg_len();
    out->flags = kRst | kAck;
  }
  return true;
}

}  // namespace net::tcp
