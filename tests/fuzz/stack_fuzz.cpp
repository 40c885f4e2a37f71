// libFuzzer target: arbitrary bytes as a received Ethernet frame. The stack must neither crash
// nor read out of bounds (built with AddressSanitizer and UBSan), whatever the frame says.
// So that the fuzzer gets past the IPv4 checksum, the first input byte picks whether the
// frame's IPv4 header checksum is fixed up first; a UDP port (with any destination, as DHCP
// binds it) is bound, and every datagram it receives also goes through the DHCP parser.
// An IPv4 payload with protocol 6 goes through the TCP segment parser (input bit 1 fixes up
// its checksum first); a segment that parses is built again and must parse to the same fields,
// and then goes into a long-lived TCP connection (re-opened whenever it closes), which also
// queues and reads data and runs its timers, so that the state machine sees hostile input.
#include <net/dhcp.h>
#include <net/stack.h>
#include <net/tcp/connection.h>
#include <net/tcp/segment.h>
#include <net/tcp/tcp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {
void check_tcp(uint8_t* frame, size_t size, bool fix_checksum) {
  if (size < 34 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != net::tcp::kProtoTcp) return;
  const size_t ihl = size_t(frame[14] & 0xF) * 4;
  if (ihl < 20 || 14 + ihl > size) return;
  uint8_t* tcp = frame + 14 + ihl;
  const size_t length = size - 14 - ihl;
  const net::Ipv4 src{net::load32(frame + 26)}, dst{net::load32(frame + 30)};
  if (fix_checksum && length >= 18) {
    net::store16(tcp + 16, 0);
    net::store16(tcp + 16,
                 net::checksum(tcp, length, net::pseudo_header_sum(src, dst, net::tcp::kProtoTcp, uint16_t(length))));
  }
  net::tcp::Segment s;
  if (net::tcp::parse(src, dst, tcp, length, &s) != net::tcp::ParseResult::kOk) return;
  uint8_t again[net::Stack::kMaxFrame + 64];
  const size_t n = net::tcp::build(src, dst, s, again, sizeof again);
  net::tcp::Segment t;
  if (n == 0 || net::tcp::parse(src, dst, again, n, &t) != net::tcp::ParseResult::kOk || t.seq != s.seq ||
      t.ack != s.ack || t.flags != s.flags || t.window != s.window || t.mss != s.mss ||
      t.window_scale != s.window_scale || t.sack_permitted != s.sack_permitted ||
      t.payload_length != s.payload_length || memcmp(t.payload, s.payload, s.payload_length) != 0) {
    __builtin_trap();
  }
  static net::tcp::Connection conn;
  static net::tcp::BufferPool pool{[](void*, uint32_t n) { return static_cast<uint8_t*>(malloc(n)); },
                                   [](void*, uint8_t* p, uint32_t) { free(p); }, nullptr, false};
  constexpr uint32_t kRx = 4096, kTx = 4096;
  static uint64_t now = 1;
  static bool open = false;
  now += 1000;
  if (!open || conn.state() == net::tcp::State::kClosed) {
    conn.drop_buffers();
    conn.init({dst, src, s.dst_port, s.src_port}, &pool, kRx, kTx, {});
    pool.pressure = (s.window & 1) != 0;  // windows under memory pressure too
    if (s.has(net::tcp::kSyn) && !s.has(net::tcp::kAck)) {
      conn.accept_syn(s, 12345, now);
    } else {
      conn.connect(12345, now);
    }
    open = true;
    return;
  }
  conn.input(s, now);
  uint8_t buf[512];
  conn.recv(buf, s.payload_length & 511, now);
  conn.send(s.payload, uint32_t(s.payload_length), now);
  if (s.urgent & 1) conn.timer(conn.deadline() == UINT64_MAX ? now : conn.deadline());
  if (s.urgent == 0xDEAD) conn.close(now);
  // Invariants: never more buffered or in flight than the buffers hold (+ SYN and FIN).
  if (conn.readable() > kRx || conn.in_flight() > kTx + 2 || conn.buffer_bytes() > kRx + kTx) __builtin_trap();
}

bool drop(void*, const uint8_t*, size_t) { return true; }
uint64_t clock_ms() { return 1; }
uint64_t g_us = 1;
uint64_t clock_us() { return g_us += 1000; }
bool tcp_out(void* ctx, net::Ipv4 to, const net::tcp::Segment& s) {
  return static_cast<net::Stack*>(ctx)->send_tcp(to, s);
}
}  // namespace

net::tcp::Tcp* g_tcp = nullptr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static net::Stack stack;
  static net::UdpPort port;
  static bool configured = false;
  if (!configured) {
    const net::Mac mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    stack.configure(mac, net::Ipv4::from_bytes(10, 0, 2, 15), net::Ipv4::from_bytes(10, 0, 2, 2),
                    net::Ipv4::from_bytes(255, 255, 255, 0), {drop, nullptr}, clock_ms);
    port.port = 68;
    port.any_destination = true;
    stack.bind_udp(&port);
    // The stack's TCP with a listener on port 80: segments the fuzzer sends to 10.0.2.15:80
    // open connections (bounded by the backlog) and drive them; the table's timers run too.
    static net::tcp::Tcp tcp;
    net::tcp::Tcp::Config c;
    c.allocate = malloc;
    c.release = free;
    c.now_us = clock_us;
    c.send = tcp_out;
    c.ctx = &stack;
    c.rx_buffer = c.tx_buffer = 2048;
    c.syn_queue = 4;
    c.memory_limit = 16 * 1024;  // small: refusals, pressure, reclaim and cookies get fuzzed too
    tcp.init(c, net::Ipv4::from_bytes(10, 0, 2, 15));
    tcp.listen(80, 4);
    stack.attach_tcp(&tcp);
    g_tcp = &tcp;
    configured = true;
  }
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const bool fix_checksum = mode & 1;
  ++data;
  --size;
  if (size > net::Stack::kMaxFrame) size = net::Stack::kMaxFrame;
  uint8_t frame[net::Stack::kMaxFrame];
  memcpy(frame, data, size);
  if (fix_checksum && size >= 34 && frame[12] == 0x08 && frame[13] == 0x00) {
    const size_t ihl = size_t(frame[14] & 0xF) * 4;
    if (ihl >= 20 && 14 + ihl <= size) {
      frame[24] = frame[25] = 0;
      net::store16(frame + 24, net::checksum(frame + 14, ihl));
    }
  }
  check_tcp(frame, size, mode & 2);
  stack.receive_frame(frame, size);
  if (mode & 4) g_tcp->tick();
  if (g_tcp->connections() > 8) __builtin_trap();                      // backlog 4: at most 4 half-open + 4 ready
  if (!g_tcp->timers_consistent()) __builtin_trap();                   // every timer where the wheel finds it
  if (g_tcp->memory().used > g_tcp->memory().limit) __builtin_trap();  // the budget holds
  net::EchoReply r;
  while (stack.pop_echo_reply(&r)) {
  }
  net::Datagram d;
  while (port.pop(&d)) {
    net::DhcpReply reply;
    net::dhcp_parse(d.data, d.length, net::load32(d.data + 4), &reply);
  }
  return 0;
}
