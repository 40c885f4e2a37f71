#include <gtest/gtest.h>
#include <mm/page_arena.h>

#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct ArenaMemory {
  explicit ArenaMemory(size_t pages) : bytes(pages * 4096) { mem = static_cast<char*>(aligned_alloc(4096, bytes)); }
  ~ArenaMemory() { free(mem); }
  uint64_t start() const { return reinterpret_cast<uint64_t>(mem); }
  uint64_t end() const { return start() + bytes; }
  size_t bytes;
  char* mem;
};

TEST(PageArena, MetadataAtTheStartAndAllPagesFree) {
  ArenaMemory m(1024);
  mm::PageArena a;
  ASSERT_TRUE(a.init(m.start(), m.end()));
  EXPECT_EQ(a.page_count(), 1024u);
  const uint32_t meta = (1024 * sizeof(mm::PageInfo) + 4095) / 4096;  // 8 pages
  EXPECT_EQ(a.free_pages(), 1024u - meta);
  EXPECT_EQ(a.largest_free_span(), 1024u - meta);
  EXPECT_EQ(a.info(0).kind, mm::PageKind::kMetadata);
}

TEST(PageArena, SplitAndCoalesceBackToOneSpan) {
  ArenaMemory m(512);
  mm::PageArena a;
  ASSERT_TRUE(a.init(m.start(), m.end()));
  const uint64_t all = a.free_pages();
  const uint32_t x = a.alloc_span(3, mm::PageKind::kLarge);
  const uint32_t y = a.alloc_span(10, mm::PageKind::kLarge);
  const uint32_t z = a.alloc_span(1, mm::PageKind::kLarge);
  ASSERT_NE(x, mm::kNoPage);
  ASSERT_NE(y, mm::kNoPage);
  ASSERT_NE(z, mm::kNoPage);
  EXPECT_EQ(a.free_pages(), all - 14);
  for (uint32_t p = y; p < y + 10; ++p) EXPECT_EQ(a.info(p).start, y);
  a.free_span(y);  // middle first: no merge with allocated neighbours... but with the tail? no: z follows
  a.free_span(x);  // merges with y
  a.free_span(z);  // merges with x+y and the rest
  EXPECT_EQ(a.free_pages(), all);
  EXPECT_EQ(a.largest_free_span(), all);
  EXPECT_EQ(a.alloc_span(uint32_t(all), mm::PageKind::kLarge), x);  // one span again
}

TEST(PageArena, ExhaustionAndZero) {
  ArenaMemory m(64);
  mm::PageArena a;
  ASSERT_TRUE(a.init(m.start(), m.end()));
  EXPECT_EQ(a.alloc_span(0, mm::PageKind::kLarge), mm::kNoPage);
  EXPECT_EQ(a.alloc_span(64, mm::PageKind::kLarge), mm::kNoPage);  // metadata takes a page
  EXPECT_NE(a.alloc_span(63, mm::PageKind::kLarge), mm::kNoPage);
  EXPECT_EQ(a.alloc_span(1, mm::PageKind::kLarge), mm::kNoPage);
  EXPECT_EQ(a.largest_free_span(), 0u);
}

TEST(PageArena, TooSmall) {
  ArenaMemory m(4);
  mm::PageArena a;
  EXPECT_FALSE(a.init(m.start(), m.start() + 4096));
  EXPECT_TRUE(a.init(m.start(), m.start() + 3 * 4096));
}

// The largest free span found by walking every span from the first page (the arena keeps it
// by bins; this does not use them).
uint32_t LargestFreeByWalking(const mm::PageArena& a) {
  uint32_t best = 0;
  for (uint32_t p = 0; p < a.page_count(); p += a.info(p).pages) {
    if (a.info(p).kind == mm::PageKind::kFree && a.info(p).pages > best) best = a.info(p).pages;
  }
  return best;
}

// Random allocate/free for a while, then everything is released: the arena must be one span
// again (coalescing leaves no permanent fragmentation); all along, the largest free span is the
// one a walk over every span finds, in whichever bin it lies (exact sizes up to 64 pages, ranges
// beyond).
TEST(PageArena, RandomSoakCoalescesCompletely) {
  ArenaMemory m(4096);
  mm::PageArena a;
  ASSERT_TRUE(a.init(m.start(), m.end()));
  const uint64_t all = a.free_pages();
  std::mt19937 rng(42);
  std::vector<uint32_t> live;
  for (int i = 0; i < 20000; ++i) {
    if (live.empty() || rng() % 3 != 0) {
      const uint32_t n = rng() % 4 == 0 ? 1 + rng() % 300 : 1 + rng() % 8;
      const uint32_t s = a.alloc_span(n, mm::PageKind::kLarge);
      if (s != mm::kNoPage) {
        ASSERT_EQ(a.info(s).pages, n);
        live.push_back(s);
      }
    } else {
      const size_t k = rng() % live.size();
      a.free_span(live[k]);
      live[k] = live.back();
      live.pop_back();
    }
    if (i % 50 == 0) {
      ASSERT_EQ(a.largest_free_span(), LargestFreeByWalking(a)) << "step " << i;
    }
  }
  for (uint32_t s : live) a.free_span(s);
  EXPECT_EQ(a.free_pages(), all);
  EXPECT_EQ(a.largest_free_span(), all);
}

}  // namespace
