#include <gtest/gtest.h>
#include <mm/xheap.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace {

// Counts what the heap takes and gives back; a budget makes allocation fail.
struct Pool {
  std::set<void*> live;
  size_t budget = SIZE_MAX;
  size_t taken = 0;
  static void* allocate(void* ctx, size_t size) {
    auto* p = static_cast<Pool*>(ctx);
    if (p->taken + size > p->budget) return nullptr;
    void* b = aligned_alloc(16, (size + 15) & ~size_t(15));
    p->live.insert(b);
    p->taken += size;
    return b;
  }
  static void release(void* ctx, void* b) {
    auto* p = static_cast<Pool*>(ctx);
    ASSERT_EQ(p->live.erase(b), 1u) << "released twice or never allocated";
    free(b);
  }
  mm::XHeapHooks hooks() { return {allocate, release, this}; }
};

TEST(XHeap, SmallBlocksAreAlignedDistinctAndKeepTheirBytes) {
  Pool pool;
  mm::XHeap* h = mm::XHeap::create(pool.hooks());
  ASSERT_NE(h, nullptr);
  std::vector<std::pair<uint8_t*, size_t>> blocks;
  for (size_t i = 1; i <= 3000; ++i) {  // about 1.5 MiB: the first chunk and added ones
    const size_t size = (i * 37) % 1000 + 1;
    auto* p = static_cast<uint8_t*>(h->alloc(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    EXPECT_GE(mm::XHeap::size_of(p), size);
    memset(p, int(i & 0xFF), size);
    blocks.push_back({p, size});
  }
  EXPECT_GE(h->chunks(), 1u);
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (size_t k = 0; k < blocks[i].second; ++k) ASSERT_EQ(blocks[i].first[k], uint8_t((i + 1) & 0xFF)) << i;
  }
  EXPECT_EQ(h->alloc(0), nullptr);
  h->free(nullptr);
  h->free(blocks[5].first);  // small: nothing happens, the bytes stay
  EXPECT_EQ(blocks[5].first[0], uint8_t(6));
  h->destroy();
  EXPECT_TRUE(pool.live.empty());
}

TEST(XHeap, LargeBlocksAreTrackedAndFreedOneByOne) {
  Pool pool;
  mm::XHeap* h = mm::XHeap::create(pool.hooks());
  ASSERT_NE(h, nullptr);
  void* a = h->alloc(2 << 20);
  void* b = h->alloc(mm::XHeap::kLargeBlock);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(h->large_blocks(), 2u);
  const size_t before = pool.live.size();
  h->free(a);
  EXPECT_EQ(pool.live.size(), before - 1);
  h->free(a);  // not a live block of this heap any more: ignored, nothing released twice
  EXPECT_EQ(h->large_blocks(), 1u);
  for (size_t i = 1; i < mm::XHeap::kMaxLarge; ++i) ASSERT_NE(h->alloc(mm::XHeap::kLargeBlock), nullptr) << i;
  EXPECT_EQ(h->alloc(mm::XHeap::kLargeBlock), nullptr);  // every slot taken
  h->destroy();
  EXPECT_TRUE(pool.live.empty());
}

TEST(XHeap, ReallocGrowsTheLastBlockInPlaceAndMovesOthers) {
  Pool pool;
  mm::XHeap* h = mm::XHeap::create(pool.hooks());
  auto* a = static_cast<uint8_t*>(h->alloc(100));
  memset(a, 0xAB, 100);
  auto* a2 = static_cast<uint8_t*>(h->realloc(a, 5000));
  EXPECT_EQ(a2, a);  // the last block: in place
  auto* b = static_cast<uint8_t*>(h->alloc(16));
  auto* a3 = static_cast<uint8_t*>(h->realloc(a2, 9000));
  EXPECT_NE(a3, a2);  // not the last any more: moved, the bytes copied
  for (int k = 0; k < 100; ++k) ASSERT_EQ(a3[k], 0xAB);
  auto* big = static_cast<uint8_t*>(h->realloc(a3, 3 << 20));  // small -> large
  ASSERT_NE(big, nullptr);
  for (int k = 0; k < 100; ++k) ASSERT_EQ(big[k], 0xAB);
  EXPECT_EQ(h->large_blocks(), 1u);
  EXPECT_EQ(h->realloc(big, 0), nullptr);  // frees it
  EXPECT_EQ(h->large_blocks(), 0u);
  EXPECT_NE(h->realloc(nullptr, 10), nullptr);
  EXPECT_NE(b, nullptr);
  h->destroy();
  EXPECT_TRUE(pool.live.empty());
}

TEST(XHeap, UnstackGivesBackWhatTheScopeTookAndOnlyThat) {
  Pool pool;
  mm::XHeap* h = mm::XHeap::create(pool.hooks());
  auto* keep = static_cast<uint8_t*>(h->alloc(64));
  memset(keep, 0x5A, 64);
  void* large_before = h->alloc(mm::XHeap::kLargeBlock);
  const size_t live_before = pool.live.size();
  EXPECT_FALSE(h->pop_mark());  // no mark yet
  ASSERT_TRUE(h->push_mark());
  h->free(large_before);  // freed inside the scope: its slot must not take the scope's block
  void* in_scope = h->alloc(2 << 20);
  ASSERT_NE(in_scope, nullptr);
  for (int i = 0; i < 4000; ++i) ASSERT_NE(h->alloc(500), nullptr);  // needs added chunks
  EXPECT_GT(h->chunks(), 0u);
  EXPECT_TRUE(h->pop_mark());
  EXPECT_EQ(h->chunks(), 0u);
  EXPECT_EQ(h->large_blocks(), 0u);
  EXPECT_EQ(pool.live.size(), live_before - 1);  // the scope's chunks and block, and large_before
  for (int k = 0; k < 64; ++k) ASSERT_EQ(keep[k], 0x5A);
  for (size_t i = 0; i < mm::XHeap::kMaxMarks; ++i) ASSERT_TRUE(h->push_mark());
  EXPECT_FALSE(h->push_mark());
  h->destroy();
  EXPECT_TRUE(pool.live.empty());
}

TEST(XHeap, OutOfMemoryIsANilResultNotACrash) {
  Pool pool;
  pool.budget = mm::XHeap::kFirstChunk - 1;
  EXPECT_EQ(mm::XHeap::create(pool.hooks()), nullptr);
  pool.budget = mm::XHeap::kFirstChunk + mm::XHeap::kChunk;  // one added chunk at most
  mm::XHeap* h = mm::XHeap::create(pool.hooks());
  ASSERT_NE(h, nullptr);
  size_t got = 0;
  while (h->alloc(4096) != nullptr) ++got;
  EXPECT_GT(got, (mm::XHeap::kChunk / 4112));
  EXPECT_EQ(h->alloc(mm::XHeap::kLargeBlock), nullptr);
  EXPECT_EQ(h->alloc(SIZE_MAX), nullptr);
  h->destroy();
  EXPECT_TRUE(pool.live.empty());
}

}  // namespace
