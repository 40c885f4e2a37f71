// One TCP connection's state machine (RFC 9293 §3.3.2, event processing §3.10), portable and
// driven from outside: the owner feeds it parsed segments, the time and the application's
// calls, and it hands the segments it wants sent to an output callback. Its buffers take
// memory from the owner's BufferPool (ring.h) as data arrives or is queued, and give it back
// when drained; no kernel dependency: the host tests drive it packet by packet against a
// scripted peer.
//
//   net::tcp::Connection c;
//   c.init(endpoints, &pool, rx_limit, tx_limit, {send_fn, ctx});
//   c.accept_syn(syn, isn, now);          // passive open (the listener saw a SYN), or
//   c.connect(isn, now);                  // active open
//   c.input(segment, now);                // every segment of this 4-tuple
//   c.send(data, n); c.recv(buf, n); c.close();
//   c.timer(now);                         // at least every deadline() (retransmission, delayed ACK, TIME-WAIT)
//
// Implemented: the whole state machine with simultaneous open/close and TIME-WAIT (2*MSL),
// RST generation and acceptance with RFC 5961 §3–4 challenge ACKs, MSS (§3.7.1) and window
// scaling (RFC 7323 §2), retransmission with RFC 6298 timing (Karn's rule) and back-off, slow
// start, congestion avoidance, fast retransmit/recovery (RFC 5681 §3, Reno), delayed ACKs
// (every second full segment or 40 ms, RFC 9293 §3.8.6.3), zero-window probes (§3.8.6.1),
// Nagle optional (off by default). Out-of-order data is not kept: it is answered with a
// duplicate ACK so that the peer's fast retransmit refills the hole.
#pragma once

#include <net/packet.h>
#include <net/tcp/ring.h>
#include <net/tcp/rtt.h>
#include <net/tcp/segment.h>
#include <net/tcp/seq.h>

#include <cstdint>

namespace net::tcp {

enum class State : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
const char* state_name(State s);

enum class Error : uint8_t { kNone, kReset, kRefused, kTimedOut };

struct Endpoints {
  Ipv4 local, remote;
  uint16_t local_port = 0, remote_port = 0;
};

class Connection;
struct Output {
  bool (*send)(void* ctx, const Connection& c, const Segment& s) = nullptr;
  void* ctx = nullptr;
};

class Connection {
 public:
  static constexpr uint16_t kDefaultMss = 536;  // RFC 9293 §3.7.1 when the peer sends none
  static constexpr uint16_t kOurMss = 1460;     // Ethernet MTU 1500 - 40
  static constexpr uint8_t kOurWindowScale = 7;
  static constexpr uint64_t kMsl = 30'000'000;  // TIME-WAIT lasts 2*MSL = 60 s
  static constexpr uint64_t kDelayedAck = 40'000;
  static constexpr unsigned kMaxRetransmissions = 8;  // then the connection times out
  // An orphan (orphan()) gives up after this many retransmissions or zero-window probes,
  // whether or not the peer answers the probes (RFC 6429; Linux's tcp_orphan_retries): with the
  // 200 ms minimum RTO and its back-off, about 25 s.
  static constexpr unsigned kMaxOrphanRetries = 6;
  static constexpr unsigned kMaxSynRetransmissions = 5;
  static constexpr uint64_t kFinWait2Timeout = 60'000'000;  // an orphan's FIN-WAIT-2 (Linux's tcp_fin_timeout)

  // The receive buffer (and so the window) may grow to rx_limit bytes, the send buffer to
  // tx_limit; both start empty, without memory.
  void init(const Endpoints& e, BufferPool* pool, uint32_t rx_limit, uint32_t tx_limit, Output out);

  // Opens. accept_syn: `syn` is a SYN that a listener accepted for these endpoints.
  void accept_syn(const Segment& syn, uint32_t isn, uint64_t now);
  void connect(uint32_t isn, uint64_t now);
  // Opens ESTABLISHED from the ACK that returned a SYN cookie (syncookie.h): `ack` acknowledges
  // our ISN, `mss` is what the cookie encoded. No window scaling: the cookie has no room for it.
  // The caller then passes `ack` to input() for any data or FIN it carries.
  void accept_cookie(const Segment& ack, uint16_t mss, uint64_t now);

  void input(const Segment& s, uint64_t now);
  void timer(uint64_t now);
  uint64_t deadline() const;  // the earliest time timer() has work; UINT64_MAX: none

  // The application's side. send() queues what fits and returns its size; recv() takes what
  // has arrived. close() sends FIN after the queued data; abort() sends RST and forgets.
  uint32_t send(const uint8_t* data, uint32_t n, uint64_t now);
  uint32_t recv(uint8_t* out, uint32_t n, uint64_t now);
  uint32_t peek(uint8_t* out, uint32_t n) const { return rx_.copy_out(0, out, n); }
  void close(uint64_t now);
  void abort();
  // Nobody will read this connection any more (the application let go): FIN-WAIT-2 then lasts
  // kFinWait2Timeout at most, so a peer that never sends its FIN cannot keep the record forever
  // (RFC 9293 lets FIN-WAIT-2 last as long as the application may still receive), and
  // retransmissions and zero-window probes stop after kMaxOrphanRetries.
  void orphan(uint64_t now);
  bool orphaned() const { return orphaned_; }
  // RFC 1122 §4.2.3.6 keep-alive, off unless set: after `idle` µs without a segment from the
  // peer, a probe (SEQ = SND.UNA - 1 and no data, which the peer must answer with an ACK) every
  // `interval` µs; after `count` unanswered probes the connection closes (Error::kTimedOut).
  // Only in ESTABLISHED and CLOSE-WAIT with nothing in flight (retransmissions already detect
  // a dead peer). idle == 0 turns it off.
  void set_keepalive(uint64_t idle, uint64_t interval, unsigned count, uint64_t now);
  // Gives the buffers' memory back for good (TIME-WAIT, a reset, the record's end): nothing is
  // read or queued any more. Unread and unsent data is dropped.
  void drop_buffers() {
    rx_.drop();
    tx_.drop();
    ooo_count_ = 0;
  }
  // Memory the buffers hold now.
  uint32_t buffer_bytes() const { return rx_.capacity() + tx_.capacity(); }

  State state() const { return state_; }
  // In TIME-WAIT: when the connection last heard from the peer's side of the close (entering
  // TIME-WAIT, or a retransmitted FIN since).
  uint64_t time_wait_since() const { return time_wait_until_ - 2 * kMsl; }
  Error error() const { return error_; }
  const Endpoints& endpoints() const { return ep_; }
  uint32_t readable() const { return rx_.size(); }
  unsigned out_of_order_ranges() const { return ooo_count_; }
  uint32_t writable() const { return tx_.space(); }
  uint32_t queued() const { return tx_.size(); }  // sent and not yet acknowledged, or not yet sent
  bool peer_closed() const { return peer_fin_; }  // no more data will arrive
  bool established_once() const { return established_once_; }
  void set_nagle(bool on) { nagle_ = on; }
  // Corked, send() only queues; uncorking sends what is queued. A service's callback runs
  // corked (net/socket/stream.h, Service::dispatch), so an answer and the close that follows
  // it leave as one segment with FIN instead of two (one frame less per request of a
  // close-after-reply protocol such as HTTP/1.0).
  void set_cork(bool on, uint64_t now) {
    corked_ = on;
    if (!on) output(now);
  }
  uint16_t mss() const { return mss_; }
  uint32_t cwnd() const { return cwnd_; }
  uint32_t send_window() const { return snd_wnd_; }
  uint32_t in_flight() const { return snd_nxt_ - snd_una_; }
  uint32_t rcv_nxt() const { return rcv_nxt_; }
  const RttEstimator& rtt() const { return rtt_; }
  uint64_t retransmissions() const { return retransmissions_; }

 private:
  bool synchronized() const;
  bool syn_unacked() const { return state_ == State::kSynSent || state_ == State::kSynReceived; }
  uint32_t sent_data() const;  // data bytes sent and not yet acknowledged
  uint32_t fin_at() const;     // the FIN's sequence number (once close() was called)
  bool fin_in_flight() const;
  uint16_t advertised_window() const;
  void emit(uint8_t flags, uint32_t seq, const uint8_t* payload, uint32_t length);
  // A segment answering `in` with its own numbers (SEQ = its ACK, ACK = its end), not this
  // connection's: what TIME-WAIT sends for an earlier connection's FIN (input()).
  void emit_for(const Segment& in, uint8_t flags);
  // A pure ACK carries the highest sequence number sent (SND.NXT may have gone back for a
  // retransmission while the peer already holds what followed: an older number would be
  // unacceptable to it), but never one past the peer's window (SND.UNA + SND.WND, as Linux's
  // tcp_acceptable_seq): a receiver whose window is shut accepts only RCV.NXT (RFC 9293
  // §3.10.7.4) and would drop it, window updates and all.
  void send_ack() {
    const uint32_t edge = snd_una_ + snd_wnd_;
    emit(kAck, seq_lt(edge, snd_max_) ? seq_max(edge, snd_una_) : snd_max_, nullptr, 0);
    ack_pending_ = 0;
    delack_at_ = 0;
  }
  void send_syn();
  void send_first_syn(State state, uint32_t isn, uint64_t now);
  void output(uint64_t now);
  uint32_t send_at(uint32_t seq, uint32_t max);
  void retransmit(uint64_t now);
  void input_syn_sent(const Segment& s, uint64_t now);
  void arm_rto(uint64_t now) { rto_at_ = now + rtt_.rto_us(); }
  void take_options(const Segment& syn);
  bool process_ack(const Segment& s, uint64_t now);
  void become(State s, uint64_t now);
  uint32_t receive_window() const;
  void store_out_of_order(const Segment& s);
  bool take_out_of_order();
  void fail(Error e);

  Endpoints ep_;
  Output out_;
  Ring rx_, tx_;
  State state_ = State::kClosed;
  Error error_ = Error::kNone;

  // Send sequence space (RFC 9293 §3.3.1).
  uint32_t iss_ = 0, snd_una_ = 0, snd_nxt_ = 0, snd_wnd_ = 0, snd_wl1_ = 0, snd_wl2_ = 0;
  uint32_t snd_max_ = 0;  // the highest snd_nxt so far (go-back-N rewinds snd_nxt)
  // Receive sequence space.
  uint32_t irs_ = 0, rcv_nxt_ = 0;
  uint8_t snd_scale_ = 0, rcv_scale_ = 0;  // shift for the peer's windows / for ours
  uint16_t mss_ = kDefaultMss;

  bool close_requested_ = false, fin_acked_ = false, peer_fin_ = false, syn_acked_ = false;
  bool established_once_ = false, nagle_ = false, wscale_ok_ = false, corked_ = false;
  uint32_t last_advertised_ = 0;  // bytes of window in our last segment
  uint32_t rcv_adv_ = 0;          // the right edge of the window we advertised (never shrunk)
  // Out-of-order data, already in rx_ past its readable part: up to kMaxHoles ranges of
  // sequence space [start, end) beyond RCV.NXT, kept sorted and disjoint.
  static constexpr unsigned kMaxRanges = 4;
  struct Range {
    uint32_t start, end;
  };
  Range ooo_[kMaxRanges] = {};
  unsigned ooo_count_ = 0;

  // Timers: 0 = off.
  uint64_t rto_at_ = 0, delack_at_ = 0, time_wait_until_ = 0, fin_wait2_until_ = 0;
  uint64_t keepalive_idle_ = 0, keepalive_interval_ = 0, keepalive_at_ = 0;
  unsigned keepalive_count_ = 0, keepalive_sent_ = 0;
  bool orphaned_ = false;
  unsigned ack_pending_ = 0;  // segments received and not yet acknowledged
  unsigned retries_ = 0;
  uint64_t retransmissions_ = 0;
  RttEstimator rtt_;
  bool timing_ = false;
  uint32_t timed_seq_ = 0;
  uint64_t timed_at_ = 0;

  // Congestion control (RFC 5681).
  uint32_t cwnd_ = 0, ssthresh_ = 0xFFFFFFFF;
  unsigned dupacks_ = 0;
  bool in_recovery_ = false;
  uint32_t recover_ = 0;
};

// What to answer a segment that matches no connection and no listener (RFC 9293 §3.10.7.1):
// a RST, unless it is one. Returns false when nothing is to be sent.
bool reset_for(const Segment& in, Segment* out);

}  // namespace net::tcp
