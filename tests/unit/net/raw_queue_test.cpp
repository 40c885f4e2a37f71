#include <gtest/gtest.h>
#include <net/raw_queue.h>

namespace {

TEST(RawQueue, FirstInFirstOutUpToItsCapacityThenDropsAndCounts) {
  net::RawQueue<int> q;
  static int items[net::RawQueue<int>::kCapacity + 10];
  EXPECT_EQ(q.pop(), nullptr);
  for (size_t i = 0; i < net::RawQueue<int>::kCapacity; ++i) EXPECT_TRUE(q.push(&items[i]));
  EXPECT_EQ(q.size(), net::RawQueue<int>::kCapacity);
  for (size_t i = 0; i < 10; ++i) EXPECT_FALSE(q.push(&items[net::RawQueue<int>::kCapacity + i]));
  EXPECT_EQ(q.dropped(), 10u);
  q.count_drop();
  EXPECT_EQ(q.dropped(), 11u);
  for (size_t i = 0; i < net::RawQueue<int>::kCapacity; ++i) EXPECT_EQ(q.pop(), &items[i]);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_EQ(q.size(), 0u);
}

TEST(RawQueue, WrapsAroundItsRing) {
  net::RawQueue<int> q;
  int items[3];
  for (int round = 0; round < 200; ++round) {  // head_ passes the end of the ring many times
    ASSERT_TRUE(q.push(&items[0]));
    ASSERT_TRUE(q.push(&items[1]));
    ASSERT_EQ(q.pop(), &items[0]);
    ASSERT_TRUE(q.push(&items[2]));
    ASSERT_EQ(q.pop(), &items[1]);
    ASSERT_EQ(q.pop(), &items[2]);
    ASSERT_EQ(q.pop(), nullptr);
  }
  EXPECT_EQ(q.dropped(), 0u);
}

}  // namespace
