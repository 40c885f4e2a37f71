// The socket module (net/socket) on the host: stream sockets and services over two TCPs on the
// simulated link of tcp_link.h, UDP sockets and ICMP echo over two stacks on a simulated LAN.
// The kernel's part is this file's kKernel: a sleep runs the link, so blocking calls wait for
// what the peer does. The layer above is TestUp (what src/api/network.cpp is in the kernel):
// a Handle per socket and a Handler of plain callbacks, as Toro's TSocket and TNetworkHandler.
#include <net/socket/stream.h>

#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "tcp_link.h"

namespace {

using namespace net::test;
namespace ns = net::socket;

// ---------------------------------------------------------------------------------------------
// The kernel: the link's clock (ms), its counting allocator, and a sleep that runs the world.

std::function<void(uint64_t ms)> g_on_sleep;  // the current world's; nullptr: time only
uint64_t g_slept_ms = 0;

void* k_allocate(size_t n, size_t) { return allocate(n); }  // 16-byte aligned: enough for the records
void k_release(void* p) { release(p); }
uint64_t k_now_ms() { return g_now / 1000; }
// sched::run_before_yield's slot: work held until the "thread" gives up the CPU, which here is
// a sleep (a blocking wait) or the test's yield_cpu().
void (*g_before_yield)(void*) = nullptr;
void* g_before_yield_ctx = nullptr;
bool g_refuse_before_yield = false;  // the slot holds another module's work
bool k_run_before_yield(void (*fn)(void*), void* ctx) {
  if (g_refuse_before_yield) return false;
  if (g_before_yield != nullptr) return g_before_yield == fn && g_before_yield_ctx == ctx;
  g_before_yield = fn;
  g_before_yield_ctx = ctx;
  return true;
}
void yield_cpu() {
  void (*fn)(void*) = g_before_yield;
  g_before_yield = nullptr;
  if (fn != nullptr) fn(g_before_yield_ctx);
}
// kKernel.current_thread's answer: 0 (none) leaves blocking waits off the core's list of
// waiters, as before the scheduler runs; a test that looks at the list sets an id.
uint64_t g_thread_id = 0;
uint64_t k_current_thread() { return g_thread_id; }
void k_sleep_ms(uint64_t ms) {
  yield_cpu();
  g_slept_ms += ms;
  if (g_on_sleep) {
    g_on_sleep(ms);
  } else {
    g_now += ms * 1000;
  }
}

}  // namespace

const net::socket::Kernel net::socket::kKernel = {k_allocate, k_release,        k_now_ms,
                                                  k_sleep_ms, k_current_thread, k_run_before_yield};

namespace {

// ---------------------------------------------------------------------------------------------
// The layer above: handles and callbacks.

struct Handle {
  ns::StreamSocket* socket = nullptr;
  bool blocking = false;
  uint16_t local_port = 0, remote_port = 0;
  Ipv4 remote;
  uintptr_t user = 0;  // as TSocket::UserDefined: the application's own
};
using Callback = void (*)(Handle* h);
// Copied by Service::create, as the API copies a TNetworkHandler: plain data only.
struct Handler {
  void (*init)() = nullptr;
  Callback on[8] = {};  // by ns::Event; nullptr: none
};

int g_handles = 0;  // opened by the module and not yet freed
bool g_refuse_handles = false;
// With g_poison, a freed handle is filled with kPoison and kept (not given back) until the test
// looks at it: a read of a handle after its free shows the pattern instead of the old values.
constexpr uint8_t kPoison = 0xA5;
bool g_poison = false;
std::vector<Handle*> g_quarantine;
std::vector<std::pair<ns::Event, Handle*>> g_calls;

struct TestUp {
  static void* open(ns::StreamSocket* s, bool blocking) {
    if (g_refuse_handles) return nullptr;
    const tcp::Endpoints& e = *s->endpoints();
    ++g_handles;
    return new Handle{s, blocking, e.local_port, e.remote_port, e.remote};
  }
  static void free(void* handle) {
    --g_handles;
    if (g_poison) {
      memset(handle, kPoison, sizeof(Handle));
      g_quarantine.push_back(static_cast<Handle*>(handle));
      return;
    }
    delete static_cast<Handle*>(handle);
  }
  static void init(const void* app) {
    if (auto f = static_cast<const Handler*>(app)->init) f();
  }
  static bool call(const void* app, ns::Event e, void* handle) {
    Callback f = static_cast<const Handler*>(app)->on[int(e)];
    if (f == nullptr) return false;
    g_calls.emplace_back(e, static_cast<Handle*>(handle));
    f(static_cast<Handle*>(handle));
    return true;
  }
};

size_t calls(ns::Event e) {
  size_t n = 0;
  for (const auto& c : g_calls) n += c.first == e ? 1 : 0;
  return n;
}

// A socket with the test's own handle `h`.
ns::StreamSocket* new_stream(Handle* h) {
  auto* s = static_cast<ns::StreamSocket*>(ns::Socket::create(ns::Kind::kStream, h).value());
  h->socket = s;
  return s;
}

// A socket whose handle a service's dispatcher frees with it (as SysSocket's TSocket).
ns::StreamSocket* new_counted_stream() {
  ++g_handles;
  return new_stream(new Handle);
}

// ---------------------------------------------------------------------------------------------
// Stream sockets: the server's sockets over n.server, the client's over n.client.

struct TcpWorld {
  Net n;
  Stack unused;  // stream sockets never use the stack
  ns::Sockets server{}, client{};
  std::function<void()> after_sleep;  // e.g. the peer reads

  TcpWorld() {
    server.attach(&unused, &n.server, 0);
    client.attach(&unused, &n.client, 1);
    g_on_sleep = [this](uint64_t ms) { advance(ms); };
  }
  ~TcpWorld() { g_on_sleep = nullptr; }
  // `ms` of simulated time: the link delivers and the timers run.
  void advance(uint64_t ms) {
    const uint64_t end = g_now + ms * 1000;
    n.run(ms * 1000);
    if (g_now < end) g_now = end;
    if (after_sleep) after_sleep();
  }
  // Until nothing is in flight (at most `ms`).
  void settle(uint64_t ms = 100) {
    n.run(ms * 1000, [](Net& net) { return net.wire.empty(); });
  }
  void send(tcp::Socket* c, const std::string& s) {
    n.client.send(c, reinterpret_cast<const uint8_t*>(s.data()), uint32_t(s.size()));
  }
};

// The service tests' (DoInit has no argument, as Toro's).
ns::Sockets* g_here = nullptr;
Handle g_listener_handle;
ns::StreamSocket* g_listener = nullptr;
klib::Status g_listen_status;
int g_inits = 0;

struct SocketTest : ::testing::Test {
  long live_before = 0;
  void SetUp() override {
    g_calls.clear();
    g_handles = 0;
    g_refuse_handles = false;
    g_slept_ms = 0;
    g_listener = nullptr;
    live_before = g_live_allocations;
  }
  void TearDown() override {
    EXPECT_EQ(g_handles, 0);
    EXPECT_EQ(g_live_allocations, live_before);  // records, connections and buffers all back
  }
};

std::string read_all(ns::StreamSocket* s) {
  std::string r;
  char b[512];
  while (uint32_t n = s->recv(b, sizeof b)) r.append(b, n);
  return r;
}

// A blocking listener on port 80 of the server side; accept_one() has the client connect and
// takes the connection (blocking); finish() closes what is open and runs past TIME-WAIT.
struct ListenerWorld : TcpWorld {
  Handle lh;
  ns::StreamSocket* l = new_stream(&lh);
  tcp::Socket* c = nullptr;       // the client's end
  ns::StreamSocket* s = nullptr;  // the server's, accepted
  ListenerWorld() { EXPECT_TRUE(l->listen(&server, 80, 4, true)); }
  void accept_one() {
    c = n.client.connect(kServerIp, 80);
    s = l->accept<TestUp>(true).value();  // waits: the link runs meanwhile
  }
  void close_accepted() {
    TestUp::free(s->handle());  // the caller's, as the API's TSocket
    EXPECT_TRUE(s->close());    // not a service's: freed now
    s = nullptr;
  }
  void finish() {
    if (s != nullptr) close_accepted();
    if (c != nullptr) n.client.release(c);
    advance(200'000);
    EXPECT_TRUE(l->close());
  }
};

TEST_F(SocketTest, BlockingListenAcceptRecvSendClose) {
  ListenerWorld w;
  w.accept_one();
  ASSERT_NE(w.s, nullptr);
  auto* h = static_cast<Handle*>(w.s->handle());
  EXPECT_TRUE(h->blocking);
  EXPECT_EQ(h->local_port, 80);
  EXPECT_EQ(h->remote_port, w.c->conn.endpoints().local_port);
  EXPECT_EQ(h->remote, kClientIp);

  w.send(w.c, "ping");
  EXPECT_TRUE(w.s->select(1000, true));  // waits for the data
  char b[8];
  EXPECT_EQ(w.s->peek(b, sizeof b), 4u);
  EXPECT_EQ(std::string(b, 4), "ping");
  EXPECT_EQ(read_all(w.s), "ping");
  EXPECT_EQ(w.s->send("pong", 4, true), 4u);
  w.close_accepted();
  w.settle();
  EXPECT_EQ(drain(w.n.client, w.c), "pong");
  EXPECT_TRUE(w.c->conn.peer_closed());
  w.finish();
  EXPECT_EQ(w.n.server.connections(), 0u);  // through TIME-WAIT
}

// The server's segments on the wire, parsed (the link has not delivered them yet).
std::vector<Segment> server_segments(const Net& n) {
  std::vector<Segment> out;
  for (const Packet& p : n.wire) {
    Segment seg;
    if (p.from == kServerIp && parse(p.from, p.to, p.bytes.data(), p.bytes.size(), &seg) == ParseResult::kOk) {
      out.push_back(seg);
    }
  }
  return out;
}

// One accepted connection, its handshake over.
struct AcceptedWorld : ListenerWorld {
  AcceptedWorld() {
    accept_one();
    settle();
  }
};

// A blocking send is held until the thread gives up the CPU (here a sleep or yield_cpu()), and
// an answer followed by close() leaves as one segment with FIN (one frame less per request).
TEST_F(SocketTest, BlockingSendIsHeldUntilTheThreadYieldsOrCloses) {
  AcceptedWorld w;
  ASSERT_NE(w.s, nullptr);
  EXPECT_EQ(w.s->send("held", 4, true), 4u);
  EXPECT_TRUE(server_segments(w.n).empty());  // corked
  yield_cpu();                                // the thread gives up the CPU: it leaves
  ASSERT_EQ(server_segments(w.n).size(), 1u);
  EXPECT_EQ(server_segments(w.n)[0].payload_length, 4u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, w.c), "held");

  EXPECT_EQ(w.s->send("answer", 6, true), 6u);
  EXPECT_EQ(w.s->send("+more", 5, true), 5u);  // held with the first
  EXPECT_TRUE(server_segments(w.n).empty());
  w.close_accepted();
  const std::vector<Segment> out = server_segments(w.n);
  ASSERT_EQ(out.size(), 1u);  // data and FIN together
  EXPECT_EQ(out[0].payload_length, 11u);
  EXPECT_TRUE(out[0].has(kFin));
  yield_cpu();  // nothing left to flush: the closed socket is off the core's list
  EXPECT_EQ(server_segments(w.n).size(), 1u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, w.c), "answer+more");
  EXPECT_TRUE(w.c->conn.peer_closed());
  w.finish();
}

// A send larger than the room in the send buffer is not held: what was held goes first, in
// order, then the send waits for room as before.
TEST_F(SocketTest, ABlockingSendThatDoesNotFitIsNotHeld) {
  AcceptedWorld w;
  ASSERT_NE(w.s, nullptr);
  EXPECT_EQ(w.s->send("first:", 6, true), 6u);
  std::string big(200'000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  std::string got;
  w.after_sleep = [&] { got += drain(w.n.client, w.c); };
  EXPECT_EQ(w.s->send(big.data(), uint32_t(big.size()), true), uint32_t(big.size()));
  w.close_accepted();
  w.settle(5000);
  w.after_sleep = nullptr;
  got += drain(w.n.client, w.c);
  EXPECT_EQ(got, "first:" + big);
  w.finish();
}

// With the core's slot taken by other work, a blocking send goes at once, as without the hook.
TEST_F(SocketTest, ABlockingSendGoesAtOnceWhenNothingCanHoldIt) {
  AcceptedWorld w;
  ASSERT_NE(w.s, nullptr);
  g_refuse_before_yield = true;
  EXPECT_EQ(w.s->send("now", 3, true), 3u);
  g_refuse_before_yield = false;
  ASSERT_EQ(server_segments(w.n).size(), 1u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, w.c), "now");
  w.finish();
}

// One held socket per core: a send on a second socket lets out what the first held (as a yield
// would); closing the held socket takes it off the core, so the yield after finds nothing (the
// ASan build checks no freed record is flushed).
TEST_F(SocketTest, ASecondSocketsSendLetsTheFirstOneGoAndACloseUnplugs) {
  ListenerWorld w;
  w.accept_one();
  ns::StreamSocket* first = w.s;
  tcp::Socket* first_client = w.c;
  w.accept_one();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(w.s, nullptr);
  w.settle();
  EXPECT_EQ(first->send("one", 3, true), 3u);
  EXPECT_TRUE(server_segments(w.n).empty());
  EXPECT_EQ(w.s->send("two", 3, true), 3u);  // "one" leaves; "two" is held
  ASSERT_EQ(server_segments(w.n).size(), 1u);
  EXPECT_EQ(server_segments(w.n)[0].payload_length, 3u);
  TestUp::free(w.s->handle());
  EXPECT_TRUE(w.s->close());  // "two" and its FIN in one segment
  w.s = nullptr;
  ASSERT_EQ(server_segments(w.n).size(), 2u);
  EXPECT_TRUE(server_segments(w.n)[1].has(kFin));
  EXPECT_EQ(server_segments(w.n)[1].payload_length, 3u);
  yield_cpu();  // nothing held any more
  EXPECT_EQ(server_segments(w.n).size(), 2u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, first_client), "one");
  EXPECT_EQ(drain(w.n.client, w.c), "two");
  TestUp::free(first->handle());
  EXPECT_TRUE(first->close());
  w.n.client.release(first_client);
  w.finish();
}

TEST_F(SocketTest, ListenAndAcceptCheckTheirArguments) {
  TcpWorld w;
  Handle h1, h2;
  ns::StreamSocket* s = new_stream(&h1);
  ns::StreamSocket* t = new_stream(&h2);
  EXPECT_EQ(s->listen(nullptr, 80, 4, true).error(), klib::Error::kNoDevice);
  EXPECT_EQ(s->listen(&w.server, 0, 4, true).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(s->listen(&w.server, 70000, 4, true).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(s->listen(&w.server, 80, 4, false).error(), klib::Error::kNotSupported);  // outside a service
  EXPECT_EQ(s->accept<TestUp>(true).error(), klib::Error::kNotConnected);
  ASSERT_TRUE(s->listen(&w.server, 80, 4, true));
  EXPECT_EQ(s->listen(&w.server, 81, 4, true).error(), klib::Error::kBusy);  // listening already
  EXPECT_EQ(t->listen(&w.server, 80, 4, true).error(), klib::Error::kBusy);  // the port is taken
  EXPECT_EQ(s->accept<TestUp>(false).error(), klib::Error::kNotSupported);
  EXPECT_EQ(s->connect(&w.server, kClientIp, 80, true).error(), klib::Error::kBusy);
  EXPECT_TRUE(s->close());
  EXPECT_TRUE(t->close());
}

TEST_F(SocketTest, BlockingSelectTimesOutThenSeesThePeerClose) {
  ListenerWorld w;
  w.accept_one();
  const uint64_t start = g_now / 1000;
  EXPECT_FALSE(w.s->select(200, true));  // nothing came
  EXPECT_GE(g_now / 1000 - start, 200u);
  w.n.client.release(w.c);  // FIN, no data
  w.c = nullptr;
  const uint64_t closing = g_now / 1000;
  EXPECT_FALSE(w.s->select(5000, true));  // the peer closed: no need to wait it out
  EXPECT_LT(g_now / 1000 - closing, 100u);
  char b[4];
  EXPECT_EQ(w.s->recv(b, sizeof b), 0u);
  w.finish();
}

// A blocked thread is listed with its own connection's event count: the packet thread's wake
// (kernel.h, wake_services) resumes it for that connection's segments, not another's.
TEST_F(SocketTest, AWaiterHasNewsFromItsOwnConnectionOnly) {
  ListenerWorld w;
  w.accept_one();
  tcp::Socket* c2 = w.n.client.connect(kServerIp, 80);
  ns::StreamSocket* s2 = w.l->accept<TestUp>(true).value();
  ASSERT_NE(s2, nullptr);
  std::vector<int> news;  // per sleep of the waiter: its place's has_news(), -1 if not listed
  w.after_sleep = [&] {
    int seen = -1;
    for (const ns::Sockets::Blocked& b : w.server.blocked) {
      if (b.thread == 7) seen = b.has_news();
    }
    news.push_back(seen);
    if (news.size() == 1) w.send(w.c, "ping");  // its own data comes in the next sleep
  };
  w.send(c2, "other");  // the other connection's data comes in the first sleep
  g_thread_id = 7;
  EXPECT_TRUE(w.s->select(1000, true));
  g_thread_id = 0;
  w.after_sleep = nullptr;
  EXPECT_EQ(news, (std::vector<int>{0, 1}));
  EXPECT_EQ(w.server.blocked_count, 0);  // its place given back
  EXPECT_EQ(read_all(s2), "other");
  EXPECT_EQ(read_all(w.s), "ping");
  TestUp::free(s2->handle());
  EXPECT_TRUE(s2->close());
  w.n.client.release(c2);
  w.finish();
}

TEST_F(SocketTest, BlockingSendWaitsForRoomUntilAllIsQueued) {
  ListenerWorld w;
  w.accept_one();
  std::string got;
  w.after_sleep = [&] { got += drain(w.n.client, w.c); };  // the peer reads as the sender waits
  std::string data(100'000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  EXPECT_EQ(w.s->send(data.data(), uint32_t(data.size()), true), data.size());  // far beyond one buffer
  EXPECT_GT(g_slept_ms, 0u);
  w.close_accepted();  // FIN after what is still queued
  for (int ms = 0; ms < 10'000 && !w.c->conn.peer_closed(); ++ms) w.advance(1);
  EXPECT_EQ(got, data);
  w.after_sleep = nullptr;
  w.finish();
}

TEST_F(SocketTest, BlockingConnectWaitsForTheHandshakeOrTheRefusal) {
  TcpWorld w;
  tcp::Listener* raw = w.n.server.listen(81, 4);
  Handle h1, h2, h3;
  ns::StreamSocket* s = new_stream(&h1);
  EXPECT_EQ(s->connect(nullptr, kServerIp, 81, true).error(), klib::Error::kNoDevice);
  EXPECT_EQ(s->connect(&w.client, kServerIp, 0, true).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(s->connect(&w.client, kServerIp, 81, false).error(), klib::Error::kNotSupported);  // outside a service
  ASSERT_TRUE(s->connect(&w.client, kServerIp, 81, true));
  ASSERT_NE(s->endpoints(), nullptr);
  EXPECT_NE(s->endpoints()->local_port, 0);
  EXPECT_EQ(s->connect(&w.client, kServerIp, 81, true).error(), klib::Error::kBusy);
  tcp::Socket* peer = w.n.server.accept(raw);
  ASSERT_NE(peer, nullptr);
  ns::StreamSocket* refused = new_stream(&h2);
  EXPECT_EQ(refused->connect(&w.client, kServerIp, 82, true).error(), klib::Error::kClosed);  // RST: no listener
  EXPECT_TRUE(refused->close());
  EXPECT_TRUE(s->close());
  w.n.server.release(peer);
  ns::StreamSocket* unused = new_stream(&h3);
  EXPECT_EQ(unused->endpoints(), nullptr);
  EXPECT_TRUE(unused->close());
  w.advance(200'000);
  w.n.server.unlisten(raw);
}

// Keep-alive set on the listener reaches the connections it accepts: a peer that vanishes is
// found out and the blocking reader wakes.
TEST_F(SocketTest, OptionsNeedAnOpenSocketAndPassFromTheListener) {
  Handle fresh_handle;
  ns::StreamSocket* fresh = new_stream(&fresh_handle);
  EXPECT_EQ(fresh->set_nagle(true).error(), klib::Error::kNotConnected);
  EXPECT_EQ(fresh->set_keepalive(1000, 500, 2).error(), klib::Error::kNotConnected);
  EXPECT_EQ(fresh->set_keepalive(-1, 500, 2).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(fresh->set_keepalive(1000, 0, 2).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(fresh->set_keepalive(1000, 500, 0).error(), klib::Error::kInvalidArgument);
  EXPECT_TRUE(fresh->close());
  ListenerWorld w;
  EXPECT_TRUE(w.l->set_nagle(false));
  EXPECT_TRUE(w.l->set_keepalive(1000, 500, 2));
  w.accept_one();
  w.n.loss_percent = 100;  // the peer is gone
  const uint64_t start = g_now / 1000;
  EXPECT_FALSE(w.s->select(60'000, true));  // ends by keep-alive, long before the minute
  EXPECT_LT(g_now / 1000 - start, 10'000u);
  w.close_accepted();
  w.n.loss_percent = 0;
  w.finish();
}

// ---------------------------------------------------------------------------------------------
// Services (toro-spec §2.9.6): DoInit listens; the dispatcher accepts and calls back.

void init_listen() {
  ++g_inits;
  g_listener = new_stream(&g_listener_handle);
  g_listen_status = g_listener->listen(g_here, 8080, 8, false);  // non-blocking: the service's
}

ns::Service* start_service(ns::Sockets* here, const Handler& h) {
  g_here = here;
  klib::Result<ns::Service*> sv = ns::Service::create(here, &h, sizeof h);
  EXPECT_TRUE(sv);
  sv.value()->start<TestUp>();
  return sv.value();
}

void stop_service(ns::Service* sv) {
  if (g_listener != nullptr) {
    EXPECT_TRUE(g_listener->close());  // the listener is not a client: freed now
  }
  g_listener = nullptr;
  sv->destroy();
}

// Callbacks as HelloWorldMicroservice's: wait for the request, answer, close.
void select_20s(Handle* h) { h->socket->select(20'000, false); }
void answer_and_close(Handle* h) {
  char b[64];
  while (h->socket->recv(b, sizeof b) != 0) {
  }
  h->socket->send("hello", 5, false);
  h->socket->close();
  h->socket->close();  // twice: harmless
}
void just_close(Handle* h) { h->socket->close(); }
void do_nothing(Handle*) {}

// A service on the server side whose DoInit listens on 8080 (init_listen), with the callbacks
// `on`; the client connects to it. finish() ends a test: the client lets go, the link runs past
// TIME-WAIT, the service stops.
struct ServiceWorld : TcpWorld {
  ns::Service* sv;
  explicit ServiceWorld(std::initializer_list<std::pair<ns::Event, Callback>> on) {
    Handler h;
    h.init = init_listen;
    for (const auto& [event, callback] : on) h.on[int(event)] = callback;
    sv = start_service(&server, h);
  }
  tcp::Socket* connect() {
    tcp::Socket* c = n.client.connect(kServerIp, 8080);
    settle();
    return c;
  }
  bool pass() { return sv->dispatch<TestUp>(); }
  void finish(tcp::Socket* c) {
    if (c != nullptr) n.client.release(c);
    advance(200'000);
    stop_service(sv);
  }
};

TEST_F(SocketTest, ServiceRunsDoInitOnceThenAcceptsAndAnswers) {
  g_inits = 0;
  ServiceWorld w({{ns::Event::kAccept, select_20s},
                  {ns::Event::kReceive, answer_and_close},
                  {ns::Event::kClose, just_close},
                  {ns::Event::kTimeout, just_close}});
  EXPECT_EQ(g_inits, 1);
  ASSERT_TRUE(g_listen_status);
  EXPECT_EQ(ns::Service::current(), w.sv);
  EXPECT_FALSE(w.pass());  // nothing yet

  tcp::Socket* c = w.connect();
  EXPECT_TRUE(w.pass());
  ASSERT_EQ(calls(ns::Event::kAccept), 1u);
  Handle* ah = g_calls[0].second;
  EXPECT_FALSE(ah->blocking);
  EXPECT_EQ(ah->local_port, 8080);
  EXPECT_EQ(ah->remote, kClientIp);
  EXPECT_FALSE(w.pass());  // waiting for data: no callback

  w.send(c, "GET / HTTP/1.0\r\n\r\n");
  w.settle();
  w.n.wire.clear();
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(calls(ns::Event::kReceive), 1u);
  EXPECT_EQ(g_handles, 0);  // closed in the callback: the dispatcher freed the socket and its handle
  // The answer and the FIN left in one segment (the callback runs corked).
  size_t with_data = 0;
  for (const Packet& p : w.n.wire) {
    tcp::Segment seg;
    ASSERT_EQ(tcp::parse(p.from, p.to, p.bytes.data(), p.bytes.size(), &seg), tcp::ParseResult::kOk);
    if (seg.payload_length == 0) continue;
    ++with_data;
    EXPECT_TRUE(seg.has(tcp::kFin));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(seg.payload), seg.payload_length), "hello");
  }
  EXPECT_EQ(with_data, 1u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, c), "hello");
  EXPECT_TRUE(c->conn.peer_closed());
  w.finish(c);
  EXPECT_EQ(g_inits, 1);
}

// Toro programs read Socket->UserDefined after SysSocketClose in the same callback (issue 13;
// toro-spec §2.9.6: Toro's stack freed sockets later): a handle closed in its callback stays
// valid until the callback returns, and is freed then. Freed handles are poisoned: had close()
// freed it, the read after it would see the pattern.
TEST_F(SocketTest, AHandleClosedInItsCallbackStaysValidUntilTheCallbackReturns) {
  static uintptr_t seen_after_close;
  static Handle* closed;
  seen_after_close = 0;
  closed = nullptr;
  g_poison = true;
  ServiceWorld w({{ns::Event::kAccept, [](Handle* h) {
                     h->user = 0x1234;
                     h->socket->close();
                     seen_after_close = h->user;
                     closed = h;
                   }}});
  tcp::Socket* c = w.connect();
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(seen_after_close, 0x1234u);
  ASSERT_NE(closed, nullptr);
  ASSERT_EQ(g_quarantine.size(), 1u);  // freed once the callback returned ...
  EXPECT_EQ(g_quarantine[0], closed);
  uintptr_t poisoned;
  memset(&poisoned, kPoison, sizeof poisoned);
  EXPECT_EQ(closed->user, poisoned);  // ... and its memory was overwritten then
  g_poison = false;
  for (Handle* h : g_quarantine) delete h;
  g_quarantine.clear();
  w.finish(c);
}

TEST_F(SocketTest, ACallbackThatDoesNotMoveItsSocketOnIsCalledAgain) {
  ServiceWorld w({{ns::Event::kAccept, do_nothing}});  // neither select() nor close()
  tcp::Socket* c = w.connect();
  EXPECT_TRUE(w.pass());
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(calls(ns::Event::kAccept), 2u);
  just_close(g_calls[0].second);
  EXPECT_FALSE(w.pass());  // freed now
  w.finish(c);
}

TEST_F(SocketTest, DoTimeOutWhenTheSelectTimeoutPasses) {
  ServiceWorld w(
      {{ns::Event::kAccept, [](Handle* a) { a->socket->select(100, false); }}, {ns::Event::kTimeout, just_close}});
  tcp::Socket* c = w.connect();
  w.pass();
  w.advance(50);
  EXPECT_FALSE(w.pass());
  EXPECT_EQ(calls(ns::Event::kTimeout), 0u);
  w.advance(60);
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(calls(ns::Event::kTimeout), 1u);
  EXPECT_EQ(g_handles, 0);
  w.settle();
  EXPECT_TRUE(c->conn.peer_closed());  // DoTimeOut closed it
  w.finish(c);
}

TEST_F(SocketTest, DataBeforeTheTimeoutMeansDoReceive) {
  ServiceWorld w({{ns::Event::kAccept, [](Handle* a) { a->socket->select(10'000, false); }},
                  {ns::Event::kReceive, answer_and_close},
                  {ns::Event::kTimeout, just_close}});
  tcp::Socket* c = w.connect();
  w.pass();
  w.advance(100);
  w.send(c, "x");
  w.settle();
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(calls(ns::Event::kReceive), 1u);
  EXPECT_EQ(calls(ns::Event::kTimeout), 0u);
  w.settle();
  EXPECT_EQ(drain(w.n.client, c), "hello");
  w.finish(c);
}

// The peer sends a request and closes at once: DoReceive for the data, then DoClose.
TEST_F(SocketTest, APeerThatClosedGetsDoClose) {
  ServiceWorld w({{ns::Event::kAccept, select_20s},
                  {ns::Event::kReceive,
                   [](Handle* a) {
                     read_all(a->socket);
                     a->socket->select(20'000, false);  // more?
                   }},
                  {ns::Event::kClose, just_close}});
  tcp::Socket* c = w.connect();
  w.send(c, "request");
  w.n.client.release(c);  // FIN after the data
  w.settle();
  EXPECT_TRUE(w.pass());  // DoAccept: data waits, so DoReceive comes next
  EXPECT_TRUE(w.pass());  // DoReceive: the peer closed, so DoClose comes next
  EXPECT_TRUE(w.pass());
  ASSERT_EQ(g_calls.size(), 3u);
  EXPECT_EQ(g_calls[0].first, ns::Event::kAccept);
  EXPECT_EQ(g_calls[1].first, ns::Event::kReceive);
  EXPECT_EQ(g_calls[2].first, ns::Event::kClose);
  EXPECT_EQ(g_handles, 0);
  w.finish(nullptr);
}

// A peer that closes while the socket waits for data: DoClose instead of DoTimeOut.
TEST_F(SocketTest, APeerClosingWhileWaitingGetsDoClose) {
  ServiceWorld w(
      {{ns::Event::kAccept, select_20s}, {ns::Event::kClose, just_close}, {ns::Event::kTimeout, just_close}});
  tcp::Socket* c = w.connect();
  w.pass();
  w.n.client.release(c);
  w.settle();
  EXPECT_TRUE(w.pass());
  EXPECT_EQ(calls(ns::Event::kClose), 1u);
  EXPECT_EQ(calls(ns::Event::kTimeout), 0u);
  w.finish(nullptr);
}

// No DoAccept, or no memory for an accepted socket's handle: the connection is closed.
TEST_F(SocketTest, ANilCallbackClosesTheSocket) {
  ServiceWorld w({});
  tcp::Socket* c = w.connect();
  w.pass();
  EXPECT_TRUE(g_calls.empty());
  EXPECT_EQ(g_handles, 0);
  w.settle();
  EXPECT_TRUE(c->conn.peer_closed());
  w.finish(c);
}

TEST_F(SocketTest, NoMemoryForAnAcceptedSocketClosesItsConnection) {
  ServiceWorld w({{ns::Event::kAccept, select_20s}});
  tcp::Socket* c = w.connect();
  g_refuse_handles = true;
  EXPECT_FALSE(w.pass());
  EXPECT_TRUE(g_calls.empty());
  w.settle();
  EXPECT_TRUE(c->conn.peer_closed());
  w.finish(c);
}

TEST_F(SocketTest, ClosingTheListenerInACallbackStopsAccepting) {
  ServiceWorld w({{ns::Event::kAccept, [](Handle* a) {
                     EXPECT_TRUE(g_listener->close());  // the server socket: not a client, freed now
                     g_listener = nullptr;
                     a->socket->close();
                   }}});
  tcp::Socket* c1 = w.connect();
  EXPECT_TRUE(w.pass());
  tcp::Socket* c2 = w.connect();
  EXPECT_FALSE(w.pass());
  EXPECT_EQ(calls(ns::Event::kAccept), 1u);
  EXPECT_EQ(c2->conn.state(), tcp::State::kClosed);  // refused: nobody listens
  w.n.client.release(c2);
  w.finish(c1);
}

// A service on the client side connects (non-blocking): DoConnect, or DoConnectFail.
void* g_connecting[2];
void init_connect() {
  ns::StreamSocket* ok = new_counted_stream();
  ns::StreamSocket* refused = new_counted_stream();
  g_connecting[0] = ok->handle();
  g_connecting[1] = refused->handle();
  EXPECT_TRUE(ok->connect(g_here, kServerIp, 81, false));  // returns at once
  EXPECT_TRUE(refused->connect(g_here, kServerIp, 82, false));
}

TEST_F(SocketTest, NonBlockingConnectReportsDoConnectOrDoConnectFail) {
  TcpWorld w;
  tcp::Listener* raw = w.n.server.listen(81, 4);
  Handler h;
  h.init = init_connect;
  h.on[int(ns::Event::kConnect)] = [](Handle* a) { a->socket->close(); };
  h.on[int(ns::Event::kConnectFail)] = [](Handle* a) { a->socket->close(); };
  ns::Service* sv = start_service(&w.client, h);
  EXPECT_FALSE(sv->dispatch<TestUp>());  // handshakes under way
  w.settle();
  EXPECT_TRUE(sv->dispatch<TestUp>());
  ASSERT_EQ(g_calls.size(), 2u);
  EXPECT_EQ(calls(ns::Event::kConnect), 1u);
  EXPECT_EQ(calls(ns::Event::kConnectFail), 1u);
  for (const auto& c : g_calls) EXPECT_EQ(c.second, c.first == ns::Event::kConnect ? g_connecting[0] : g_connecting[1]);
  EXPECT_EQ(g_handles, 0);  // closed in their callbacks: freed with their handles
  tcp::Socket* peer = w.n.server.accept(raw);
  ASSERT_NE(peer, nullptr);
  w.n.server.release(peer);
  w.advance(200'000);
  w.n.server.unlisten(raw);
  sv->destroy();
}

TEST_F(SocketTest, ACoreRunsAtMostKMaxServices) {
  TcpWorld w;
  Handler h;
  w.server.service_count = ns::Sockets::kMaxServices;  // run_service counts them (the kernel's side)
  EXPECT_EQ(ns::Service::create(&w.server, &h, sizeof h).error(), klib::Error::kLimit);
}

// ---------------------------------------------------------------------------------------------
// UDP sockets and ICMP echo: two stacks on a LAN, `a` ours (kServerIp), `b` the peer.

const Mac kMacA{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const Mac kMacB{{0x52, 0x55, 0x0A, 0x00, 0x02, 0x02}};
uint64_t lan_ms() { return g_now / 1000; }

struct Lan {
  Stack a, b;
  ns::Sockets here{}, peer{};
  std::vector<std::pair<Stack*, std::vector<uint8_t>>> frames;
  bool refuse = false;  // the cards refuse every frame
  size_t refused = 0;
  std::function<void()> after_sleep;
  struct Port {
    Lan* lan;
    Stack* to;
  } to_b{this, &b}, to_a{this, &a};

  static bool send(void* ctx, const uint8_t* f, size_t n) {
    auto* p = static_cast<Port*>(ctx);
    if (p->lan->refuse) {
      ++p->lan->refused;
      return false;
    }
    p->lan->frames.emplace_back(p->to, std::vector<uint8_t>(f, f + n));
    return true;
  }
  Lan() {
    const Ipv4 mask = Ipv4::from_bytes(255, 255, 255, 0);
    a.configure(kMacA, kServerIp, kClientIp, mask, {send, &to_b}, lan_ms);
    b.configure(kMacB, kClientIp, kClientIp, mask, {send, &to_a}, lan_ms);
    here.attach(&a, nullptr, 0);
    peer.attach(&b, nullptr, 1);
    g_on_sleep = [this](uint64_t ms) {
      g_now += ms * 1000;
      run();
      if (after_sleep) after_sleep();
    };
  }
  ~Lan() { g_on_sleep = nullptr; }
  // Delivers every frame, and those they cause.
  void run() {
    while (!frames.empty()) {
      auto f = std::move(frames.front());
      frames.erase(frames.begin());
      f.first->receive_frame(f.second.data(), f.second.size());
    }
  }
};

ns::UdpSocket* new_udp() {
  return static_cast<ns::UdpSocket*>(ns::Socket::create(ns::Kind::kDatagram, nullptr).value());
}

TEST_F(SocketTest, DatagramsBothWays) {
  Lan lan;
  ns::UdpSocket* u = new_udp();
  ns::UdpSocket* p = new_udp();
  EXPECT_EQ(u->kind(), ns::Kind::kDatagram);
  ASSERT_TRUE(u->bind(&lan.here, 7));
  ASSERT_TRUE(p->bind(&lan.peer, 5000));
  EXPECT_EQ(u->owner(), &lan.here);
  ASSERT_TRUE(ns::send_datagram(&lan.peer, 5000, kServerIp, 7, "hello", 5));  // held for ARP, then sent
  lan.run();
  char b[16];
  ns::UdpSocket::From from;
  ASSERT_TRUE(u->recv(b, sizeof b, false, &from));
  EXPECT_EQ(std::string(b, from.length), "hello");
  EXPECT_EQ(from.ip, kClientIp);
  EXPECT_EQ(from.port, 5000);
  EXPECT_FALSE(u->recv(b, sizeof b, false, &from));                               // non-blocking: nothing more
  ASSERT_TRUE(ns::send_datagram(&lan.here, 7, from.ip, from.port, "world!", 6));  // the answer
  lan.run();
  ASSERT_TRUE(p->recv(b, 3, false, &from));  // cut to what fits
  EXPECT_EQ(std::string(b, from.length), "wor");
  EXPECT_EQ(from.port, 7);
  EXPECT_TRUE(u->close(&lan.here));
  EXPECT_TRUE(p->close(&lan.peer));
}

TEST_F(SocketTest, DatagramBindChecksItsArguments) {
  Lan lan;
  ns::UdpSocket* u = new_udp();
  ns::UdpSocket* v = new_udp();
  EXPECT_EQ(u->bind(nullptr, 7).error(), klib::Error::kNoDevice);
  EXPECT_EQ(u->bind(&lan.here, 0).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(u->bind(&lan.here, 65536).error(), klib::Error::kInvalidArgument);
  ASSERT_TRUE(u->bind(&lan.here, 7));
  EXPECT_EQ(u->bind(&lan.here, 8).error(), klib::Error::kBusy);  // bound already
  EXPECT_EQ(v->bind(&lan.here, 7).error(), klib::Error::kBusy);  // taken
  EXPECT_TRUE(v->bind(&lan.here, 8));
  EXPECT_TRUE(u->close(&lan.here));
  EXPECT_TRUE(v->close(&lan.here));
}

TEST_F(SocketTest, DatagramSelectTimesOutAndBlockingRecvWaits) {
  Lan lan;
  ns::UdpSocket* u = new_udp();
  ASSERT_TRUE(u->bind(&lan.here, 7));
  const uint64_t start = g_now / 1000;
  EXPECT_FALSE(u->select(50));
  EXPECT_GE(g_now / 1000 - start, 50u);
  int sleeps = 0;
  lan.after_sleep = [&] {
    if (++sleeps == 3) (void)ns::send_datagram(&lan.peer, 5000, kServerIp, 7, "late", 4);
  };
  char b[8];
  ns::UdpSocket::From from;
  ASSERT_TRUE(u->recv(b, sizeof b, true, &from));  // waits for it
  EXPECT_EQ(std::string(b, from.length), "late");
  EXPECT_GE(sleeps, 3);
  lan.after_sleep = [&] { (void)ns::send_datagram(&lan.peer, 5000, kServerIp, 7, "soon", 4); };
  EXPECT_TRUE(u->select(1000));
  lan.after_sleep = nullptr;
  EXPECT_TRUE(u->close(&lan.here));
}

TEST_F(SocketTest, ADatagramSocketClosesOnItsOwnCoreOnly) {
  Lan lan;
  ns::UdpSocket* u = new_udp();
  ASSERT_TRUE(u->bind(&lan.here, 7));
  EXPECT_EQ(u->close(&lan.peer).error(), klib::Error::kBusy);  // another core's: nothing done
  EXPECT_EQ(u->close(nullptr).error(), klib::Error::kBusy);
  ASSERT_TRUE(ns::send_datagram(&lan.peer, 5000, kServerIp, 7, "still", 5));
  lan.run();
  EXPECT_TRUE(u->select(0));  // still bound
  EXPECT_TRUE(u->close(&lan.here));
  const uint64_t no_port = lan.a.counters().dropped_no_port;
  ASSERT_TRUE(ns::send_datagram(&lan.peer, 5000, kServerIp, 7, "gone", 4));
  lan.run();
  EXPECT_EQ(lan.a.counters().dropped_no_port, no_port + 1);  // unbound
  ns::UdpSocket* unbound = new_udp();
  EXPECT_TRUE(unbound->close(nullptr));  // never bound: anywhere
}

TEST_F(SocketTest, ADatagramTheCardRefusesFailsAfterThreeTries) {
  Lan lan;
  EXPECT_EQ(ns::send_datagram(nullptr, 7, kClientIp, 5000, "x", 1).error(), klib::Error::kNoDevice);
  lan.a.request(kClientIp);  // the next hop is known: no waiting for ARP
  lan.run();
  lan.refuse = true;
  EXPECT_EQ(ns::send_datagram(&lan.here, 7, kClientIp, 5000, "x", 1).error(), klib::Error::kTimeout);
  EXPECT_EQ(lan.refused, 3u);
}

TEST_F(SocketTest, EchoRequestAndReply) {
  Lan lan;
  EXPECT_EQ(ns::send_echo(nullptr, kClientIp, 1, 1, "x", 1).error(), klib::Error::kNoDevice);
  ASSERT_TRUE(ns::send_echo(&lan.here, kClientIp, 0x1234, 7, "ping", 4));
  lan.run();  // ARP, the request, the reply
  net::EchoReply r;
  ASSERT_TRUE(ns::receive_echo(&lan.here, &r, 1000));
  EXPECT_EQ(r.from, kClientIp);
  EXPECT_EQ(r.id, 0x1234);
  EXPECT_EQ(r.seq, 7);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.data), r.length), "ping");
  const uint64_t start = g_now / 1000;
  EXPECT_FALSE(ns::receive_echo(&lan.here, &r, 1000));  // waits the second, then gives up
  EXPECT_GE(g_now / 1000 - start, 1000u);
}

TEST_F(SocketTest, ResolveAsksArpForTheNextHop) {
  Lan lan;
  EXPECT_EQ(ns::resolve(nullptr, kClientIp).error(), klib::Error::kNoDevice);
  const klib::Result<net::Mac> on_link = ns::resolve(&lan.here, kClientIp);  // the peer answers
  ASSERT_TRUE(on_link);
  EXPECT_EQ(on_link.value(), kMacB);
  // Another subnet: the gateway's MAC (the peer is the gateway).
  const klib::Result<net::Mac> routed = ns::resolve(&lan.here, Ipv4::from_bytes(192, 0, 2, 1));
  ASSERT_TRUE(routed);
  EXPECT_EQ(routed.value(), kMacB);
  // Nobody answers for an address of the subnet: three requests, 500 ms each, then kTimeout.
  const uint64_t start = g_now / 1000;
  EXPECT_EQ(ns::resolve(&lan.here, Ipv4::from_bytes(10, 0, 2, 99)).error(), klib::Error::kTimeout);
  EXPECT_GE(g_now / 1000 - start, 1500u);
}

}  // namespace
