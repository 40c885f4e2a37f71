// The TCP state machine driven packet by packet by a scripted peer (RFC 9293 §3.10): the
// harness plays the remote end, hands the connection segments and checks what it sends back.
#include <gtest/gtest.h>
#include <net/tcp/connection.h>
#include <net/tcp/seq.h>

#include <string>
#include <vector>

namespace {

using namespace net;
using namespace net::tcp;

struct Sent {
  Segment s;
  std::string data;
};

// Buffer memory from malloc, counted: a connection must give back all it took.
struct CountingPool : BufferPool {
  long bytes = 0;
  long refuse_above = -1;  // > 0: allocations that would go past this many bytes fail
  CountingPool() {
    allocate = [](void* ctx, uint32_t n) -> uint8_t* {
      auto* p = static_cast<CountingPool*>(ctx);
      if (p->refuse_above >= 0 && p->bytes + long(n) > p->refuse_above) return nullptr;
      p->bytes += n;
      return static_cast<uint8_t*>(malloc(n));
    };
    release = [](void* ctx, uint8_t* m, uint32_t n) {
      static_cast<CountingPool*>(ctx)->bytes -= n;
      free(m);
    };
    this->ctx = this;
  }
};

struct Peer {
  static constexpr uint32_t kRxLimit = 8192;
  static constexpr uint32_t kTxLimit = 16384;
  CountingPool pool;
  Connection c;
  std::vector<Sent> out;
  uint64_t now = 1'000'000;
  uint32_t peer_seq = 5000;  // the peer's next sequence number
  uint32_t our_isn = 100000;

  static bool capture(void* ctx, const Connection&, const Segment& s) {
    auto* p = static_cast<Peer*>(ctx);
    Sent e{s, std::string(reinterpret_cast<const char*>(s.payload), s.payload_length)};
    e.s.payload = nullptr;
    p->out.push_back(e);
    return true;
  }
  explicit Peer(uint32_t rx_size = kRxLimit) {
    Endpoints e{Ipv4::from_bytes(10, 0, 2, 15), Ipv4::from_bytes(10, 0, 2, 2), 80, 40000};
    c.init(e, &pool, rx_size, kTxLimit, {capture, this});
  }
  ~Peer() { c.drop_buffers(); }
  Segment seg(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data = "", uint16_t window = 65535) {
    Segment s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = window;
    s.payload = reinterpret_cast<const uint8_t*>(data.data());
    s.payload_length = data.size();
    return s;
  }
  void deliver(const Segment& s) { c.input(s, now); }
  void deliver(uint8_t flags, const std::string& data = "", uint16_t window = 65535) {
    const std::string copy = data;  // the segment points into it while input() runs
    Segment s = seg(flags, peer_seq, c_snd_nxt(), copy, window);
    c.input(s, now);
    peer_seq += s.seg_len();
  }
  uint32_t c_snd_nxt() const { return acked_upto; }
  uint32_t acked_upto = 0;  // what the peer acknowledges

  // A passive open: SYN (MSS 1460, wscale `ws`), our SYN,ACK, the peer's ACK.
  void handshake(int8_t ws = -1) {
    Segment syn = seg(kSyn, peer_seq, 0);
    syn.mss = 1460;
    syn.window_scale = ws;
    c.accept_syn(syn, our_isn, now);
    peer_seq += 1;
    EXPECT_EQ(c.state(), State::kSynReceived);
    EXPECT_EQ(out.back().s.flags, kSyn | kAck);
    EXPECT_EQ(out.back().s.seq, our_isn);
    EXPECT_EQ(out.back().s.ack, peer_seq);
    acked_upto = our_isn + 1;
    deliver(kAck);
    EXPECT_EQ(c.state(), State::kEstablished);
    out.clear();
  }
  std::string read_all() {
    std::string r;
    uint8_t b[4096];
    while (uint32_t n = c.recv(b, sizeof b, now)) r.append(reinterpret_cast<char*>(b), n);
    return r;
  }
  uint32_t send(const std::string& d) {
    return c.send(reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), now);
  }
  std::string sent_data() const {
    std::string r;
    for (auto& e : out) r += e.data;
    return r;
  }
};

TEST(TcpConnection, PassiveOpenDataBothWaysAndPeerClosesFirst) {
  Peer p;
  p.handshake();
  p.deliver(kAck | kPsh, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.read_all(), "GET / HTTP/1.1\r\n\r\n");
  // One segment: the ACK waits (delayed) and rides on the answer.
  EXPECT_TRUE(p.out.empty());
  EXPECT_EQ(p.send("HTTP/1.1 200 OK\r\n\r\nhi"), 21u);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].data, "HTTP/1.1 200 OK\r\n\r\nhi");
  EXPECT_EQ(p.out[0].s.seq, p.our_isn + 1);
  EXPECT_EQ(p.out[0].s.ack, p.peer_seq);
  EXPECT_TRUE(p.out[0].s.has(kAck));
  p.acked_upto = p.our_isn + 1 + 21;
  p.out.clear();
  p.deliver(kAck | kFin);
  EXPECT_EQ(p.c.state(), State::kCloseWait);
  EXPECT_TRUE(p.c.peer_closed());
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.ack, p.peer_seq);  // the FIN is acknowledged at once
  p.out.clear();
  p.c.close(p.now);
  EXPECT_EQ(p.c.state(), State::kLastAck);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_TRUE(p.out[0].s.has(kFin));
  EXPECT_EQ(p.out[0].s.seq, p.our_isn + 22);
  p.acked_upto = p.our_isn + 23;
  p.deliver(kAck);
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kNone);
}

TEST(TcpConnection, ActiveOpenAndWeCloseFirstThroughTimeWait) {
  Peer p;
  p.c.connect(p.our_isn, p.now);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.flags, kSyn);
  EXPECT_EQ(p.out[0].s.mss, 1460);
  EXPECT_EQ(p.out[0].s.window_scale, 7);
  p.out.clear();
  p.now += 30'000;
  Segment synack = p.seg(kSyn | kAck, p.peer_seq, p.our_isn + 1);
  synack.mss = 1400;
  synack.window_scale = 3;
  p.deliver(synack);
  p.peer_seq += 1;
  EXPECT_EQ(p.c.state(), State::kEstablished);
  EXPECT_EQ(p.c.mss(), 1400);
  EXPECT_EQ(p.c.rtt().srtt_us(), 30'000u);  // the handshake's round trip was timed
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.flags, kAck);
  EXPECT_EQ(p.out[0].s.ack, p.peer_seq);
  EXPECT_EQ(p.out[0].s.window, 8192 >> 7);  // scaled, since both SYNs had the option
  p.out.clear();
  p.c.close(p.now);
  EXPECT_EQ(p.c.state(), State::kFinWait1);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_TRUE(p.out[0].s.has(kFin));
  p.acked_upto = p.our_isn + 2;
  p.deliver(kAck);
  EXPECT_EQ(p.c.state(), State::kFinWait2);
  p.out.clear();
  p.deliver(kAck | kFin);
  EXPECT_EQ(p.c.state(), State::kTimeWait);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.ack, p.peer_seq);
  // A retransmitted FIN in TIME-WAIT is acknowledged again.
  p.out.clear();
  p.deliver(p.seg(kAck | kFin, p.peer_seq - 1, p.acked_upto));
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.ack, p.peer_seq);
  p.now += 2 * Connection::kMsl - 1;
  p.c.timer(p.now);
  EXPECT_EQ(p.c.state(), State::kTimeWait);
  p.now += 1;
  p.c.timer(p.now);
  EXPECT_EQ(p.c.state(), State::kClosed);
}

// FIN-WAIT-2 waits for the peer's FIN as long as the application may still read; once it let
// go (orphan), at most kFinWait2Timeout.
TEST(TcpConnection, OrphanedFinWait2TimesOut) {
  for (bool orphan : {false, true}) {
    Peer p;
    p.handshake();
    p.c.close(p.now);
    if (orphan) p.c.orphan(p.now);
    p.acked_upto = p.out.back().s.seq + 1;  // the peer acknowledges our FIN and sends nothing
    p.deliver(kAck);
    ASSERT_EQ(p.c.state(), State::kFinWait2);
    p.now += Connection::kFinWait2Timeout - 1;
    p.c.timer(p.now);
    EXPECT_EQ(p.c.state(), State::kFinWait2);
    EXPECT_EQ(p.c.deadline(), orphan ? p.now + 1 : UINT64_MAX);
    p.now += 1;
    p.c.timer(p.now);
    EXPECT_EQ(p.c.state(), orphan ? State::kClosed : State::kFinWait2) << orphan;
  }
}

// Keep-alive (RFC 1122 §4.2.3.6): off by default; when set, probes after the idle time, an
// answer starts the idle time again, `count` unanswered probes close the connection.
TEST(TcpConnection, KeepAliveProbesAndGivesUp) {
  Peer p;
  p.handshake();
  EXPECT_EQ(p.c.deadline(), UINT64_MAX);  // off: an idle connection has no timer
  p.c.set_keepalive(7'000'000, 1'000'000, 3, p.now);
  p.out.clear();
  p.now += 7'000'000;
  p.c.timer(p.now);
  ASSERT_EQ(p.out.size(), 1u);
  const uint32_t una = p.acked_upto;
  EXPECT_EQ(p.out[0].s.seq, una - 1);  // SND.UNA - 1: the peer must answer
  EXPECT_EQ(p.out[0].s.payload_length, 0u);
  p.deliver(kAck);  // the answer: idle again
  EXPECT_EQ(p.c.deadline(), p.now + 7'000'000);
  p.out.clear();
  for (int i = 0; i < 3; ++i) {  // three unanswered probes, a second apart
    p.now = p.c.deadline();
    p.c.timer(p.now);
    EXPECT_EQ(p.c.state(), State::kEstablished);
  }
  EXPECT_EQ(p.out.size(), 3u);
  p.now = p.c.deadline();
  p.c.timer(p.now);
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kTimedOut);
}

// Corked, an answer waits; the close that follows sends it with the FIN in one segment.
// Uncorking without closing sends what was queued.
TEST(TcpConnection, CorkedAnswerLeavesWithItsFin) {
  Peer p;
  p.handshake();
  p.out.clear();
  p.c.set_cork(true, p.now);
  p.send("HTTP/1.0 200\r\n\r\nhi");
  EXPECT_TRUE(p.out.empty());
  p.c.close(p.now);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].data, "HTTP/1.0 200\r\n\r\nhi");
  EXPECT_TRUE(p.out[0].s.has(kFin));
  Peer q;
  q.handshake();
  q.out.clear();
  q.c.set_cork(true, q.now);
  q.send("abc");
  EXPECT_TRUE(q.out.empty());
  q.c.set_cork(false, q.now);
  ASSERT_EQ(q.out.size(), 1u);
  EXPECT_EQ(q.out[0].data, "abc");
  EXPECT_FALSE(q.out[0].s.has(kFin));
}

TEST(TcpConnection, SimultaneousCloseGoesThroughClosing) {
  Peer p;
  p.handshake();
  p.c.close(p.now);
  EXPECT_EQ(p.c.state(), State::kFinWait1);
  p.deliver(kAck | kFin);  // the peer's FIN crosses ours: it does not acknowledge our FIN
  EXPECT_EQ(p.c.state(), State::kClosing);
  p.acked_upto = p.our_isn + 2;
  p.deliver(kAck);
  EXPECT_EQ(p.c.state(), State::kTimeWait);
}

TEST(TcpConnection, SimultaneousOpen) {
  Peer p;
  p.c.connect(p.our_isn, p.now);
  p.out.clear();
  Segment syn = p.seg(kSyn, p.peer_seq, 0);
  p.deliver(syn);
  p.peer_seq += 1;
  EXPECT_EQ(p.c.state(), State::kSynReceived);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.flags, kSyn | kAck);
  EXPECT_EQ(p.out[0].s.seq, p.our_isn);
  p.acked_upto = p.our_isn + 1;
  p.deliver(kAck);
  EXPECT_EQ(p.c.state(), State::kEstablished);
}

TEST(TcpConnection, RetransmitsOnTimeoutWithBackOffThenGivesUp) {
  Peer p;
  p.handshake();
  p.send("lost");
  ASSERT_EQ(p.out.size(), 1u);
  const uint32_t seq = p.out[0].s.seq;
  p.out.clear();
  const uint64_t rto = p.c.rtt().rto_us();
  p.now += rto - 1;
  p.c.timer(p.now);
  EXPECT_TRUE(p.out.empty());
  p.now += 1;
  p.c.timer(p.now);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.seq, seq);
  EXPECT_EQ(p.out[0].data, "lost");
  EXPECT_EQ(p.c.deadline(), p.now + 2 * rto);  // doubled (RFC 6298 §5.5)
  EXPECT_EQ(p.c.cwnd(), p.c.mss());            // loss window (RFC 5681 §3.1)
  for (unsigned i = 0; i < Connection::kMaxRetransmissions + 1 && p.c.state() != State::kClosed; ++i) {
    p.now = p.c.deadline();
    p.c.timer(p.now);
  }
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kTimedOut);
}

TEST(TcpConnection, AckAfterRetransmissionRestoresProgressWithoutTiming) {
  Peer p;
  p.handshake();
  p.send("abc");
  p.now = p.c.deadline();
  p.c.timer(p.now);  // retransmitted
  p.now += 5'000;
  p.acked_upto = p.our_isn + 4;
  p.deliver(kAck);
  EXPECT_EQ(p.c.in_flight(), 0u);
  EXPECT_EQ(p.c.deadline(), UINT64_MAX);  // nothing outstanding: no timer runs
  EXPECT_EQ(p.c.retransmissions(), 1u);
}

TEST(TcpConnection, FastRetransmitOnThreeDuplicateAcks) {
  Peer p;
  p.handshake();
  std::string big(4 * 1460, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  EXPECT_EQ(p.send(big), big.size());
  ASSERT_EQ(p.out.size(), 4u);  // within the initial window of ten segments
  const uint32_t first = p.out[0].s.seq;
  p.out.clear();
  // The first segment is lost: the peer acknowledges only up to it, three more times.
  p.acked_upto = first;
  for (int i = 0; i < 3; ++i) p.deliver(kAck);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.seq, first);
  EXPECT_EQ(p.out[0].data, big.substr(0, 1460));
  p.out.clear();
  p.acked_upto = first + uint32_t(big.size());
  p.deliver(kAck);
  EXPECT_EQ(p.c.in_flight(), 0u);
}

TEST(TcpConnection, ResetOnlyAtTheExactSequenceNumber) {
  Peer p;
  p.handshake();
  // In the window but not exact: a challenge ACK (RFC 5961 §3.2), the connection lives.
  p.deliver(p.seg(kRst, p.peer_seq + 100, 0));
  EXPECT_EQ(p.c.state(), State::kEstablished);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.flags, kAck);
  // Outside the window: ignored silently.
  p.out.clear();
  p.deliver(p.seg(kRst, p.peer_seq + 1'000'000, 0));
  EXPECT_TRUE(p.out.empty());
  p.deliver(p.seg(kRst, p.peer_seq, 0));
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kReset);
}

TEST(TcpConnection, SynInEstablishedGetsAChallengeAck) {
  Peer p;
  p.handshake();
  p.deliver(p.seg(kSyn, p.peer_seq, 0));
  EXPECT_EQ(p.c.state(), State::kEstablished);
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.flags, kAck);
}

TEST(TcpConnection, RefusedActiveOpen) {
  Peer p;
  p.c.connect(p.our_isn, p.now);
  p.deliver(p.seg(kRst | kAck, 0, p.our_isn + 1));
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kRefused);
}

TEST(TcpConnection, OutOfOrderAndDuplicateSegments) {
  Peer p;
  p.handshake();
  const uint32_t base = p.peer_seq;
  p.deliver(p.seg(kAck, base + 5, p.acked_upto, "world"));  // a hole before it
  ASSERT_EQ(p.out.size(), 1u);
  EXPECT_EQ(p.out[0].s.ack, base);  // duplicate ACK
  EXPECT_EQ(p.c.readable(), 0u);
  EXPECT_EQ(p.c.out_of_order_ranges(), 1u);  // kept for when the hole fills
  p.out.clear();
  p.deliver(p.seg(kAck, base, p.acked_upto, "hello"));
  ASSERT_EQ(p.out.size(), 1u);  // the hole filled: an ACK at once, for both segments
  EXPECT_EQ(p.out[0].s.ack, base + 10);
  EXPECT_EQ(p.c.out_of_order_ranges(), 0u);
  p.deliver(p.seg(kAck, base, p.acked_upto, "hello"));     // again: not delivered twice
  p.deliver(p.seg(kAck, base + 8, p.acked_upto, "ldXY"));  // overlapping: only the new part
  EXPECT_EQ(p.read_all(), "helloworldXY");
}

// Several holes, filled in any order; ranges that touch merge; the FIN of a segment that was
// kept out of order waits for the peer to send it again.
TEST(TcpConnection, OutOfOrderRangesMergeAndFill) {
  Peer p;
  p.handshake();
  const uint32_t base = p.peer_seq;
  const std::string text = "abcdefghijklmnopqrstuvwxyz";
  auto piece = [&](uint32_t from, uint32_t n, uint8_t flags = kAck) {
    p.deliver(p.seg(flags, base + from, p.acked_upto, text.substr(from, n)));
  };
  piece(20, 6, kAck | kFin);  // u..z with FIN
  piece(4, 4);                // e..h
  piece(12, 4);               // m..p
  EXPECT_EQ(p.c.out_of_order_ranges(), 3u);
  piece(8, 4);  // i..l: joins e..h and m..p
  EXPECT_EQ(p.c.out_of_order_ranges(), 2u);
  EXPECT_EQ(p.c.readable(), 0u);
  piece(0, 4);  // a..d: e..p follow on
  EXPECT_EQ(p.read_all(), "abcdefghijklmnop");
  EXPECT_EQ(p.c.out_of_order_ranges(), 1u);
  piece(16, 4);  // q..t: u..z follow on, their FIN was not kept
  EXPECT_EQ(p.read_all(), "qrstuvwxyz");
  EXPECT_EQ(p.c.out_of_order_ranges(), 0u);
  EXPECT_FALSE(p.c.peer_closed());
  EXPECT_EQ(p.out.back().s.ack, base + 26);
  p.deliver(p.seg(kAck | kFin, base + 26, p.acked_upto));  // the FIN again
  EXPECT_TRUE(p.c.peer_closed());
  EXPECT_EQ(p.c.state(), State::kCloseWait);
}

// Out-of-order text only where the buffer has room: past it, nothing is kept.
TEST(TcpConnection, OutOfOrderKeepsOnlyWhatFits) {
  Peer p(100);
  p.handshake();
  const uint32_t base = p.peer_seq;
  p.deliver(p.seg(kAck, base + 90, p.acked_upto, std::string(20, 'b')));  // 10 of 20 fit
  p.deliver(p.seg(kAck, base, p.acked_upto, std::string(90, 'a')));
  EXPECT_EQ(p.read_all(), std::string(90, 'a') + std::string(10, 'b'));
  EXPECT_EQ(p.out.back().s.ack, base + 100);
}

TEST(TcpConnection, FullReceiveWindowThenWindowUpdate) {
  Peer p(1000);
  p.handshake();
  const std::string chunk(1460, 'z');
  p.deliver(kAck, chunk);  // only 1000 bytes fit
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out.back().s.ack, p.peer_seq - 460);
  EXPECT_EQ(p.out.back().s.window, 0);
  EXPECT_EQ(p.c.readable(), 1000u);
  p.out.clear();
  uint8_t b[1000];
  EXPECT_EQ(p.c.recv(b, sizeof b, p.now), 1000u);
  ASSERT_EQ(p.out.size(), 1u);  // the window opened: say so
  EXPECT_GT(p.out[0].s.window, 0);
}

TEST(TcpConnection, ZeroWindowIsProbed) {
  Peer p;
  p.handshake();
  p.deliver(kAck, "", 0);  // the peer shuts its window
  p.send("data");
  EXPECT_TRUE(p.out.empty());     // nothing goes into a zero window...
  for (int i = 0; i < 12; ++i) {  // ...but probes do, and never time the connection out
    p.now = p.c.deadline();
    p.c.timer(p.now);
  }
  EXPECT_EQ(p.c.state(), State::kEstablished);
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out[0].data, "d");
  const uint32_t una = p.out[0].s.seq;  // the probe goes at SND.UNA
  p.out.clear();
  // Data from the peer while probing: our ACK must carry SEQ = its RCV.NXT (= our SND.UNA),
  // the only sequence number a shut window accepts, not one past the probe.
  p.deliver(kAck | kPsh, "hi", 0);
  p.now += Connection::kDelayedAck;
  p.c.timer(p.now);
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out.back().s.seq, una);
  EXPECT_EQ(p.out.back().data, "");
  p.out.clear();
  p.deliver(kAck, "", 65535);  // the window opens
  EXPECT_EQ(p.sent_data(), "data");
}

TEST(TcpConnection, WindowScaleAppliesToThePeersWindows) {
  Peer p;
  p.handshake(2);
  p.deliver(kAck, "", 1000);
  EXPECT_EQ(p.c.send_window(), 4000u);
}

TEST(TcpConnection, ResetForAStraySegment) {
  Segment in;
  in.src_port = 1;
  in.dst_port = 2;
  in.seq = 10;
  in.flags = kSyn;
  Segment out;
  ASSERT_TRUE(reset_for(in, &out));
  EXPECT_EQ(out.flags, kRst | kAck);
  EXPECT_EQ(out.ack, 11u);
  EXPECT_EQ(out.dst_port, 1);
  in.flags = kAck;
  in.ack = 77;
  ASSERT_TRUE(reset_for(in, &out));
  EXPECT_EQ(out.flags, kRst);
  EXPECT_EQ(out.seq, 77u);
  in.flags = kRst;
  EXPECT_FALSE(reset_for(in, &out));
}

// The send buffer is a ring: a segment whose bytes wrap around its end is gathered, the others
// leave straight from it; the peer sees one stream either way.
TEST(TcpConnection, DataThatWrapsAroundTheSendRingLeavesInOrder) {
  Peer p;
  p.handshake();
  std::string a(3000, ' '), b(2500, ' ');
  for (size_t i = 0; i < a.size(); ++i) a[i] = char('a' + i % 26);
  for (size_t i = 0; i < b.size(); ++i) b[i] = char('A' + i % 23);
  EXPECT_EQ(p.send(a), 3000u);
  EXPECT_EQ(p.pool.bytes, 4096);
  p.acked_upto += 2000;
  p.deliver(kAck);
  EXPECT_EQ(p.send(b), 2500u);  // from ring offset 3000 on: past the end at 4096, and wrapped
  EXPECT_EQ(p.pool.bytes, 4096);
  EXPECT_EQ(p.sent_data(), a + b);
  for (const Sent& e : p.out) EXPECT_LE(e.data.size(), 1460u);
}

// Memory follows use (issue #10): no buffer memory until data arrives or is queued, the
// receive buffer grows with what is unread and goes back once it is read, the send buffer
// goes back once everything is acknowledged.
TEST(TcpConnection, BuffersHoldMemoryOnlyWhileTheyHoldData) {
  Peer p;
  p.handshake();
  EXPECT_EQ(p.pool.bytes, 0);
  EXPECT_EQ(p.c.buffer_bytes(), 0u);
  p.deliver(kAck | kPsh, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(p.pool.bytes, long(Ring::kMinChunk));  // the smallest chunk
  p.deliver(kAck | kPsh, std::string(3000, 'x'));
  EXPECT_EQ(p.pool.bytes, 4096);  // grown to the next power of two, contents kept
  EXPECT_EQ(p.read_all(), "GET / HTTP/1.0\r\n\r\n" + std::string(3000, 'x'));
  EXPECT_EQ(p.pool.bytes, 0);  // read: given back
  p.send(std::string(5000, 'y'));
  EXPECT_EQ(p.pool.bytes, 8192);
  EXPECT_EQ(p.sent_data(), std::string(5000, 'y'));
  p.acked_upto += 5000;
  p.deliver(kAck);
  EXPECT_EQ(p.pool.bytes, 0);  // acknowledged: given back
}

// Data that arrives while the pool refuses memory is not kept and not acknowledged: the
// peer's retransmission brings it again once there is memory.
TEST(TcpConnection, RefusedMemoryDropsDataAndTheAckSaysSo) {
  Peer p;
  p.handshake();
  p.pool.refuse_above = 0;
  const uint32_t before = p.peer_seq;
  p.deliver(kAck | kPsh, "hello");
  EXPECT_EQ(p.c.readable(), 0u);
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out.back().s.ack, before);  // nothing taken
  p.pool.refuse_above = -1;
  p.peer_seq = before;
  p.deliver(kAck | kPsh, "hello");
  EXPECT_EQ(p.read_all(), "hello");
}

// Under memory pressure the window offers only what the buffer holds, or one segment (but its
// right edge never moves back); without pressure, the whole limit.
TEST(TcpConnection, UnderPressureTheWindowStopsGrowing) {
  Peer p;
  p.handshake();
  auto window_after = [&p](const std::string& data) {
    p.out.clear();
    p.deliver(kAck | kPsh, data);
    p.now += Connection::kDelayedAck;
    p.c.timer(p.now);
    EXPECT_FALSE(p.out.empty());
    return p.out.empty() ? 0u : uint32_t(p.out.back().s.window);
  };
  EXPECT_EQ(window_after("abc"), Peer::kRxLimit - 3);
  p.read_all();
  p.pool.pressure = true;
  // What was promised stays promised: the edge does not move back.
  EXPECT_EQ(window_after("defg"), Peer::kRxLimit - 7);
  p.read_all();
  // The peer uses up the promise (the buffer grows to hold it; its last bytes are offered);
  // once it is read in one go and the memory is gone, only a segment's worth is offered.
  EXPECT_EQ(window_after(std::string(Peer::kRxLimit - 7, 'z')), 7u);
  std::vector<uint8_t> all(Peer::kRxLimit);
  EXPECT_EQ(p.c.recv(all.data(), Peer::kRxLimit, p.now), Peer::kRxLimit - 7);
  EXPECT_EQ(p.c.buffer_bytes(), 0u);
  EXPECT_EQ(window_after("h"), p.c.mss());
  p.read_all();
  p.pool.pressure = false;
  EXPECT_EQ(window_after("i"), Peer::kRxLimit - 1);
}

// An orphan's zero-window probes count even when the peer answers them (RFC 6429): the
// connection gives up after kMaxOrphanRetries instead of holding its data forever. The same
// probes without orphan() go on (ZeroWindowIsProbed).
TEST(TcpConnection, OrphanGivesUpProbingAZeroWindow) {
  Peer p;
  p.handshake();
  p.deliver(kAck, "", 0);  // the peer shuts its window
  p.send("reply");
  p.c.orphan(p.now);
  p.c.close(p.now);
  unsigned probes = 0;
  for (int i = 0; i < 40 && p.c.state() != State::kClosed; ++i) {
    p.now = p.c.deadline();
    p.c.timer(p.now);
    if (!p.out.empty()) ++probes;
    p.out.clear();
    p.deliver(kAck, "", 0);  // every probe answered: still shut
  }
  EXPECT_EQ(p.c.state(), State::kClosed);
  EXPECT_EQ(p.c.error(), Error::kTimedOut);
  EXPECT_EQ(probes, Connection::kMaxOrphanRetries);
}

// What arrives for an orphan is acknowledged and dropped, and what was unread is freed at once.
TEST(TcpConnection, OrphanDropsUnreadData) {
  Peer p;
  p.handshake();
  p.deliver(kAck | kPsh, "unread");
  EXPECT_GT(p.pool.bytes, 0);
  p.c.orphan(p.now);
  EXPECT_EQ(p.pool.bytes, 0);
  p.out.clear();
  p.deliver(kAck | kPsh, "more");
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out.back().s.ack, p.peer_seq);
  EXPECT_EQ(p.pool.bytes, 0);
  p.deliver(kAck | kFin);
  EXPECT_TRUE(p.c.peer_closed());
}

}  // namespace
