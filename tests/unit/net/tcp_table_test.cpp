// Two TCP instances talking over a simulated link (every segment serialised with build() and
// parsed again, so checksums and options are on the path): handshakes through listeners, bulk
// transfers over a lossy, reordering link, refused connections, SYN floods, and no leaks.
#include <gtest/gtest.h>
#include <net/tcp/tcp.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

namespace {

using namespace net;
using namespace net::tcp;

uint64_t g_now = 1'000'000;
long g_live_allocations = 0;
long g_live_bytes = 0;
uint64_t now_us() { return g_now; }
void* allocate(size_t n) {
  ++g_live_allocations;
  g_live_bytes += long(n);
  auto* p = static_cast<size_t*>(malloc(n + 16));
  *p = n;
  return p + 2;
}
void release(void* p) {
  --g_live_allocations;
  size_t* h = static_cast<size_t*>(p) - 2;
  g_live_bytes -= long(*h);
  free(h);
}

const Ipv4 kServerIp = Ipv4::from_bytes(10, 0, 2, 15);
const Ipv4 kClientIp = Ipv4::from_bytes(10, 0, 2, 2);

struct Packet {
  Ipv4 from, to;
  std::vector<uint8_t> bytes;
};

struct Net {
  Tcp server, client;
  std::deque<Packet> wire;
  unsigned loss_percent = 0;
  bool reorder = false;
  uint32_t rng = 12345;
  uint64_t dropped = 0;

  struct Side {
    Net* net;
    Ipv4 self;
  } server_side{this, kServerIp}, client_side{this, kClientIp};

  uint32_t random() {
    rng = rng * 1103515245 + 12345;
    return rng >> 8;
  }
  static bool send(void* ctx, Ipv4 to, const Segment& s) {
    auto* side = static_cast<Side*>(ctx);
    Packet p{side->self, to, std::vector<uint8_t>(kMaxHeaderSize + s.payload_length)};
    p.bytes.resize(build(side->self, to, s, p.bytes.data(), p.bytes.size()));
    Net* n = side->net;
    if (n->loss_percent != 0 && n->random() % 100 < n->loss_percent) {
      ++n->dropped;
      return true;
    }
    if (n->reorder && !n->wire.empty() && n->random() % 10 == 0) {
      n->wire.insert(n->wire.end() - 1, std::move(p));  // overtakes the previous one
    } else {
      n->wire.push_back(std::move(p));
    }
    return true;
  }
  explicit Net(unsigned syn_queue = Tcp::Config{}.syn_queue) {
    Tcp::Config c;
    c.syn_queue = syn_queue;
    c.allocate = allocate;
    c.release = release;
    c.now_us = now_us;
    c.send = send;
    c.isn_key = {7, 8};
    c.ctx = &server_side;
    server.init(c, kServerIp);
    c.ctx = &client_side;
    c.isn_key = {9, 10};
    client.init(c, kClientIp);
  }
  // Delivers what is on the wire (1 ms per hop); runs timers when the wire is idle.
  void run(uint64_t max_us, bool (*done)(Net&) = nullptr) {
    const uint64_t end = g_now + max_us;
    while (g_now < end) {
      if (done != nullptr && done(*this)) return;
      if (!wire.empty()) {
        Packet p = std::move(wire.front());
        wire.pop_front();
        g_now += 100;
        (p.to == kServerIp ? server : client).receive(p.from, p.to, p.bytes.data(), p.bytes.size());
      } else {
        const uint64_t d = std::min(server.next_deadline(), client.next_deadline());
        if (d == UINT64_MAX) {
          if (done == nullptr) return;
          g_now += 1000;
        } else if (d > end) {
          g_now = end;  // the next timer lies beyond this run
          return;
        } else {
          g_now = std::max(g_now, d);
        }
      }
      server.tick();
      client.tick();
      if (hook) hook(*this);
    }
  }
  void (*hook)(Net&) = nullptr;
  ~Net() {
    server.reset();
    client.reset();
  }
};

std::string drain(Tcp& t, Socket* s) {
  std::string r;
  uint8_t b[4096];
  while (uint32_t n = t.recv(s, b, sizeof b)) r.append(reinterpret_cast<char*>(b), n);
  return r;
}

TEST(TcpTable, ConnectAcceptEchoCloseAndNothingLeaks) {
  const long before = g_live_allocations;
  {
    Net n;
    Listener* l = n.server.listen(80, 8);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(n.server.listen(80, 8), nullptr);  // taken
    Socket* c = n.client.connect(kServerIp, 80);
    ASSERT_NE(c, nullptr);
    n.run(1'000'000);
    EXPECT_EQ(c->conn.state(), State::kEstablished);
    Socket* s = n.server.accept(l);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(n.server.accept(l), nullptr);
    const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    n.client.send(c, reinterpret_cast<const uint8_t*>(req.data()), uint32_t(req.size()));
    n.run(1'000'000);
    EXPECT_EQ(drain(n.server, s), req);
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    n.server.send(s, reinterpret_cast<const uint8_t*>(resp.data()), uint32_t(resp.size()));
    n.server.release(s);  // the server closes after answering, like Toro's HTTP example
    n.run(1'000'000);
    EXPECT_EQ(drain(n.client, c), resp);
    EXPECT_TRUE(c->conn.peer_closed());
    n.client.release(c);
    n.run(200'000'000);  // through TIME-WAIT on the server side
    EXPECT_EQ(n.server.connections(), 0u);
    EXPECT_EQ(n.client.connections(), 0u);
    n.server.unlisten(l);
  }
  EXPECT_EQ(g_live_allocations, before);
}

// The server closes first and keeps the 4-tuple in TIME-WAIT; a new SYN from the same client
// port with a higher sequence number opens a new connection at once (RFC 1122 §4.2.2.13).
TEST(TcpTable, SynReopensATimeWaitTuple) {
  Net n;
  Listener* l = n.server.listen(80, 8);
  Socket* c = n.client.connect(kServerIp, 80);
  n.run(1'000'000);
  Socket* s = n.server.accept(l);
  ASSERT_NE(s, nullptr);
  const uint16_t client_port = c->conn.endpoints().local_port;
  n.server.release(s);
  n.run(1'000'000);
  n.client.release(c);
  n.run(1'000'000);
  ASSERT_EQ(n.server.connections(), 1u);  // TIME-WAIT
  Segment syn;
  syn.src_port = client_port;
  syn.dst_port = 80;
  syn.seq = 0xF0000000u;  // far beyond: a new incarnation
  syn.flags = kSyn;
  syn.window = 1000;
  uint8_t b[64];
  const size_t len = build(kClientIp, kServerIp, syn, b, sizeof b);
  n.wire.clear();
  n.server.receive(kClientIp, kServerIp, b, len);
  ASSERT_EQ(n.wire.size(), 1u);
  Segment reply;
  ASSERT_EQ(parse(kServerIp, kClientIp, n.wire[0].bytes.data(), n.wire[0].bytes.size(), &reply), ParseResult::kOk);
  EXPECT_EQ(reply.flags, kSyn | kAck);
  EXPECT_EQ(reply.ack, 0xF0000001u);
  EXPECT_EQ(l->half_open, 1u);
  n.wire.clear();
}

// A SYN whose sequence number is below the old connection's (the peer's ISNs wrapped) gets
// an ACK while the TIME-WAIT is fresh, and reopens the tuple once it has been quiet a second.
TEST(TcpTable, SynWithAnOldSequenceReopensAQuietTimeWait) {
  Net n;
  Listener* l = n.server.listen(80, 8);
  Socket* c = n.client.connect(kServerIp, 80);
  n.run(1'000'000);
  Socket* s = n.server.accept(l);
  ASSERT_NE(s, nullptr);
  const uint16_t client_port = c->conn.endpoints().local_port;
  const uint32_t low = s->conn.rcv_nxt() - 1000;
  n.server.release(s);
  n.run(100'000);
  n.client.release(c);
  n.run(100'000);
  ASSERT_EQ(n.server.connections(), 1u);  // TIME-WAIT
  auto syn = [&]() {
    Segment seg;
    seg.src_port = client_port;
    seg.dst_port = 80;
    seg.seq = low;
    seg.flags = kSyn;
    seg.window = 1000;
    uint8_t b[64];
    n.wire.clear();
    n.server.receive(kClientIp, kServerIp, b, build(kClientIp, kServerIp, seg, b, sizeof b));
    Segment reply;
    EXPECT_EQ(n.wire.size(), 1u);
    EXPECT_EQ(parse(kServerIp, kClientIp, n.wire[0].bytes.data(), n.wire[0].bytes.size(), &reply), ParseResult::kOk);
    n.wire.clear();
    return reply.flags;
  };
  EXPECT_EQ(syn(), kAck);  // fresh: the old connection answers
  EXPECT_EQ(l->half_open, 0u);
  g_now += Tcp::kTimeWaitReuseUs;
  EXPECT_EQ(syn(), kSyn | kAck);  // quiet for a second: a new connection
  EXPECT_EQ(l->half_open, 1u);
}

TEST(TcpTable, RefusedWithoutAListener) {
  Net n;
  Socket* c = n.client.connect(kServerIp, 81);
  n.run(1'000'000);
  EXPECT_EQ(c->conn.state(), State::kClosed);
  EXPECT_EQ(c->conn.error(), Error::kRefused);
  EXPECT_EQ(n.server.counters().resets_sent, 1u);
  n.client.release(c);
  EXPECT_EQ(n.client.connections(), 0u);
}

void bulk(unsigned loss, bool reorder) {
  Net n;
  n.loss_percent = loss;
  n.reorder = reorder;
  Listener* l = n.server.listen(80, 8);
  Socket* c = n.client.connect(kServerIp, 80);
  Socket* s = nullptr;
  std::string up(1 << 20, 0), down(1 << 20, 0);
  for (size_t i = 0; i < up.size(); ++i) {
    up[i] = char(i * 7 + (i >> 11));
    down[i] = char(i * 13 + (i >> 9));
  }
  std::string got_up, got_down;
  size_t sent_up = 0, sent_down = 0;
  for (int round = 0; round < 200000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++round) {
    if (s == nullptr) s = n.server.accept(l);
    if (c->conn.state() == State::kEstablished && sent_up < up.size()) {
      sent_up += n.client.send(c, reinterpret_cast<const uint8_t*>(up.data() + sent_up), uint32_t(up.size() - sent_up));
    }
    if (s != nullptr && sent_down < down.size()) {
      sent_down += n.server.send(s, reinterpret_cast<const uint8_t*>(down.data() + sent_down), uint32_t(down.size() - sent_down));
    }
    n.run(2'000);
    if (s != nullptr) got_up += drain(n.server, s);
    got_down += drain(n.client, c);
    ASSERT_NE(c->conn.state(), State::kClosed) << "round " << round << ", error " << int(c->conn.error());
  }
  EXPECT_TRUE(got_up == up) << got_up.size();
  EXPECT_TRUE(got_down == down) << got_down.size();
  if (loss != 0) {
    EXPECT_GT(n.dropped, 0u);
    EXPECT_GT(c->conn.retransmissions() + s->conn.retransmissions(), 0u);
  }
}

TEST(TcpTable, MegabyteBothWaysOnACleanLink) { bulk(0, false); }
TEST(TcpTable, MegabyteBothWaysWithFivePercentLossAndReordering) { bulk(5, true); }

TEST(TcpTable, SynFloodStaysBoundedAndTheServiceRecovers) {
  Net n;
  Listener* l = n.server.listen(80, 8);
  // 1000 SYNs from spoofed ports that never complete the handshake (their SYN,ACKs go nowhere).
  for (uint16_t port = 1000; port < 2000; ++port) {
    Segment syn;
    syn.src_port = port;
    syn.dst_port = 80;
    syn.seq = port * 1000u;
    syn.flags = kSyn;
    syn.window = 1000;
    uint8_t b[64];
    const size_t len = build(kClientIp, kServerIp, syn, b, sizeof b);
    n.server.receive(kClientIp, kServerIp, b, len);
  }
  n.wire.clear();
  const unsigned queue = Tcp::Config{}.syn_queue;
  EXPECT_EQ(n.server.connections(), queue);
  EXPECT_EQ(n.server.counters().syn_dropped_backlog, 0u);
  EXPECT_EQ(n.server.counters().syn_cookies_sent, 1000u - queue);  // answered, nothing kept
  EXPECT_EQ(l->half_open, queue);
  // The half-open ones time out (SYN,ACK retransmissions with back-off), then a real client gets in.
  n.hook = [](Net& net) { net.wire.erase(std::remove_if(net.wire.begin(), net.wire.end(), [](const Packet& p) {
                                             return p.to == kClientIp && load16(p.bytes.data() + 2) < 2000;
                                           }),
                                           net.wire.end()); };
  n.run(300'000'000);
  EXPECT_EQ(n.server.connections(), 0u);
  EXPECT_EQ(l->half_open, 0u);
  n.hook = nullptr;
  Socket* c = n.client.connect(kServerIp, 80);
  n.run(1'000'000);
  EXPECT_EQ(c->conn.state(), State::kEstablished);
  EXPECT_NE(n.server.accept(l), nullptr);
}

// SYN cookies (RFC 4987 §3.6): with a SYN queue of 2, twenty clients opening at once all get
// in; the 18 beyond the queue through cookies, their first data included, and nothing leaks.
TEST(TcpTable, ClientsBeyondTheSynQueueGetInWithCookies) {
  const long before = g_live_allocations;
  {
    Net n(2);
    Listener* l = n.server.listen(80, 32);
    std::vector<Socket*> clients;
    for (int i = 0; i < 20; ++i) clients.push_back(n.client.connect(kServerIp, 80));
    const std::string req = "GET / HTTP/1.1\r\n\r\n";
    for (Socket* c : clients) n.client.send(c, reinterpret_cast<const uint8_t*>(req.data()), uint32_t(req.size()));
    n.run(2'000'000);
    EXPECT_EQ(n.server.counters().syn_cookies_sent, 18u);
    EXPECT_EQ(n.server.counters().syn_cookies_accepted, 18u);
    EXPECT_EQ(n.server.counters().resets_sent, 0u);
    EXPECT_EQ(l->ready, 20u);
    for (int i = 0; i < 20; ++i) {
      Socket* s = n.server.accept(l);
      ASSERT_NE(s, nullptr) << i;
      EXPECT_EQ(s->conn.state(), State::kEstablished);
      EXPECT_EQ(drain(n.server, s), req) << i;
      const std::string resp = "reply " + std::to_string(s->conn.endpoints().remote_port);
      n.server.send(s, reinterpret_cast<const uint8_t*>(resp.data()), uint32_t(resp.size()));
      n.server.release(s);
    }
    EXPECT_EQ(n.server.accept(l), nullptr);
    EXPECT_EQ(l->ready, 0u);
    n.run(2'000'000);
    for (Socket* c : clients) {
      EXPECT_EQ(drain(n.client, c), "reply " + std::to_string(c->conn.endpoints().local_port));
      EXPECT_TRUE(c->conn.peer_closed());
      n.client.release(c);
    }
    n.run(200'000'000);
    EXPECT_EQ(n.server.connections(), 0u);
    EXPECT_EQ(n.client.connections(), 0u);
  }
  EXPECT_EQ(g_live_allocations, before);
}

// An ACK that does not carry a valid cookie gets a RST and creates nothing, even while cookies
// are being handed out; one with a valid cookie of another 4-tuple neither.
TEST(TcpTable, ForgedCookieAcksAreRefused) {
  Net n(1);
  Listener* l = n.server.listen(80, 8);
  auto syn_from = [&](uint16_t port) {
    Segment syn;
    syn.src_port = port;
    syn.dst_port = 80;
    syn.seq = 5000;
    syn.flags = kSyn;
    syn.window = 1000;
    uint8_t b[64];
    n.server.receive(kClientIp, kServerIp, b, build(kClientIp, kServerIp, syn, b, sizeof b));
  };
  syn_from(1000);  // fills the queue of one
  syn_from(1001);  // a cookie
  ASSERT_EQ(n.server.counters().syn_cookies_sent, 1u);
  ASSERT_EQ(n.wire.size(), 2u);
  Segment cookie;
  ASSERT_EQ(parse(kServerIp, kClientIp, n.wire.back().bytes.data(), n.wire.back().bytes.size(), &cookie),
            ParseResult::kOk);
  EXPECT_EQ(cookie.flags, kSyn | kAck);
  EXPECT_EQ(cookie.window_scale, -1);  // no room for it in a cookie
  n.wire.clear();
  auto ack_from = [&](uint16_t port, uint32_t ack) {
    Segment a;
    a.src_port = port;
    a.dst_port = 80;
    a.seq = 5001;
    a.ack = ack;
    a.flags = kAck;
    a.window = 1000;
    uint8_t b[64];
    n.server.receive(kClientIp, kServerIp, b, build(kClientIp, kServerIp, a, b, sizeof b));
  };
  ack_from(1001, 12345);
  ack_from(1001, cookie.seq + 0x1000000);  // the right MSS bits, another period's
  ack_from(1002, cookie.seq + 1);  // the right cookie from the wrong port
  EXPECT_EQ(n.server.counters().syn_cookies_accepted, 0u);
  EXPECT_EQ(n.server.counters().resets_sent, 3u);
  EXPECT_EQ(n.server.connections(), 1u);  // the SYN queue's one
  ack_from(1001, cookie.seq + 1);  // the real one
  EXPECT_EQ(n.server.counters().syn_cookies_accepted, 1u);
  EXPECT_EQ(l->ready, 1u);
}

// Keep-alive set through the table: its timer counts in next_deadline(), a live peer answers
// the probes, and once the peer is gone the connection closes after the unanswered ones.
TEST(TcpTable, KeepAliveThroughTheTable) {
  Net n;
  Listener* l = n.server.listen(80, 8);
  Socket* c = n.client.connect(kServerIp, 80);
  n.run(1'000'000);
  Socket* s = n.server.accept(l);
  ASSERT_NE(s, nullptr);
  n.server.set_options(s, false, 2'000'000, 500'000, 3);
  EXPECT_LE(n.server.next_deadline(), g_now + 2'000'000);
  const uint64_t out_before = n.server.counters().segments_out;
  n.run(10'000'000);  // probes every 2 s of silence, each answered
  EXPECT_EQ(s->conn.state(), State::kEstablished);
  EXPECT_GE(n.server.counters().segments_out - out_before, 4u);
  n.hook = [](Net& net) { net.wire.clear(); };  // the client vanishes
  n.run(10'000'000);
  EXPECT_EQ(s->conn.state(), State::kClosed);
  EXPECT_EQ(s->conn.error(), Error::kTimedOut);
  n.hook = nullptr;
  n.server.release(s);
  n.client.release(c);
}

TEST(TcpTable, ThousandConnectionsOpenedAndClosedLeakNothing) {
  const long before = g_live_allocations;
  {
    Net n;
    Listener* l = n.server.listen(80, 64);
    for (int i = 0; i < 1000; ++i) {
      Socket* c = n.client.connect(kServerIp, 80);
      ASSERT_NE(c, nullptr);
      n.run(50'000);
      Socket* s = n.server.accept(l);
      ASSERT_NE(s, nullptr) << i;
      n.client.release(c);  // the client closes first: TIME-WAIT is on the client
      n.server.release(s);
      n.run(50'000);
    }
    n.run(200'000'000);
    EXPECT_EQ(n.server.connections(), 0u);
    EXPECT_EQ(n.client.connections(), 0u);
    EXPECT_EQ(n.server.counters().connections_opened, 1000u);
    EXPECT_EQ(n.client.counters().connections_closed, 1000u);
    EXPECT_GE(n.server.counters().segments_in, 4000u);  // SYN, ACK, FIN, ACK at least
    n.server.unlisten(l);
  }
  EXPECT_EQ(g_live_allocations, before);
}

// The side that closes first keeps TIME-WAIT for a minute: those records lose their buffers,
// so a burst of short connections does not hold 34 KiB each.
TEST(TcpTable, TimeWaitRecordsAreSmall) {
  const long before = g_live_bytes;
  Net n;
  Listener* l = n.server.listen(80, 64);
  for (int i = 0; i < 200; ++i) {
    Socket* c = n.client.connect(kServerIp, 80);
    n.run(50'000);
    Socket* s = n.server.accept(l);
    ASSERT_NE(s, nullptr) << i;
    n.server.send(s, reinterpret_cast<const uint8_t*>("bye"), 3);
    n.server.release(s);  // the server closes first, like HelloWorldMicroservice
    n.run(50'000);
    EXPECT_EQ(drain(n.client, c), "bye");
    n.client.release(c);
    n.run(50'000);
  }
  EXPECT_EQ(n.server.connections(), 200u);  // all in TIME-WAIT
  EXPECT_EQ(n.client.connections(), 0u);
  const long per_record = (g_live_bytes - before) / 200;
  EXPECT_LT(per_record, 4096) << "bytes per TIME-WAIT record";
  n.run(200'000'000);
  EXPECT_EQ(n.server.connections(), 0u);
  n.server.unlisten(l);
  EXPECT_EQ(g_live_bytes, before);
}

}  // namespace
