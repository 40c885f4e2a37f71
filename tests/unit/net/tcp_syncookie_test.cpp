// SYN cookies (net/tcp/syncookie.h): what a cookie encodes comes back, for two periods only,
// and only for the 4-tuple and SYN it was made for. And the ISN secret both are keyed with
// (net/tcp/isn.h).
#include <gtest/gtest.h>
#include <net/tcp/isn.h>
#include <net/tcp/syncookie.h>

namespace {

using namespace net;
namespace sc = net::tcp::syncookie;

const klib::SipKey kKey{0x0123456789ABCDEFull, 0xFEDCBA9876543210ull};
const Ipv4 kLocal = Ipv4::from_bytes(10, 0, 2, 15);
const Ipv4 kRemote = Ipv4::from_bytes(10, 0, 2, 2);
constexpr uint64_t kNow = 1000 * sc::kPeriodUs + 12345;

TEST(SynCookie, EncodesTheLargestMssStepNotAboveThePeers) {
  const struct {
    uint16_t offered, expected;
  } cases[] = {{0, 536}, {100, 536}, {536, 536}, {1219, 536}, {1220, 1220}, {1452, 1440}, {1460, 1460}, {9000, 1460}};
  for (const auto& c : cases) {
    const uint32_t cookie = sc::make(kKey, kNow, kLocal, 8080, kRemote, 40000, 777, c.offered);
    EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8080, kRemote, 40000, 777, cookie), c.expected) << c.offered;
  }
}

TEST(SynCookie, ValidForTwoPeriodsThenNot) {
  const uint32_t cookie = sc::make(kKey, kNow, kLocal, 8080, kRemote, 40000, 0xFFFFFFF0u, 1460);
  EXPECT_EQ(sc::check(kKey, kNow + 2 * sc::kPeriodUs, kLocal, 8080, kRemote, 40000, 0xFFFFFFF0u, cookie), 1460);
  EXPECT_EQ(sc::check(kKey, kNow + 3 * sc::kPeriodUs, kLocal, 8080, kRemote, 40000, 0xFFFFFFF0u, cookie), 0);
  EXPECT_EQ(sc::check(kKey, kNow - sc::kPeriodUs, kLocal, 8080, kRemote, 40000, 0xFFFFFFF0u, cookie), 0);  // future
}

TEST(SynCookie, BoundToTheTupleTheSynAndTheKey) {
  const uint32_t cookie = sc::make(kKey, kNow, kLocal, 8080, kRemote, 40000, 777, 1460);
  EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8080, kRemote, 40001, 777, cookie), 0);
  EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8081, kRemote, 40000, 777, cookie), 0);
  EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8080, Ipv4::from_bytes(10, 0, 2, 3), 40000, 777, cookie), 0);
  EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8080, kRemote, 40000, 778, cookie), 0);
  EXPECT_EQ(sc::check(klib::SipKey{1, 2}, kNow, kLocal, 8080, kRemote, 40000, 777, cookie), 0);
  EXPECT_EQ(sc::check(kKey, kNow, kLocal, 8080, kRemote, 40000, 777, cookie + 1), 0);
}

// A blind guess passes with probability about 3 * 4 / 2^24: none of 200 000 should.
TEST(SynCookie, GuessesFail) {
  uint32_t x = 99, accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1664525u + 1013904223u;
    if (sc::check(kKey, kNow, kLocal, 8080, kRemote, 40000, 777, x) != 0) ++accepted;
  }
  EXPECT_LE(accepted, 2u);
}

// The secret mixes the clock and the MAC: another card or another moment gives another key,
// and the ISNs it keys advance with time for one connection identity (RFC 6528 §3).
TEST(IsnSecret, DependsOnTheClockAndTheMac) {
  uint64_t tick = 1000;
  auto clock = [&tick] { return tick += 7; };
  const Mac a{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}, b{{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}};
  tick = 1000;
  const klib::SipKey ka = tcp::isn_secret(clock, a);
  tick = 1000;
  const klib::SipKey kb = tcp::isn_secret(clock, b);
  tick = 5000;
  const klib::SipKey later = tcp::isn_secret(clock, a);
  EXPECT_NE(ka.k0, kb.k0);
  EXPECT_NE(ka.k0, later.k0);
  EXPECT_NE(ka.k1, later.k1);
  const uint32_t first = tcp::initial_sequence(ka, 0, kLocal, 8080, kRemote, 40000);
  EXPECT_EQ(tcp::initial_sequence(ka, 4000, kLocal, 8080, kRemote, 40000), first + 1000);
  EXPECT_NE(tcp::initial_sequence(ka, 0, kLocal, 8080, kRemote, 40001), first);
  EXPECT_NE(tcp::initial_sequence(kb, 0, kLocal, 8080, kRemote, 40000), first);
}

}  // namespace
