#include <arch/x86_64/tsc.h>
#include <gtest/gtest.h>
#include <sched/mailbox.h>
#include <sched/run_queue.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

TEST(RunQueue, RoundRobinFromTheThreadAfterTheCurrentOneCurrentLast) {
  sched::Thread a, b, c;
  sched::RunQueue q;
  q.insert(&a);
  q.insert(&b);
  q.insert(&c);
  EXPECT_EQ(q.pick(&a, 0), &b);
  EXPECT_EQ(q.pick(&b, 0), &c);
  EXPECT_EQ(q.pick(&c, 0), &a);
  b.state = sched::ThreadState::kSuspended;
  EXPECT_EQ(q.pick(&a, 0), &c);
  c.state = sched::ThreadState::kSuspended;
  EXPECT_EQ(q.pick(&a, 0), &a);  // only the current one can run: it continues
  a.state = sched::ThreadState::kSuspended;
  EXPECT_EQ(q.pick(&a, 0), nullptr);
  EXPECT_EQ(q.pick(nullptr, 0), nullptr);
}

TEST(RunQueue, SleepersWakeAtTheirDeadline) {
  sched::Thread a, b;
  sched::RunQueue q;
  q.insert(&a);
  q.insert(&b);
  a.state = sched::ThreadState::kSleeping;
  a.wake_tsc = 1000;
  b.state = sched::ThreadState::kSleeping;
  b.wake_tsc = 500;
  EXPECT_EQ(q.next_deadline(), 500u);
  EXPECT_EQ(q.pick(nullptr, 499), nullptr);
  EXPECT_EQ(q.pick(nullptr, 500), &b);
  EXPECT_EQ(b.state.load(), sched::ThreadState::kReady);
  EXPECT_EQ(q.next_deadline(), 1000u);
}

TEST(RunQueue, InsertAtTailAndRemove) {
  sched::Thread a, b, c;
  sched::RunQueue q;
  q.insert(&a);
  q.insert(&b);
  q.insert(&c);
  EXPECT_EQ(q.size(), 3u);
  q.remove(&a);
  EXPECT_EQ(q.head(), &b);
  EXPECT_EQ(q.pick(nullptr, 0), &b);
  EXPECT_EQ(q.pick(&a, 0), &b);  // a no longer in the ring: start from the head
  q.remove(&b);
  q.remove(&c);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.next_deadline(), 0u);
}

TEST(Mailbox, FifoAndFull) {
  sched::Mailbox<int, 4> box;
  EXPECT_TRUE(box.empty());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(box.push(i));
  EXPECT_FALSE(box.push(99));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*box.pop(), i);
  EXPECT_FALSE(box.pop().has_value());
}

// Two threads play two cores: the producer sends 1e6 numbered messages through a small ring,
// the consumer must see each exactly once, in order (run under ThreadSanitizer too).
TEST(Mailbox, SpscStress) {
  sched::Mailbox<uint64_t, 64> box;
  constexpr uint64_t kCount = 1000000;
  std::thread producer([&] {
    for (uint64_t i = 1; i <= kCount; ++i) {
      while (!box.push(i)) std::this_thread::yield();
    }
  });
  uint64_t expected = 1;
  while (expected <= kCount) {
    if (auto v = box.pop()) {
      ASSERT_EQ(*v, expected);
      ++expected;
    }
  }
  producer.join();
  EXPECT_TRUE(box.empty());
}

TEST(Timer, MillisecondsToCyclesAndBack) {
  EXPECT_EQ(arch::ms_to_cycles(1, 2'600'000'000), 2'600'000u);
  EXPECT_EQ(arch::ms_to_cycles(3, 1'999), 5u);  // 5.997: rounds down
  EXPECT_EQ(arch::ms_to_cycles(1000ull * 3600 * 24 * 365, 3'000'000'000), 94'608'000'000'000'000ull);  // no overflow
  EXPECT_EQ(arch::cycles_to_us(2'600'000, 2'600'000'000), 1000u);
  EXPECT_EQ(arch::cycles_to_us(123, 0), 0u);
  EXPECT_EQ(arch::cycles_to_us(~0ull, 1'000'000'000), ~0ull / 1000);
}

TEST(Timer, LapicTicksRoundUpAndClamp) {
  EXPECT_EQ(arch::cycles_to_lapic_ticks(1'000'000, 62'500), 62'501u);  // one past the exact count
  EXPECT_EQ(arch::cycles_to_lapic_ticks(1, 62'500), 1u);               // never 0: 0 stops the timer
  EXPECT_EQ(arch::cycles_to_lapic_ticks(0, 62'500), 1u);
  EXPECT_EQ(arch::cycles_to_lapic_ticks(2'500'000, 40'000), 100'001u);  // 2.5 M cycles at 0.04 tick/cycle
  EXPECT_EQ(arch::cycles_to_lapic_ticks(~0ull, 62'500), 0xFFFFFFFFu);   // clamped to the register
}

}  // namespace
