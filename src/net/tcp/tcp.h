// One core's TCP: listeners with bounded backlogs, the table of connections, demultiplexing
// by 4-tuple, RSTs for segments nobody owns (RFC 9293 §3.10.7.1), ephemeral ports and timers.
// Portable: segments come in through receive(), go out through the send callback; memory
// comes from the allocator callbacks (the kernel's per-core heap, malloc on the host).
//
//   net::tcp::Tcp tcp;
//   tcp.init(config);                                 // allocator, clock, output, ISN key
//   net::tcp::Listener* l = tcp.listen(80, 32);
//   tcp.receive(src, dst, bytes, n);                  // every IPv4 payload with protocol 6
//   if (net::tcp::Socket* s = tcp.accept(l)) { ... s->conn.recv(...) ... tcp.release(s); }
//   tcp.tick();                                       // at least by next_deadline()
//
// SYN floods: a listener holds at most `syn_queue` connections in SYN-RECEIVED (Config, 128 by
// default) and `backlog` established ones not yet accepted. A SYN beyond the SYN queue is
// answered with a SYN cookie (syncookie.h) and costs no memory: a real client's ACK creates its
// connection then. A SYN while the accept queue is full is dropped (the peer retries), as
// Linux does. Half-open connections thus cost at most syn_queue records per listener, and
// they time out in about 63 s. The exception is a SYN that reopens a TIME-WAIT record: it
// takes that record's place even past the SYN queue (a cookie only under memory pressure;
// receive() says why).
// Before it comes to dropping, the caller can apply back-pressure: while accept_queue_full(),
// leave further frames in the NIC ring and let the services accept (net/interface.cpp).
//
// Memory (src/net/README.md "Memory"): a connection costs its record (sizeof(Socket)) plus
// buffers that grow as data arrives or is queued and go back when drained (ring.h). All of it
// counts against Config::memory_limit, the core's TCP budget. Past 3/4 of it ("pressure"): SYNs
// get cookies instead of records, receive windows stop growing, and the oldest TIME-WAIT
// records, then orphans, then connections idle for a second or more are dropped or reset until
// use is back under 1/2. Past the budget itself, a new record or buffer is refused. Orphans (released by the
// application) live at most kOrphanLifetimeUs, give up after Connection::kMaxOrphanRetries, and
// at most Config::max_orphans exist (the oldest is reset first).
#pragma once

#include <lib/siphash.h>
#include <net/packet.h>
#include <net/tcp/connection.h>

#include <cstddef>
#include <cstdint>

namespace net::tcp {

struct Listener;

// A connection, owned by the table. The application holds it between accept()/connect() and
// release().
struct Socket {
  // Which of the table's lists holds it: kActive (not released; least recently active first),
  // kOrphan (released, not yet in TIME-WAIT; oldest first), kTimeWait (released, in TIME-WAIT;
  // oldest first).
  enum class List : uint8_t { kActive, kOrphan, kTimeWait };
  Connection conn;
  Listener* listener = nullptr;  // while waiting to be accepted
  Socket* next = nullptr;        // in its list
  Socket* prev = nullptr;
  Socket* hash_next = nullptr;    // the 4-tuple's hash bucket
  Socket* ready_next = nullptr;   // the listener's accept queue (established, not accepted)
  Socket* timer_next = nullptr;   // the timer wheel's slot (Tcp::schedule)
  Socket** timer_prev = nullptr;  // what points at this one there; nullptr: not in the wheel
  uint64_t timer_at = 0;          // the deadline it is filed under
  uint64_t since = 0;             // kActive: last activity; kOrphan: released; kTimeWait: entered (or FIN again)
  List list = List::kActive;
  bool accepted = false;  // the application holds it
  bool released = false;  // the application let go: freed once closed
  // Counts what happened to it that a blocked thread may wait for (a segment taken in, a timer
  // that ran, a reset: note_state). The socket layer wakes a waiter only when it moved.
  uint32_t events = 0;
  void* user = nullptr;  // the owner's cookie (the socket API's record)
};

struct Listener {
  uint16_t port = 0;
  unsigned backlog = 0;
  unsigned half_open = 0;        // SYN-RECEIVED
  unsigned ready = 0;            // established, not yet accepted
  uint32_t events = 0;           // counts connections that joined the accept queue (as Socket's)
  uint64_t cookies_until = 0;    // ACKs are checked for SYN cookies until then (µs)
  Socket* ready_head = nullptr;  // the accept queue, oldest first
  Socket* ready_tail = nullptr;
  Listener* next = nullptr;
  void* user = nullptr;
};

struct TcpCounters {
  uint64_t segments_in, segments_out, bad_segments, resets_sent, syn_dropped_backlog, syn_dropped_memory;
  uint64_t syn_cookies_sent, syn_cookies_accepted;
  uint64_t connections_opened, connections_closed;
  uint64_t memory_refused;                                          // records or buffer growth refused (budget or heap)
  uint64_t reclaimed_orphans, reclaimed_time_wait, reclaimed_idle;  // reset under memory pressure
  uint64_t orphans_expired;                                         // reset at kOrphanLifetimeUs or past max_orphans
};

// What the table holds now (Tcp::memory()).
struct TcpMemory {
  uint64_t used;     // records and buffers, bytes
  uint64_t limit;    // the budget
  uint64_t buffers;  // of `used`: buffer memory
  uint64_t record;   // what one connection's record takes
  size_t connections, orphans, time_wait;
  bool pressure;
};

class Tcp {
 public:
  static constexpr uint64_t kTimeWaitReuseUs = 1'000'000;    // see receive(): TIME-WAIT reopened by a SYN
  static constexpr uint64_t kOrphanLifetimeUs = 60'000'000;  // an orphan is reset after this, however the peer behaves
  static constexpr uint64_t kTimeWaitUs = 2 * Connection::kMsl;
  static constexpr uint64_t kIdleReclaimUs = 5'000'000;  // under pressure, connections idle this long may be reset
  struct Config {
    void* (*allocate)(size_t) = nullptr;
    void (*release)(void*) = nullptr;
    // What the allocator really takes for a request of n bytes (its size classes), so the
    // budget counts what the heap gives; nullptr: n.
    size_t (*footprint)(size_t n) = nullptr;
    uint64_t (*now_us)() = nullptr;
    // Sends one segment to `to` (the IP layer adds its header); false if it could not.
    bool (*send)(void* ctx, Ipv4 to, const Segment& s) = nullptr;
    void* ctx = nullptr;
    klib::SipKey isn_key{};
    unsigned syn_queue = 128;            // SYN-RECEIVED connections per listener
    uint32_t rx_buffer = 16384;          // the most a connection's receive buffer grows to (its window)
    uint32_t tx_buffer = 16384;          // the most a connection's send buffer grows to
    uint64_t memory_limit = UINT64_MAX;  // the TCP budget: records and buffers, bytes
    size_t max_orphans = 0;              // 0: memory_limit / 1024, at least 64
  };

  void init(const Config& config, Ipv4 local);
  // Forgets every connection and listener without sending anything (the interface goes away).
  void reset();
  void set_address(Ipv4 local) { local_ = local; }

  Listener* listen(uint16_t port, unsigned backlog);   // nullptr: port taken or no memory
  void unlisten(Listener* l);                          // pending connections are reset
  Socket* accept(Listener* l);                         // nullptr: none ready
  Socket* connect(Ipv4 remote, uint16_t remote_port);  // nullptr: no memory or no free port
  // The application is done with `s`: closes it (FIN after queued data) if still open; the
  // record is freed once the connection is CLOSED (after TIME-WAIT).
  void release(Socket* s);

  void receive(Ipv4 src, Ipv4 dst, const uint8_t* data, size_t length);
  // Runs what is due: the connections whose timers expired (found through the timer wheel, not
  // by looking at every connection), TIME-WAIT and orphan expiry, reclaim under pressure.
  void tick();
  // When tick() has work at the earliest (it may find none: a timer moved later).
  uint64_t next_deadline() const { return earliest_; }
  // For the tests: every connection with a deadline is filed in the wheel under that deadline
  // (nothing changed a connection's timers without Tcp knowing), and none without one.
  bool timers_consistent() const;
  // The application's data calls: Connection::send/recv plus the timers they arm (call these,
  // not s->conn.send/recv, or next_deadline() misses the timer).
  uint32_t send(Socket* s, const uint8_t* data, uint32_t n) {
    const uint64_t now = config_.now_us();
    touch(s, now);
    const uint32_t done = s->conn.send(data, n, now);
    schedule(s);
    return done;
  }
  // Per-connection options (Nagle, keep-alive: Connection::set_nagle, set_keepalive).
  void set_options(Socket* s, bool nagle, uint64_t keepalive_idle_us, uint64_t keepalive_interval_us,
                   unsigned keepalive_count) {
    s->conn.set_nagle(nagle);
    s->conn.set_keepalive(keepalive_idle_us, keepalive_interval_us, keepalive_count, config_.now_us());
    schedule(s);
  }
  void set_cork(Socket* s, bool on) {
    s->conn.set_cork(on, config_.now_us());
    schedule(s);
  }
  uint32_t recv(Socket* s, uint8_t* out, uint32_t n) {
    const uint64_t now = config_.now_us();
    const uint32_t done = s->conn.recv(out, n, now);
    if (done != 0) touch(s, now);
    schedule(s);
    return done;
  }
  // Some listener holds `backlog` established connections nobody has accepted yet: the next
  // SYN to it would be dropped.
  bool accept_queue_full() const;

  const TcpCounters& counters() const { return counters_; }
  size_t connections() const { return count_; }
  TcpMemory memory() const;

 private:
  static bool output(void* ctx, const Connection& c, const Segment& s);
  static uint8_t* buffer_allocate(void* ctx, uint32_t size);
  static void buffer_release(void* ctx, uint8_t* memory, uint32_t size);
  void* charge(size_t size);  // config_.allocate within the budget, or nullptr
  void uncharge(void* memory, size_t size);
  size_t footprint(size_t size) const { return config_.footprint != nullptr ? config_.footprint(size) : size; }
  void update_pressure();
  void reclaim(uint64_t now);         // under pressure: drops the oldest TIME-WAITs, orphans, idle ones
  void expire_orphans(uint64_t now);  // kOrphanLifetimeUs and max_orphans
  void reset_connection(Socket* s);   // RST, buffers freed; the record goes if nobody holds it
  Socket* create(const Endpoints& e);
  void destroy(Socket* s);
  void settle(Socket* s);               // after anything happened to `s`: frees it or moves it between lists (tcp.cpp)
  void touch(Socket* s, uint64_t now);  // activity: to the back of the active list
  void note_orphan_deadline();          // the oldest orphan's lifetime counts in earliest_
  void enqueue(Listener* l, Socket* s);
  void unqueue(Listener* l, Socket* s);
  size_t bucket(Ipv4 remote, uint16_t remote_port, uint16_t local_port) const;
  Socket* find(Ipv4 remote, uint16_t remote_port, uint16_t local_port) const;
  Listener* find_listener(uint16_t port) const;
  void note_state(Socket* s, State before);
  // Files `s` in the timer wheel under its connection's deadline (or takes it out: none, or
  // in TIME-WAIT, whose records expire from their own list). After every change to a
  // connection, or its timers are missed.
  void schedule(Socket* s);
  void unschedule(Socket* s);
  void run_timers(uint64_t now);
  uint64_t next_wheel_deadline() const;
  // SYN cookies, only with the SYN queue full or memory short: cold, for size.
  [[gnu::cold]] void send_cookie(Listener* l, Ipv4 remote, const Segment& syn, uint64_t now);
  [[gnu::cold]] bool accept_cookie(Listener* l, Ipv4 remote, const Segment& ack, uint64_t now);
  uint16_t ephemeral_port(Ipv4 remote, uint16_t remote_port);

  Config config_;
  Ipv4 local_;
  BufferPool pool_;
  uint64_t used_ = 0;          // bytes of records and buffers
  uint64_t buffer_bytes_ = 0;  // of which buffers
  bool pressure_ = false;
  uint64_t next_reclaim_ = 0;
  static constexpr uint64_t kReclaimIntervalUs = 100'000;  // reclaim() at most this often under pressure
  // The three lists of Socket::List, each oldest first. TIME-WAIT records all wait the same
  // 2*MSL and orphans the same lifetime, so tick() expires them from the head instead of
  // scanning thousands after a burst of short connections.
  struct List {
    Socket* head = nullptr;
    Socket* tail = nullptr;
    size_t count = 0;
  };
  List lists_[3];
  List& list_of(Socket::List l) { return lists_[size_t(l)]; }
  void unlink(Socket* s);
  void append(Socket* s, Socket::List l, uint64_t since);
  // Connections by 4-tuple: a frame's lookup costs a bucket, not the table (thousands of
  // TIME-WAIT records after a burst of short connections).
  static constexpr size_t kBuckets = 1024;
  Socket* buckets_[kBuckets] = {};
  Listener* listeners_ = nullptr;
  size_t count_ = 0;
  uint64_t earliest_ = UINT64_MAX;  // no connection's timer is due before this
  // The timer wheel: connections with a deadline, in slot (deadline in ms) % kWheelSlots; a
  // deadline a lap or more ahead waits in its slot and is looked at once a lap. tick() visits
  // the slots from wheel_ms_ + 1 to now. A bit per slot says which hold anything.
  static constexpr size_t kWheelSlots = 1024;
  Socket* wheel_[kWheelSlots] = {};
  uint64_t wheel_bits_[kWheelSlots / 64] = {};
  uint64_t wheel_ms_ = 0;       // slots up to this millisecond have been visited
  uint16_t next_port_ = 49152;  // RFC 6335 §6: the dynamic range 49152-65535
  TcpCounters counters_{};
};

}  // namespace net::tcp
