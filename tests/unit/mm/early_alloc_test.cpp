#include <gtest/gtest.h>
#include <mm/early_alloc.h>

namespace {

TEST(EarlyAllocator, PicksLargestUsableRegionAboveFloor) {
  arch::MemoryMap m;
  m.add(0, 0x9F000, 1);
  m.add(0x100000, 0x700000, 1);  // 1 MiB .. 8 MiB
  m.add(0x800000, 0x100000, 2);
  m.add(0x900000, 0x3700000, 1);  // 9 MiB .. 64 MiB: largest
  m.sanitize();
  mm::EarlyAllocator a;
  ASSERT_TRUE(a.init(m, 0x200000));
  EXPECT_EQ(a.start(), 0x900000u);
  EXPECT_EQ(a.end(), 0x4000000u);
}

TEST(EarlyAllocator, CeilingKeepsItBelowFourGiB) {
  arch::MemoryMap m;
  m.add(0x100000, 0xBFF00000, 1);    // 1 MiB .. 3 GiB
  m.add(4ull << 30, 5ull << 30, 1);  // 5 GiB above 4 GiB: the largest region
  mm::EarlyAllocator a;
  ASSERT_TRUE(a.init(m, 0x200000, 4ull << 30));
  EXPECT_EQ(a.start(), 0x200000u);
  EXPECT_EQ(a.end(), 0xC0000000u);
  mm::EarlyAllocator b;
  arch::MemoryMap high;
  high.add(4ull << 30, 1ull << 30, 1);
  EXPECT_FALSE(b.init(high, 0, 4ull << 30));
}

TEST(EarlyAllocator, FloorInsideARegionClipsIt) {
  arch::MemoryMap m;
  m.add(0x100000, 0x7F00000, 1);
  mm::EarlyAllocator a;
  ASSERT_TRUE(a.init(m, 0x180000));
  EXPECT_EQ(a.start(), 0x180000u);
}

TEST(EarlyAllocator, AlignmentAndExhaustion) {
  arch::MemoryMap m;
  m.add(0x100000, 0x3000, 1);
  mm::EarlyAllocator a;
  ASSERT_TRUE(a.init(m, 0x100001));
  void* p = a.allocate(10, 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p), 0x101000u);
  EXPECT_TRUE(a.contains(p));
  EXPECT_EQ(a.allocate(10, 3), nullptr);  // not a power of two
  EXPECT_NE(a.allocate(0x1000, 16), nullptr);
  EXPECT_EQ(a.allocate(0x1000, 16), nullptr);  // exhausted
  EXPECT_EQ(a.allocate(~size_t(0), 16), nullptr);
}

TEST(EarlyAllocator, NoUsableMemory) {
  arch::MemoryMap m;
  m.add(0, 0x1000, 2);
  mm::EarlyAllocator a;
  EXPECT_FALSE(a.init(m, 0));
  EXPECT_EQ(a.allocate(1, 1), nullptr);
}

}  // namespace
