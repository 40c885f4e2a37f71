#include <gtest/gtest.h>
#include <net/stack.h>
#include <net/tcp/tcp.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

std::vector<std::vector<uint8_t>> g_sent;
uint64_t g_now = 1000;
bool capture(void*, const uint8_t* frame, size_t length) {
  g_sent.emplace_back(frame, frame + length);
  return true;
}
uint64_t now_ms() { return g_now; }

const net::Mac kOurMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
const net::Mac kGwMac{{0x52, 0x55, 0x0A, 0x00, 0x02, 0x02}};
const net::Ipv4 kOurIp = net::Ipv4::from_bytes(10, 0, 2, 15);
const net::Ipv4 kGw = net::Ipv4::from_bytes(10, 0, 2, 2);

struct StackTest : ::testing::Test {
  net::Stack s;
  void SetUp() override {
    g_sent.clear();
    g_now = 1000;
    s.configure(kOurMac, kOurIp, kGw, net::Ipv4::from_bytes(255, 255, 255, 0), {capture, nullptr}, now_ms);
  }
};

std::vector<uint8_t> eth(const net::Mac& dst, const net::Mac& src, uint16_t type) {
  std::vector<uint8_t> f(14);
  memcpy(&f[0], dst.b, 6);
  memcpy(&f[6], src.b, 6);
  net::store16(&f[12], type);
  return f;
}

std::vector<uint8_t> arp(uint16_t op, const net::Mac& smac, net::Ipv4 sip, net::Ipv4 tip) {
  auto f = eth(op == 1 ? net::kBroadcast : kOurMac, smac, 0x0806);
  f.resize(14 + 28);
  uint8_t* a = &f[14];
  net::store16(a, 1);
  net::store16(a + 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  net::store16(a + 6, op);
  memcpy(a + 8, smac.b, 6);
  net::store32(a + 14, sip.value);
  net::store32(a + 24, tip.value);
  return f;
}

std::vector<uint8_t> icmp(uint8_t type, net::Ipv4 src, net::Ipv4 dst, uint16_t id, uint16_t seq, size_t payload = 32) {
  auto f = eth(kOurMac, kGwMac, 0x0800);
  f.resize(14 + 20 + 8 + payload);
  uint8_t* h = &f[14];
  h[0] = 0x45;
  net::store16(h + 2, uint16_t(20 + 8 + payload));
  h[8] = 64;
  h[9] = 1;
  net::store32(h + 12, src.value);
  net::store32(h + 16, dst.value);
  net::store16(h + 10, net::checksum(h, 20));
  uint8_t* m = h + 20;
  m[0] = type;
  net::store16(m + 4, id);
  net::store16(m + 6, seq);
  for (size_t i = 0; i < payload; ++i) m[8 + i] = uint8_t('a' + i % 26);
  net::store16(m + 2, net::checksum(m, 8 + payload));
  return f;
}

TEST_F(StackTest, AnswersArpRequestsForItsAddressOnly) {
  auto req = arp(1, kGwMac, kGw, kOurIp);
  s.receive_frame(req.data(), req.size());
  ASSERT_EQ(g_sent.size(), 1u);
  const auto& r = g_sent[0];
  EXPECT_EQ(net::load16(&r[12]), 0x0806);
  EXPECT_EQ(net::load16(&r[14 + 6]), 2);  // reply
  EXPECT_EQ(memcmp(&r[0], kGwMac.b, 6), 0);
  EXPECT_EQ(net::load32(&r[14 + 14]), kOurIp.value);
  net::Mac m;
  EXPECT_TRUE(s.lookup(kGw, &m));  // learnt from the request
  auto other = arp(1, kGwMac, kGw, net::Ipv4::from_bytes(10, 0, 2, 99));
  s.receive_frame(other.data(), other.size());
  EXPECT_EQ(g_sent.size(), 1u);
}

// RFC 1122 §2.3.2.2: a frame for a next hop without an ARP entry waits for the reply (an ARP
// request goes out at once) and leaves as soon as the reply arrives.
TEST_F(StackTest, EchoRequestToTheGatewayWaitsForArp) {
  const char data[] = "abcdefghijklmtororstuvwabcdefghi";
  EXPECT_TRUE(s.send_echo_request(kGw, 0, 90, data, 32));
  ASSERT_EQ(g_sent.size(), 1u);  // an ARP request went out; the echo request is held
  EXPECT_EQ(net::load16(&g_sent[0][12]), 0x0806);
  EXPECT_EQ(net::load32(&g_sent[0][14 + 24]), kGw.value);
  auto reply = arp(2, kGwMac, kGw, kOurIp);
  s.receive_frame(reply.data(), reply.size());
  ASSERT_EQ(g_sent.size(), 2u);                            // the held frame, now addressed
  ASSERT_TRUE(s.send_echo_request(kGw, 0, 90, data, 32));  // and one sent at once
  ASSERT_EQ(g_sent.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(memcmp(&g_sent[i][0], kGwMac.b, 6), 0);
    EXPECT_EQ(net::load16(&g_sent[i][12]), 0x0800);
    EXPECT_EQ(net::load16(&g_sent[i][34 + 6]), 90);
  }
  const auto& f = g_sent.back();
  EXPECT_EQ(memcmp(&f[0], kGwMac.b, 6), 0);
  EXPECT_EQ(net::checksum(&f[14], 20), 0);      // valid IPv4 header
  EXPECT_EQ(net::checksum(&f[34], 8 + 32), 0);  // valid ICMP
  EXPECT_EQ(f[34], 8);
  EXPECT_EQ(net::load16(&f[34 + 6]), 90);
  // An off-subnet destination goes to the gateway's MAC.
  ASSERT_TRUE(s.send_echo_request(net::Ipv4::from_bytes(8, 8, 8, 8), 1, 1, data, 4));
  EXPECT_EQ(memcmp(&g_sent.back()[0], kGwMac.b, 6), 0);
  // The cache expires.
  g_now += net::Stack::kArpTimeoutMs;
  net::Mac m;
  EXPECT_FALSE(s.lookup(kGw, &m));
}

TEST_F(StackTest, AnnouncementIsARequestForOurOwnAddress) {
  s.announce();
  ASSERT_EQ(g_sent.size(), 1u);
  const auto& f = g_sent[0];
  EXPECT_EQ(net::load16(&f[12]), 0x0806);
  EXPECT_EQ(net::load16(&f[14 + 6]), 1);              // a request
  EXPECT_EQ(net::load32(&f[14 + 14]), kOurIp.value);  // sender IP
  EXPECT_EQ(net::load32(&f[14 + 24]), kOurIp.value);  // target IP: ours too (RFC 5227 §2.3)
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f[i], 0xFF);  // broadcast
}

// Held frames are few and short-lived: an unanswered ARP request does not keep them, and a
// reply a second late sends nothing stale.
TEST_F(StackTest, HeldFramesExpire) {
  const char data[] = "x";
  const net::Ipv4 absent = net::Ipv4::from_bytes(10, 0, 2, 77);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(s.send_echo_request(absent, 0, uint16_t(i), data, 1));
  EXPECT_EQ(s.counters().dropped_no_arp, 2u);  // four held, the two oldest pushed out
  g_now += 1001;
  EXPECT_TRUE(s.send_echo_request(kGw, 0, 1, data, 1));  // takes an expired slot
  const size_t before = g_sent.size();
  auto reply = arp(2, kGwMac, absent, kOurIp);
  s.receive_frame(reply.data(), reply.size());
  EXPECT_EQ(g_sent.size(), before);  // the frames for .77 had expired
  // The gateway's frame is still held (the stack counts its held frames to skip the search when
  // there are none: expired, pushed out and released ones all leave the count right).
  auto gw_reply = arp(2, kGwMac, kGw, kOurIp);
  s.receive_frame(gw_reply.data(), gw_reply.size());
  ASSERT_EQ(g_sent.size(), before + 1);
  EXPECT_EQ(memcmp(&g_sent.back()[0], kGwMac.b, 6), 0);
  EXPECT_EQ(net::load16(&g_sent.back()[12]), 0x0800);
  // Held again after everything was released: a reply still finds it. (.77 is known now.)
  const net::Ipv4 other = net::Ipv4::from_bytes(10, 0, 2, 78);
  EXPECT_TRUE(s.send_echo_request(other, 0, 9, data, 1));
  ASSERT_EQ(g_sent.size(), before + 2);  // only the ARP request
  EXPECT_EQ(net::load16(&g_sent.back()[12]), 0x0806);
  reply = arp(2, kGwMac, other, kOurIp);
  s.receive_frame(reply.data(), reply.size());
  ASSERT_EQ(g_sent.size(), before + 3);
  EXPECT_EQ(net::load16(&g_sent.back()[34 + 6]), 9);
}

TEST_F(StackTest, AnswersEchoRequestsAndQueuesEchoReplies) {
  auto req = icmp(8, kGw, kOurIp, 7, 3);
  s.receive_frame(req.data(), req.size());
  ASSERT_EQ(g_sent.size(), 1u);
  const auto& r = g_sent[0];
  EXPECT_EQ(r[34], 0);  // echo reply
  EXPECT_EQ(net::load16(&r[34 + 4]), 7);
  EXPECT_EQ(net::load16(&r[34 + 6]), 3);
  EXPECT_EQ(net::load32(&r[14 + 16]), kGw.value);
  EXPECT_EQ(net::checksum(&r[34], 8 + 32), 0);
  EXPECT_EQ(memcmp(&r[34 + 8], &req[34 + 8], 32), 0);

  auto rep = icmp(0, kGw, kOurIp, 0, 90);
  s.receive_frame(rep.data(), rep.size());
  net::EchoReply e;
  ASSERT_TRUE(s.pop_echo_reply(&e));
  EXPECT_EQ(e.from, kGw);
  EXPECT_EQ(e.seq, 90);
  EXPECT_EQ(e.length, 32);
  EXPECT_FALSE(s.pop_echo_reply(&e));
}

TEST_F(StackTest, MalformedFramesAreCountedAndDropped) {
  uint8_t tiny[5] = {};
  s.receive_frame(tiny, sizeof tiny);
  auto bad_sum = icmp(8, kGw, kOurIp, 1, 1);
  bad_sum[14 + 10] ^= 0xFF;
  s.receive_frame(bad_sum.data(), bad_sum.size());
  auto bad_icmp = icmp(8, kGw, kOurIp, 1, 1);
  bad_icmp[34 + 2] ^= 0xFF;
  s.receive_frame(bad_icmp.data(), bad_icmp.size());
  auto fragment = icmp(8, kGw, kOurIp, 1, 1);
  net::store16(&fragment[14 + 6], 0x2000);
  net::store16(&fragment[14 + 10], 0);
  net::store16(&fragment[14 + 10], net::checksum(&fragment[14], 20));
  s.receive_frame(fragment.data(), fragment.size());
  auto long_len = icmp(8, kGw, kOurIp, 1, 1);
  net::store16(&long_len[14 + 2], 1400);  // longer than the frame
  s.receive_frame(long_len.data(), long_len.size());
  auto other_mac = icmp(8, kGw, kOurIp, 1, 1);
  other_mac[0] = 0x02;
  s.receive_frame(other_mac.data(), other_mac.size());
  auto unknown = eth(kOurMac, kGwMac, 0x86DD);  // IPv6
  unknown.resize(60);
  s.receive_frame(unknown.data(), unknown.size());
  auto bad_arp = arp(1, kGwMac, kGw, kOurIp);
  bad_arp[14 + 4] = 8;
  s.receive_frame(bad_arp.data(), bad_arp.size());
  const net::Counters& c = s.counters();
  EXPECT_EQ(c.dropped_short, 1u);
  EXPECT_EQ(c.dropped_bad_checksum, 1u);
  EXPECT_EQ(c.dropped_bad_icmp, 1u);
  EXPECT_EQ(c.dropped_fragment, 1u);
  EXPECT_EQ(c.dropped_bad_ip, 1u);
  EXPECT_EQ(c.dropped_not_for_us, 1u);
  EXPECT_EQ(c.dropped_unknown_type, 1u);
  EXPECT_EQ(c.dropped_bad_arp, 1u);
  EXPECT_TRUE(g_sent.empty());
}

// Frames of an EtherType the stack does not handle go to the raw sink once one is set (a program
// that reads frames itself, src/api/network_raw.cpp); ARP and IPv4 never do, nor frames for
// another MAC, and the sink's frame is the received one, whole.
TEST_F(StackTest, OtherEtherTypesGoToTheRawSinkOnceSet) {
  static std::vector<std::vector<uint8_t>> taken;
  taken.clear();
  auto mine = eth(kOurMac, kGwMac, 0x88B5);
  mine.push_back(0x42);
  s.receive_frame(mine.data(), mine.size());  // no sink yet: dropped
  EXPECT_EQ(s.counters().dropped_unknown_type, 1u);
  s.set_raw_sink({[](void*, const uint8_t* f, size_t n) { taken.emplace_back(f, f + n); }, nullptr});
  s.receive_frame(mine.data(), mine.size());
  auto broadcast = eth(net::kBroadcast, kGwMac, 0x88B6);
  s.receive_frame(broadcast.data(), broadcast.size());
  auto other = eth(kGwMac, kGwMac, 0x88B5);
  s.receive_frame(other.data(), other.size());
  auto req = arp(1, kGwMac, kGw, kOurIp);
  s.receive_frame(req.data(), req.size());
  auto ping = icmp(8, kGw, kOurIp, 1, 1);
  s.receive_frame(ping.data(), ping.size());
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0], mine);
  EXPECT_EQ(taken[1], broadcast);
  EXPECT_EQ(s.counters().raw_in, 2u);
  EXPECT_EQ(s.counters().dropped_unknown_type, 1u);
  EXPECT_EQ(g_sent.size(), 2u);  // the ARP reply and the echo reply: the stack kept its frames
  const uint8_t frame[60] = {1, 2, 3};
  ASSERT_TRUE(s.send_raw(frame, sizeof frame));
  ASSERT_EQ(g_sent.size(), 3u);
  EXPECT_EQ(g_sent[2], std::vector<uint8_t>(frame, frame + 60));
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(net::checksum(data, sizeof data), uint16_t(~0xddf2));
}

// The reference: RFC 1071's loop over big-endian 16-bit words, the sum folded at the end.
uint16_t checksum_reference(const uint8_t* data, size_t length, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < length; i += 2) sum += uint32_t(data[i] << 8 | data[i + 1]);
  if (length & 1) sum += uint32_t(data[length - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return uint16_t(~sum);
}

TEST(Checksum, SameAsTheWordLoopForEveryLengthAlignmentAndInitialSum) {
  // The 64-bytes-a-step sum against the reference: every length to 300 (each tail: 4, 2
  // and an odd byte, up to four 64-byte blocks), a full segment's and a 4 KiB one's lengths,
  // every start offset within a word, partial sums (a pseudo-header's)
  // including ones that carry, and the data that make one's-complement corner cases: all
  // zeros (the only input that sums to 0) and all ones (carries at every step).
  std::vector<uint8_t> buf(4200);
  uint32_t seed = 12345;
  const uint32_t initials[] = {0, 1, 0xFFFF, 0x1FFFE, 0x2A3B4, 0xFFFFFFFF - 0xFFFF};
  for (int pattern = 0; pattern < 3; ++pattern) {
    for (auto& b : buf) {
      seed = seed * 1103515245 + 12345;
      b = pattern == 0 ? uint8_t(seed >> 16) : pattern == 1 ? 0 : 0xFF;
    }
    for (size_t offset = 0; offset < 8; ++offset) {
      std::vector<size_t> lengths;
      for (size_t length = 0; length <= 300; ++length) lengths.push_back(length);
      lengths.insert(lengths.end(), {1459, 1460, 1500, 4095, 4096, 4097});
      for (size_t length : lengths) {
        for (uint32_t initial : initials) {
          ASSERT_EQ(net::checksum(buf.data() + offset, length, initial),
                    checksum_reference(buf.data() + offset, length, initial))
              << "pattern " << pattern << " offset " << offset << " length " << length << " initial " << initial;
        }
      }
    }
  }
}

}  // namespace

namespace {

std::vector<uint8_t> udp(net::Ipv4 src, net::Ipv4 dst, uint16_t sport, uint16_t dport, const char* text) {
  const size_t n = strlen(text);
  auto f = eth(kOurMac, kGwMac, 0x0800);
  f.resize(14 + 20 + 8 + n);
  uint8_t* h = &f[14];
  h[0] = 0x45;
  net::store16(h + 2, uint16_t(20 + 8 + n));
  h[8] = 64;
  h[9] = 17;
  net::store32(h + 12, src.value);
  net::store32(h + 16, dst.value);
  net::store16(h + 10, net::checksum(h, 20));
  uint8_t* u = h + 20;
  net::store16(u, sport);
  net::store16(u + 2, dport);
  net::store16(u + 4, uint16_t(8 + n));
  memcpy(u + 8, text, n);
  const uint32_t ps = (src.value >> 16) + (src.value & 0xFFFF) + (dst.value >> 16) + (dst.value & 0xFFFF) + 17 + 8 + n;
  net::store16(u + 6, net::checksum(u, 8 + n, ps));
  return f;
}

TEST_F(StackTest, UdpDeliveryToABoundPortAndSend) {
  static net::UdpPort port;
  port.port = 7;
  ASSERT_TRUE(s.bind_udp(&port));
  static net::UdpPort same;
  same.port = 7;
  EXPECT_FALSE(s.bind_udp(&same));
  auto f = udp(kGw, kOurIp, 5555, 7, "hello");
  s.receive_frame(f.data(), f.size());
  net::Datagram d;
  ASSERT_TRUE(port.pop(&d));
  EXPECT_EQ(d.from, kGw);
  EXPECT_EQ(d.from_port, 5555);
  ASSERT_EQ(d.length, 5);
  EXPECT_EQ(memcmp(d.data, "hello", 5), 0);
  // To a port nobody bound, or with a bad checksum: dropped.
  auto other = udp(kGw, kOurIp, 5555, 9, "x");
  s.receive_frame(other.data(), other.size());
  auto bad = udp(kGw, kOurIp, 5555, 7, "hello");
  bad.back() ^= 1;
  s.receive_frame(bad.data(), bad.size());
  EXPECT_FALSE(port.pop(&d));
  EXPECT_EQ(s.counters().dropped_no_port, 1u);
  EXPECT_EQ(s.counters().dropped_bad_checksum, 1u);
  // The reply: learn the gateway, send, check the checksum over the pseudo-header.
  auto learn = arp(2, kGwMac, kGw, kOurIp);
  s.receive_frame(learn.data(), learn.size());
  ASSERT_TRUE(s.send_udp(7, kGw, 5555, "hello", 5));
  const auto& out = g_sent.back();
  EXPECT_EQ(out[14 + 9], 17);
  EXPECT_EQ(net::load16(&out[34 + 2]), 5555);
  const uint32_t ps =
      (kOurIp.value >> 16) + (kOurIp.value & 0xFFFF) + (kGw.value >> 16) + (kGw.value & 0xFFFF) + 17 + 13;
  EXPECT_EQ(net::checksum(&out[34], 13, ps), 0);
  s.unbind_udp(&port);
}

TEST_F(StackTest, UdpForAnotherAddressOnlyToAnyDestinationPorts) {
  static net::UdpPort dhcp;
  dhcp.port = 68;
  dhcp.any_destination = true;
  ASSERT_TRUE(s.bind_udp(&dhcp));
  auto offer = udp(kGw, net::Ipv4::from_bytes(10, 0, 2, 99), 67, 68, "offer");
  s.receive_frame(offer.data(), offer.size());
  net::Datagram d;
  EXPECT_TRUE(dhcp.pop(&d));
  s.unbind_udp(&dhcp);
  static net::UdpPort plain;
  plain.port = 68;
  ASSERT_TRUE(s.bind_udp(&plain));
  s.receive_frame(offer.data(), offer.size());
  EXPECT_FALSE(plain.pop(&d));
  s.unbind_udp(&plain);
}

}  // namespace

#include <net/dhcp.h>

namespace {

TEST(Dhcp, DiscoverAndRequestLayout) {
  uint8_t m[548];
  const size_t n = net::dhcp_build(m, sizeof m, net::kDhcpDiscover, 0x12345678, kOurMac, {}, {});
  ASSERT_GT(n, 240u);
  EXPECT_EQ(m[0], 1);
  EXPECT_EQ(net::load32(m + 4), 0x12345678u);
  EXPECT_EQ(net::load16(m + 10), 0x8000);
  EXPECT_EQ(memcmp(m + 28, kOurMac.b, 6), 0);
  EXPECT_EQ(m[236], 99);
  EXPECT_EQ(m[240], 53);
  EXPECT_EQ(m[242], net::kDhcpDiscover);
  const size_t r = net::dhcp_build(m, sizeof m, net::kDhcpRequest, 1, kOurMac, kOurIp, kGw);
  bool requested = false, server = false;
  for (size_t i = 240; i + 5 < r; ++i) {
    if (m[i] == 50 && m[i + 1] == 4 && net::load32(m + i + 2) == kOurIp.value) requested = true;
    if (m[i] == 54 && m[i + 1] == 4 && net::load32(m + i + 2) == kGw.value) server = true;
  }
  EXPECT_TRUE(requested && server);
  EXPECT_EQ(net::dhcp_build(m, 100, net::kDhcpDiscover, 1, kOurMac, {}, {}), 0u);
}

TEST(Dhcp, ParsesOffersAndRejectsGarbage) {
  uint8_t m[300] = {};
  m[0] = 2;
  net::store32(m + 4, 77);
  net::store32(m + 16, kOurIp.value);
  const uint8_t magic[4] = {99, 130, 83, 99};
  memcpy(m + 236, magic, 4);
  uint8_t opts[] = {53, 1,  2, 1,  4, 255, 255, 255, 0, 3, 4, 10,   0,    2,
                    2,  54, 4, 10, 0, 2,   2,   51,  4, 0, 0, 0x0E, 0x10, 255};
  memcpy(m + 240, opts, sizeof opts);
  net::DhcpReply r;
  ASSERT_TRUE(net::dhcp_parse(m, 240 + sizeof opts, 77, &r));
  EXPECT_EQ(r.type, net::kDhcpOffer);
  EXPECT_EQ(r.your_ip, kOurIp);
  EXPECT_EQ(r.router, kGw);
  EXPECT_EQ(r.mask, net::Ipv4::from_bytes(255, 255, 255, 0));
  EXPECT_EQ(r.lease_seconds, 3600u);
  EXPECT_FALSE(net::dhcp_parse(m, 240 + sizeof opts, 78, &r));  // another transaction
  m[241] = 200;                                                 // option length past the end
  EXPECT_FALSE(net::dhcp_parse(m, 240 + sizeof opts, 77, &r));
  EXPECT_FALSE(net::dhcp_parse(m, 100, 77, &r));
}

}  // namespace

namespace {

bool tcp_to_stack(void* ctx, net::Ipv4 to, const net::tcp::Segment& s) {
  return static_cast<net::Stack*>(ctx)->send_tcp(to, s);
}
uint64_t now_us() { return g_now * 1000; }

// A SYN frame to port 80 from the neighbour 10.0.2.2 goes through IPv4 into the attached TCP;
// its SYN,ACK comes back as a frame to the neighbour's MAC with valid checksums. A SYN to a
// port nobody listens on gets RST,ACK.
TEST_F(StackTest, TcpSegmentsReachTheAttachedTcpAndAnswersGoOut) {
  net::tcp::Tcp tcp;
  net::tcp::Tcp::Config c;
  c.allocate = malloc;
  c.release = free;
  c.now_us = now_us;
  c.send = tcp_to_stack;
  c.ctx = &s;
  tcp.init(c, kOurIp);
  ASSERT_NE(tcp.listen(80, 4), nullptr);
  s.attach_tcp(&tcp);
  for (uint16_t port : {80, 81}) {
    net::tcp::Segment syn;
    syn.src_port = 40000;
    syn.dst_port = port;
    syn.seq = 777;
    syn.flags = net::tcp::kSyn;
    syn.window = 64000;
    syn.mss = 1460;
    auto f = eth(kOurMac, kGwMac, 0x0800);
    f.resize(14 + 20 + 24);
    uint8_t* h = &f[14];
    h[0] = 0x45;
    net::store16(h + 2, 20 + 24);
    h[8] = 64;
    h[9] = 6;
    net::store32(h + 12, kGw.value);
    net::store32(h + 16, kOurIp.value);
    net::store16(h + 10, net::checksum(h, 20));
    ASSERT_EQ(net::tcp::build(kGw, kOurIp, syn, h + 20, 24), 24u);
    g_sent.clear();
    s.receive_frame(f.data(), f.size());
    ASSERT_EQ(g_sent.size(), 1u) << port;
    const auto& out = g_sent[0];
    EXPECT_EQ(memcmp(out.data(), kGwMac.b, 6), 0);  // learned from the SYN's frame
    ASSERT_GE(out.size(), 34u);
    EXPECT_EQ(out[23], 6);
    net::tcp::Segment reply;
    const size_t tcp_length = net::load16(out.data() + 16) - 20u;  // the frame may be padded to 60 bytes
    ASSERT_EQ(net::tcp::parse(kOurIp, kGw, out.data() + 34, tcp_length, &reply), net::tcp::ParseResult::kOk);
    EXPECT_EQ(reply.ack, 778u);
    EXPECT_EQ(reply.dst_port, 40000);
    EXPECT_EQ(reply.flags, port == 80 ? (net::tcp::kSyn | net::tcp::kAck) : (net::tcp::kRst | net::tcp::kAck));
  }
  tcp.reset();
}

}  // namespace
