// The TCP building blocks that need no connection: sequence arithmetic (RFC 9293 §3.4), header
// and option parsing/building (§3.1, §3.2, RFC 7323), ISNs (RFC 6528) and the RTO (RFC 6298).
#include <gtest/gtest.h>
#include <lib/siphash.h>
#include <net/tcp/isn.h>
#include <net/tcp/rtt.h>
#include <net/tcp/segment.h>
#include <net/tcp/seq.h>

#include <cstring>
#include <vector>

namespace {

using namespace net;
using namespace net::tcp;

const Ipv4 kA = Ipv4::from_bytes(10, 0, 2, 15);
const Ipv4 kB = Ipv4::from_bytes(10, 0, 2, 2);

TEST(TcpSeq, ComparesAcrossTheWrap) {
  EXPECT_TRUE(seq_lt(0xFFFFFFF0u, 0x10u));
  EXPECT_TRUE(seq_gt(0x10u, 0xFFFFFFF0u));
  EXPECT_TRUE(seq_le(5u, 5u));
  EXPECT_TRUE(seq_ge(5u, 5u));
  EXPECT_FALSE(seq_lt(5u, 5u));
  EXPECT_TRUE(seq_lt(1u, 2u));
  EXPECT_EQ(seq_max(0xFFFFFFF0u, 0x10u), 0x10u);
  EXPECT_EQ(seq_min(0xFFFFFFF0u, 0x10u), 0xFFFFFFF0u);
}

TEST(TcpSeq, WindowMembership) {
  EXPECT_TRUE(seq_in(0xFFFFFFFFu, 0xFFFFFFF0u, 0x10u));
  EXPECT_TRUE(seq_in(0x0u, 0xFFFFFFF0u, 0x10u));
  EXPECT_FALSE(seq_in(0x10u, 0xFFFFFFF0u, 0x10u));  // the upper end is outside
  EXPECT_TRUE(seq_in(0xFFFFFFF0u, 0xFFFFFFF0u, 0x10u));
  EXPECT_FALSE(seq_in(7u, 7u, 7u));  // an empty window holds nothing
}

// A well-known SYN from a Linux capture-like example, built by hand: ports, numbers, flags,
// MSS 1460, SACK-permitted, window scale 7.
std::vector<uint8_t> linux_syn() {
  std::vector<uint8_t> b = {0xC3, 0x50, 0x00, 0x50,  // 50000 -> 80
                            0x12, 0x34, 0x56, 0x78,  // seq
                            0x00, 0x00, 0x00, 0x00,  // ack
                            0x80, 0x02,              // offset 8 words, SYN
                            0xFA, 0xF0,              // window 64240
                            0x00, 0x00, 0x00, 0x00,  // checksum, urgent
                            0x02, 0x04, 0x05, 0xB4,  // MSS 1460
                            0x04, 0x02,              // SACK permitted
                            0x01, 0x03, 0x03, 0x07,  // NOP, window scale 7
                            0x01, 0x01};             // NOP NOP: padding to 12 option bytes
  b.resize(32);
  store16(b.data() + 16, checksum(b.data(), b.size(), pseudo_header_sum(kB, kA, kProtoTcp, uint16_t(b.size()))));
  return b;
}

TEST(TcpSegment, ParsesASynWithOptions) {
  auto b = linux_syn();
  Segment s;
  ASSERT_EQ(parse(kB, kA, b.data(), b.size(), &s), ParseResult::kOk);
  EXPECT_EQ(s.src_port, 50000);
  EXPECT_EQ(s.dst_port, 80);
  EXPECT_EQ(s.seq, 0x12345678u);
  EXPECT_EQ(s.flags, kSyn);
  EXPECT_EQ(s.window, 64240);
  EXPECT_EQ(s.mss, 1460);
  EXPECT_EQ(s.window_scale, 7);
  EXPECT_TRUE(s.sack_permitted);
  EXPECT_EQ(s.payload_length, 0u);
  EXPECT_EQ(s.seg_len(), 1u);  // SYN occupies one sequence number
}

TEST(TcpSegment, RejectsWhatIsBroken) {
  auto b = linux_syn();
  Segment s;
  EXPECT_EQ(parse(kB, kA, b.data(), 19, &s), ParseResult::kTooShort);
  EXPECT_EQ(parse(kA, kB, b.data(), b.size(), &s), ParseResult::kOk);  // the sum is symmetric in src/dst
  auto flipped = b;
  flipped[5] ^= 1;
  EXPECT_EQ(parse(kB, kA, flipped.data(), flipped.size(), &s), ParseResult::kBadChecksum);
  auto offset = b;
  offset[12] = 0x40;  // 4 words: below the fixed header
  EXPECT_EQ(parse(kB, kA, offset.data(), offset.size(), &s), ParseResult::kBadOffset);
  offset[12] = 0xF0;  // 60 bytes: past the end
  EXPECT_EQ(parse(kB, kA, offset.data(), offset.size(), &s), ParseResult::kBadOffset);
}

TEST(TcpSegment, RejectsOptionsThatOverrun) {
  for (uint8_t bad_length : {uint8_t(0), uint8_t(1), uint8_t(13)}) {
    auto b = linux_syn();
    b[21] = bad_length;  // the MSS option's length byte
    store16(b.data() + 16, 0);
    store16(b.data() + 16, checksum(b.data(), b.size(), pseudo_header_sum(kB, kA, kProtoTcp, uint16_t(b.size()))));
    Segment s;
    EXPECT_EQ(parse(kB, kA, b.data(), b.size(), &s), ParseResult::kBadOption) << int(bad_length);
  }
}

TEST(TcpSegment, ClampsWindowScaleAndSkipsUnknownOptions) {
  Segment out;
  out.src_port = 80;
  out.dst_port = 1234;
  out.flags = kSyn | kAck;
  out.window_scale = 20;
  uint8_t buf[64];
  const size_t n = build(kA, kB, out, buf, sizeof buf);
  ASSERT_EQ(n, 24u);
  Segment in;
  ASSERT_EQ(parse(kA, kB, buf, n, &in), ParseResult::kOk);
  EXPECT_EQ(in.window_scale, 14);  // RFC 7323 §2.3
  EXPECT_EQ(in.mss, 0);

  // An unknown option kind 30 of length 4 (MPTCP-like) in front of MSS is skipped.
  std::vector<uint8_t> b(28, 0);
  b[12] = 0x70;
  const uint8_t opts[] = {30, 4, 0xAA, 0xBB, 2, 4, 0x02, 0x18};
  memcpy(b.data() + 20, opts, sizeof opts);
  store16(b.data() + 16, checksum(b.data(), b.size(), pseudo_header_sum(kB, kA, kProtoTcp, uint16_t(b.size()))));
  ASSERT_EQ(parse(kB, kA, b.data(), b.size(), &in), ParseResult::kOk);
  EXPECT_EQ(in.mss, 536);
}

TEST(TcpSegment, BuildThenParseRoundTrips) {
  const char text[] = "GET / HTTP/1.1\r\n\r\n";
  Segment out;
  out.src_port = 80;
  out.dst_port = 40000;
  out.seq = 0xFFFFFFFEu;
  out.ack = 7;
  out.flags = kAck | kPsh | kFin;
  out.window = 29200;
  out.mss = 1460;
  out.sack_permitted = true;
  out.window_scale = 7;
  out.payload = reinterpret_cast<const uint8_t*>(text);
  out.payload_length = sizeof text - 1;
  uint8_t buf[128];
  EXPECT_EQ(build(kA, kB, out, buf, header_size(out) + out.payload_length - 1), 0u);  // one byte short
  const size_t n = build(kA, kB, out, buf, sizeof buf);
  ASSERT_EQ(header_size(out), 32u);  // 4 + 2 + 3 option bytes, padded to 12
  ASSERT_EQ(n, 32u + out.payload_length);
  Segment in;
  ASSERT_EQ(parse(kA, kB, buf, n, &in), ParseResult::kOk);
  EXPECT_EQ(in.seq, out.seq);
  EXPECT_EQ(in.ack, out.ack);
  EXPECT_EQ(in.flags, out.flags);
  EXPECT_EQ(in.window, out.window);
  EXPECT_EQ(in.mss, 1460);
  EXPECT_EQ(in.window_scale, 7);
  EXPECT_TRUE(in.sack_permitted);
  ASSERT_EQ(in.payload_length, out.payload_length);
  EXPECT_EQ(memcmp(in.payload, text, in.payload_length), 0);
  EXPECT_EQ(in.seg_len(), out.payload_length + 1);  // FIN counts one
  // The checksum covers the pseudo-header: the same bytes "from" another address fail.
  EXPECT_EQ(parse(kA, Ipv4::from_bytes(10, 0, 2, 3), buf, n, &in), ParseResult::kBadChecksum);
}

// The reference vector of the SipHash paper (Appendix A): key 00..0f, message 00..0e.
TEST(SipHash, PaperVector) {
  klib::SipKey key{0x0706050403020100ULL, 0x0F0E0D0C0B0A0908ULL};
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = uint8_t(i);
  EXPECT_EQ(klib::siphash24(key, msg, sizeof msg), 0xA129CA6149BE45E5ULL);
  // And the first entry of the reference implementation's vector table: the empty message.
  EXPECT_EQ(klib::siphash24(key, msg, 0), 0x726FDB47DD0E0E31ULL);
}

TEST(TcpIsn, AdvancesWithTimeAndDependsOnKeyAndConnection) {
  const klib::SipKey key{1, 2};
  const uint32_t a = initial_sequence(key, 0, kA, 80, kB, 5000);
  EXPECT_EQ(initial_sequence(key, 4000, kA, 80, kB, 5000), a + 1000);  // M ticks every 4 us
  EXPECT_NE(initial_sequence(key, 0, kA, 80, kB, 5001), a);
  EXPECT_NE(initial_sequence(key, 0, kA, 81, kB, 5000), a);
  EXPECT_NE(initial_sequence(klib::SipKey{1, 3}, 0, kA, 80, kB, 5000), a);
}

TEST(TcpRtt, FollowsRfc6298) {
  RttEstimator r;
  EXPECT_EQ(r.rto_us(), 1'000'000u);  // §2.1 before any sample
  r.back_off();
  EXPECT_EQ(r.rto_us(), 2'000'000u);  // §5.5
  r.sample(100'000);                  // §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR
  EXPECT_EQ(r.srtt_us(), 100'000u);
  EXPECT_EQ(r.rttvar_us(), 50'000u);
  EXPECT_EQ(r.rto_us(), 300'000u);
  EXPECT_EQ(r.backoffs(), 0u);  // a new sample ends the back-off
  r.sample(200'000);            // §2.3: RTTVAR = 3/4*50000 + 1/4*100000, SRTT = 7/8*100000 + 1/8*200000
  EXPECT_EQ(r.rttvar_us(), 62'500u);
  EXPECT_EQ(r.srtt_us(), 112'500u);
  EXPECT_EQ(r.rto_us(), 112'500u + 250'000u);
  for (int i = 0; i < 30; ++i) r.sample(1'000);  // a fast path: the floor holds
  EXPECT_EQ(r.rto_us(), RttEstimator::kMinRto);
  for (int i = 0; i < 40; ++i) r.back_off();  // the ceiling holds
  EXPECT_EQ(r.rto_us(), RttEstimator::kMaxRto);
}

}  // namespace
