#include <arch/x86_64/paging.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// Page tables live in host memory; the "physical" addresses the builder writes are host
// pointers, which works because translate() reads tables through the same identity.
struct Arena {
  std::vector<void*> pages;
  size_t limit = 1000;
  ~Arena() {
    for (void* p : pages) free(p);
  }
  static uint64_t alloc(void* self) {
    auto* a = static_cast<Arena*>(self);
    if (a->pages.size() >= a->limit) return 0;
    void* p = aligned_alloc(4096, 4096);
    memset(p, 0, 4096);
    a->pages.push_back(p);
    return reinterpret_cast<uint64_t>(p);
  }
};

TEST(Paging, IdentityMapsFourGiBWithLargePages) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(0, 4ull << 30, arch::kPageWritable));
  EXPECT_EQ(arena.pages.size(), 1u + 1u + 4u);  // PML4, PDPT, 4 page directories
  for (uint64_t a : {0x0ull, 0x1234ull, 0x100000ull, 0xFEE00000ull, (4ull << 30) - 1}) {
    uint64_t phys = 0;
    ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), a, &phys)) << std::hex << a;
    EXPECT_EQ(phys, a);
  }
  uint64_t phys;
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 4ull << 30, &phys));
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 0x0000400000000000ull, &phys));
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), ~0ull, &phys));
}

TEST(Paging, UnalignedRangesUse4KPagesAndUnmapSplitsLargePages) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(0, 4ull << 20, arch::kPageWritable));
  ASSERT_TRUE(b.identity_map(0x10000000, 0x10003001, arch::kPageWritable));  // 4 pages
  uint64_t phys;
  EXPECT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x10003FFF, &phys));
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 0x10004000, &phys));
  ASSERT_TRUE(b.unmap_4k(0));
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 0, &phys));
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 0xFFF, &phys));
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x1000, &phys));
  EXPECT_EQ(phys, 0x1000u);
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x1FFFFF, &phys));
  EXPECT_EQ(phys, 0x1FFFFFu);
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x200000, &phys));
}

TEST(Paging, RamAboveFourGiB) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(4ull << 30, 6ull << 30, arch::kPageWritable));
  uint64_t phys;
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), (5ull << 30) + 123, &phys));
  EXPECT_EQ(phys, (5ull << 30) + 123);
}

TEST(Paging, RefusesBeyond512GiBAndReportsOutOfMemory) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  EXPECT_FALSE(b.identity_map(0, arch::kMaxMappedAddress + 4096, arch::kPageWritable));
  EXPECT_FALSE(b.ok());

  Arena small;
  small.limit = 3;  // PML4, PDPT, one PD: the second GiB needs another PD
  arch::PageTableBuilder c(Arena::alloc, &small);
  EXPECT_FALSE(c.identity_map(0, 2ull << 30, arch::kPageWritable));
  EXPECT_FALSE(c.ok());
}

}  // namespace

namespace {

uint64_t leaf(uint64_t root, uint64_t a) {
  // The entry that maps `a` (PDE for 2 MiB pages, PTE otherwise).
  auto t = [](uint64_t x) { return reinterpret_cast<uint64_t*>(x & arch::kPageAddressMask); };
  const uint64_t pdpte = t(t(root)[0])[(a >> 30) & 511];
  const uint64_t pde = t(pdpte)[(a >> 21) & 511];
  if (pde & arch::kPageLarge) return pde;
  return t(pde)[(a >> 12) & 511];
}

TEST(Paging, SetUncachedFlipsPcdAndPwtOnCoveringPages) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(0, 16ull << 20, arch::kPageWritable));
  ASSERT_TRUE(b.unmap_4k(0));  // the first 2 MiB are 4 KiB pages now
  const uint64_t bits = arch::kPageCacheDisable | arch::kPageWriteThrough;
  ASSERT_TRUE(arch::PageTableBuilder::set_uncached(b.root(), 0x5000, 0x6000, true));
  EXPECT_EQ(leaf(b.root(), 0x5000) & bits, bits);
  EXPECT_EQ(leaf(b.root(), 0x6000) & bits, 0u);
  ASSERT_TRUE(arch::PageTableBuilder::set_uncached(b.root(), (4ull << 20) + 10, (4ull << 20) + 20, true));
  EXPECT_EQ(leaf(b.root(), 5ull << 20) & bits, bits);  // the whole 2 MiB page
  EXPECT_EQ(leaf(b.root(), 6ull << 20) & bits, 0u);
  uint64_t phys;
  EXPECT_TRUE(arch::PageTableBuilder::translate(b.root(), 5ull << 20, &phys));
  ASSERT_TRUE(arch::PageTableBuilder::set_uncached(b.root(), 4ull << 20, 6ull << 20, false));
  EXPECT_EQ(leaf(b.root(), 5ull << 20) & bits, 0u);
  EXPECT_FALSE(arch::PageTableBuilder::set_uncached(b.root(), 0, 0x1000, true));  // page 0 unmapped
  EXPECT_FALSE(arch::PageTableBuilder::set_uncached(b.root(), 1ull << 30, (1ull << 30) + 1, true));
}

}  // namespace

namespace {

TEST(Paging, ReadOnlyRangeSplitsLargePagesAndKeepsTheRestWritable) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(0, 8ull << 20, arch::kPageWritable));
  ASSERT_TRUE(b.set_read_only(0x100000, 0x305000));  // spans the first two 2 MiB pages
  EXPECT_EQ(leaf(b.root(), 0x100000) & arch::kPageWritable, 0u);
  EXPECT_EQ(leaf(b.root(), 0x304FFF) & arch::kPageWritable, 0u);
  EXPECT_NE(leaf(b.root(), 0x305000) & arch::kPageWritable, 0u);
  EXPECT_NE(leaf(b.root(), 0xFF000) & arch::kPageWritable, 0u);
  EXPECT_NE(leaf(b.root(), 6ull << 20) & arch::kPageWritable, 0u);
  uint64_t phys;
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x304123, &phys));
  EXPECT_EQ(phys, 0x304123u);
  // translate() tells whether a write may go there (the gdb stub's memory writes ask).
  bool writable = true;
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x200000, &phys, &writable));
  EXPECT_FALSE(writable);
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x305000, &phys, &writable));
  EXPECT_TRUE(writable);
  ASSERT_TRUE(arch::PageTableBuilder::translate(b.root(), 6ull << 20, &phys, &writable));  // a 2 MiB page
  EXPECT_TRUE(writable);
}

TEST(Paging, AttachedBuilderEditsLiveTables) {
  Arena arena;
  arch::PageTableBuilder b(Arena::alloc, &arena);
  ASSERT_TRUE(b.identity_map(0, 4ull << 20, arch::kPageWritable));
  arch::PageTableBuilder live(b.root(), Arena::alloc, &arena);
  ASSERT_TRUE(live.unmap_4k(0x201000));  // a guard page in the middle of a 2 MiB page
  uint64_t phys;
  EXPECT_FALSE(arch::PageTableBuilder::translate(b.root(), 0x201000, &phys));
  EXPECT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x200FFF, &phys));
  EXPECT_TRUE(arch::PageTableBuilder::translate(b.root(), 0x202000, &phys));
}

}  // namespace
