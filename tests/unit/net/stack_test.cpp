#include <gtest/gtest.h>
#include <net/stack.h>

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

TEST_F(StackTest, EchoRequestToTheGatewayNeedsArpFirst) {
  const char data[] = "abcdefghijklmtororstuvwabcdefghi";
  EXPECT_FALSE(s.send_echo_request(kGw, 0, 90, data, 32));
  ASSERT_EQ(g_sent.size(), 1u);  // an ARP request went out instead
  EXPECT_EQ(net::load16(&g_sent[0][12]), 0x0806);
  EXPECT_EQ(net::load32(&g_sent[0][14 + 24]), kGw.value);
  auto reply = arp(2, kGwMac, kGw, kOurIp);
  s.receive_frame(reply.data(), reply.size());
  ASSERT_TRUE(s.send_echo_request(kGw, 0, 90, data, 32));
  const auto& f = g_sent.back();
  EXPECT_EQ(memcmp(&f[0], kGwMac.b, 6), 0);
  EXPECT_EQ(net::checksum(&f[14], 20), 0);           // valid IPv4 header
  EXPECT_EQ(net::checksum(&f[34], 8 + 32), 0);       // valid ICMP
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

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(net::checksum(data, sizeof data), uint16_t(~0xddf2));
}

}  // namespace
