// A simulated link between two TCP instances (the server at kServerIp, the client at
// kClientIp): every segment serialised with build() and parsed again, so checksums and options
// are on the path; optional loss and reordering; a clock that moves on at every reading; an
// allocator that counts what is live. tcp_table_test.cpp drives TCP over it, socket_test.cpp
// the sockets above TCP.
//
//   Net n;                                     // n.server, n.client: two tcp::Tcp
//   Listener* l = n.server.listen(80, 8);
//   Socket* c = n.client.connect(kServerIp, 80);
//   n.run(1'000'000);                          // 1 s of simulated time (or until a condition)
#pragma once

#include <gtest/gtest.h>
#include <net/tcp/tcp.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace net::test {

using namespace net;  // the tests that use the link name both unqualified
using namespace net::tcp;

inline uint64_t g_now = 1'000'000;
inline long g_live_allocations = 0;
inline long g_live_bytes = 0;
// The clock moves on by a microsecond at every reading, as a real one does between two reads
// in one event (a TCP that compares two readings must not assume they are equal).
inline uint64_t now_us() { return g_now++; }
inline void* allocate(size_t n) {
  ++g_live_allocations;
  g_live_bytes += long(n);
  auto* p = static_cast<size_t*>(malloc(n + 16));
  *p = n;
  return p + 2;
}
inline void release(void* p) {
  --g_live_allocations;
  size_t* h = static_cast<size_t*>(p) - 2;
  g_live_bytes -= long(*h);
  free(h);
}

inline const Ipv4 kServerIp = Ipv4::from_bytes(10, 0, 2, 15);
inline const Ipv4 kClientIp = Ipv4::from_bytes(10, 0, 2, 2);

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
  explicit Net(unsigned syn_queue = Tcp::Config{}.syn_queue, uint64_t server_memory_limit = UINT64_MAX,
               size_t server_max_orphans = 0) {
    Tcp::Config c;
    c.syn_queue = syn_queue;
    c.allocate = allocate;
    c.release = release;
    c.now_us = now_us;
    c.send = send;
    c.isn_key = {7, 8};
    c.ctx = &server_side;
    c.memory_limit = server_memory_limit;
    c.max_orphans = server_max_orphans;
    server.init(c, kServerIp);
    c.memory_limit = UINT64_MAX;
    c.max_orphans = 0;
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
        uint64_t d = std::min(server.next_deadline(), client.next_deadline());
        if (hook_due) d = std::min(d, hook_due());
        if (d == UINT64_MAX) {
          if (done == nullptr) return;
          g_now += 1000;
        } else if (d > end) {
          g_now = end;  // the next timer lies beyond this run
          if (hook) hook(*this);
          return;
        } else {
          g_now = std::max(g_now, d);
        }
      }
      server.tick();
      client.tick();
      if (hook) hook(*this);
      // Every connection's timers are where the wheel will find them.
      ASSERT_TRUE(server.timers_consistent());
      ASSERT_TRUE(client.timers_consistent());
    }
  }
  std::function<void(Net&)> hook;
  std::function<uint64_t()> hook_due;  // when the hook has work of its own next (UINT64_MAX: none)
  ~Net() {
    server.reset();
    client.reset();
  }
};

inline std::string drain(Tcp& t, Socket* s) {
  std::string r;
  uint8_t b[4096];
  while (uint32_t n = t.recv(s, b, sizeof b)) r.append(reinterpret_cast<char*>(b), n);
  return r;
}

}  // namespace net::test
