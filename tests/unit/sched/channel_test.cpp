#include "sched/channel.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace {

auto yield = [] { std::this_thread::yield(); };
auto never = [] { FAIL() << "must not wait"; };

TEST(Channel, EmptyPollAndLength) {
  sched::Channel<8> ch;
  char out[16];
  EXPECT_EQ(ch.poll(out, sizeof out, never).error, sched::ChannelError::kEmpty);
  ASSERT_EQ(ch.send("hello", 5, never), sched::ChannelError::kOk);
  auto r = ch.poll(out, sizeof out, never);
  EXPECT_EQ(r.error, sched::ChannelError::kOk);
  EXPECT_EQ(r.length, 5u);
  EXPECT_EQ(std::string(out, 5), "hello");
  EXPECT_TRUE(ch.empty());
}

TEST(Channel, ZeroLengthAndTooLargeAndSmallBuffer) {
  sched::Channel<8> ch;
  char out[4];
  EXPECT_EQ(ch.send(out, sched::Channel<8>::kMaxMessage + 1, never), sched::ChannelError::kTooLarge);
  EXPECT_TRUE(ch.empty());
  ASSERT_EQ(ch.send(out, 0, never), sched::ChannelError::kOk);
  EXPECT_EQ(ch.poll(out, 0, never).length, 0u);
  ASSERT_EQ(ch.send("0123456789", 10, never), sched::ChannelError::kOk);
  auto r = ch.poll(out, sizeof out, never);
  EXPECT_EQ(r.error, sched::ChannelError::kBufferTooSmall);
  EXPECT_EQ(r.length, 10u);
  char big[16];
  EXPECT_EQ(ch.poll(big, sizeof big, never).length, 10u);  // still queued, intact
}

// Two threads play two cores: messages of sizes 0..64 KiB, larger than the ring, streamed.
TEST(Channel, SpscStressAnySize) {
  sched::Channel<16> ch;
  constexpr int kMessages = 400;
  auto size_of = [](int i) { return static_cast<size_t>((i * 997) % 65536); };
  std::thread producer([&] {
    std::vector<uint8_t> buf(65536);
    for (int i = 0; i < kMessages; ++i) {
      for (size_t k = 0; k < size_of(i); ++k) buf[k] = static_cast<uint8_t>(i + k);
      ASSERT_EQ(ch.send(buf.data(), size_of(i), yield), sched::ChannelError::kOk);
    }
  });
  std::vector<uint8_t> out(65536);
  for (int i = 0; i < kMessages; ++i) {
    sched::ChannelRecv r;
    while ((r = ch.poll(out.data(), out.size(), yield)).error == sched::ChannelError::kEmpty) std::this_thread::yield();
    ASSERT_EQ(r.error, sched::ChannelError::kOk);
    ASSERT_EQ(r.length, size_of(i));
    size_t bad = 0;
    while (bad < r.length && out[bad] == static_cast<uint8_t>(i + bad)) ++bad;
    ASSERT_EQ(bad, r.length) << "message " << i;
  }
  producer.join();
}

TEST(ChannelBus, BadCoreAndSelfAndPairsApart) {
  constexpr size_t kCores = 3;
  sched::Channel<4> chans[kCores * kCores];
  sched::Channel<4>* table[kCores * kCores];
  for (size_t i = 0; i < kCores * kCores; ++i) table[i] = &chans[i];
  sched::ChannelBus<4> bus(kCores, table);
  char out[8];
  EXPECT_EQ(bus.send(0, 3, "x", 1, never), sched::ChannelError::kBadCore);
  EXPECT_EQ(bus.send(7, 1, "x", 1, never), sched::ChannelError::kBadCore);
  EXPECT_EQ(bus.send(1, 1, "x", 1, never), sched::ChannelError::kSelf);
  EXPECT_EQ(bus.poll(0, 3, out, sizeof out, never).error, sched::ChannelError::kBadCore);
  EXPECT_EQ(bus.poll(2, 2, out, sizeof out, never).error, sched::ChannelError::kSelf);
  ASSERT_EQ(bus.send(0, 2, "a", 1, never), sched::ChannelError::kOk);
  ASSERT_EQ(bus.send(1, 2, "bb", 2, never), sched::ChannelError::kOk);
  EXPECT_EQ(bus.poll(0, 1, out, sizeof out, never).error, sched::ChannelError::kEmpty);
  auto r = bus.poll(1, 2, out, sizeof out, never);
  EXPECT_EQ(r.length, 2u);
  EXPECT_EQ(std::string(out, 2), "bb");
  r = bus.poll(0, 2, out, sizeof out, never);
  EXPECT_EQ(r.length, 1u);
  EXPECT_EQ(out[0], 'a');
}

}  // namespace
