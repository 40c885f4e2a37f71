// Identity-mapped 4-level page tables (Intel SDM vol. 3 §4.5), built by portable code so the
// host tests can walk what the kernel will load into CR3.
//
//   arch::PageTableBuilder b(alloc_zeroed_page, &early_allocator);
//   b.identity_map(0, 4ull << 30, arch::kPageWritable);   // 2 MiB pages where aligned
//   b.unmap_4k(0);                                          // NULL faults
//   arch::write_cr3(b.root());
#pragma once

#include <cstdint>

namespace arch {

constexpr uint64_t kPagePresent = 1ull << 0;
constexpr uint64_t kPageWritable = 1ull << 1;
constexpr uint64_t kPageWriteThrough = 1ull << 3;  // PWT
constexpr uint64_t kPageCacheDisable = 1ull << 4;  // PCD: with PWT, the default PAT entry 3 = UC
constexpr uint64_t kPageLarge = 1ull << 7;         // PS bit in a PDE: 2 MiB page
constexpr uint64_t kPageAddressMask = 0x000FFFFFFFFFF000ull;
constexpr uint64_t kPage4K = 4096;
constexpr uint64_t kPage2M = 2ull << 20;
// One PDPT: the builder covers the first 512 GiB of physical address space.
constexpr uint64_t kMaxMappedAddress = 512ull << 30;

class PageTableBuilder {
 public:
  // Returns the address of a zeroed, 4 KiB aligned page (identity mapped: its address is also
  // its physical address), or 0 when out of memory.
  using AllocPage = uint64_t (*)(void* ctx);

  PageTableBuilder(AllocPage alloc, void* ctx);
  // Edits the live tables at `root` (pages for new tables come from `alloc`).
  PageTableBuilder(uint64_t root, AllocPage alloc, void* ctx) : alloc_(alloc), ctx_(ctx), pml4_(root) {}

  bool ok() const { return ok_; }  // false once an allocation failed or a request was invalid
  uint64_t root() const { return pml4_; }

  // Maps [start, end) to itself, rounded out to 4 KiB; uses 2 MiB pages where a 2 MiB range is
  // fully inside. Addresses at or above kMaxMappedAddress are refused.
  bool identity_map(uint64_t start, uint64_t end, uint64_t flags);
  // Removes one 4 KiB page (splitting a 2 MiB page if needed).
  bool unmap_4k(uint64_t address);
  // Clears the writable bit of the 4 KiB pages of [start, end) (rounded outwards), splitting
  // 2 MiB pages as needed. With CR0.WP set, ring-0 writes there fault.
  bool set_read_only(uint64_t start, uint64_t end);

  // Walks tables rooted at `root`; returns true and the physical address if `vaddr` is mapped,
  // and in *writable (if given) whether every level allows writes.
  static bool translate(uint64_t root, uint64_t vaddr, uint64_t* paddr, bool* writable = nullptr);
  // Sets (uncached) or clears PCD|PWT on every leaf entry that maps part of [start, end): a
  // whole 2 MiB page where the range touches one. False if part of the range is unmapped (the
  // mapped part is still changed). The caller flushes the TLB.
  static bool set_uncached(uint64_t root, uint64_t start, uint64_t end, bool uncached);

 private:
  uint64_t* table_at(uint64_t* entry);  // the next-level table of `entry`, allocated if absent
  uint64_t* pd_for(uint64_t address);
  uint64_t* pte_for(uint64_t address);  // splits a 2 MiB page; nullptr if unmapped or no memory
  bool map_4k(uint64_t address, uint64_t flags);

  AllocPage alloc_;
  void* ctx_;
  uint64_t pml4_ = 0;
  bool ok_ = true;
};

}  // namespace arch
