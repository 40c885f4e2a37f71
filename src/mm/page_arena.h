// A contiguous range of RAM managed in 4 KiB pages: spans of pages are allocated first-fit from
// segregated free lists and coalesced with their free neighbours when released, so memory does
// not fragment for good. One PageInfo per page (0.8 % of the arena, at its start) records which
// span a page belongs to; the heap keeps its slab bookkeeping there too. Owner-core only: no
// locks (src/mm/heap.cpp explains the per-core model). Portable, host-tested.
//
//   mm::PageArena a;
//   a.init(0x200000, 0x8000000);
//   uint32_t first = a.alloc_span(3, mm::PageKind::kLarge);   // kNoPage when out of memory
//   a.free_span(first);
#pragma once

#include <cstddef>
#include <cstdint>

namespace mm {

constexpr uint32_t kNoPage = 0xFFFFFFFF;

enum class PageKind : uint8_t { kMetadata, kFree, kLarge, kSlab };

struct PageInfo {
  uint32_t start;  // first page of the span this page belongs to
  uint32_t pages;  // span length (valid on a span's first page; for free spans, also its last)
  uint32_t next;   // free-bin or partial-slab list links (page indices, kNoPage = none)
  uint32_t prev;
  void* free_list;  // slab: freed blocks (a block's first word links to the next)
  uint16_t bump;    // slab: blocks never handed out start at this index
  uint16_t used;    // slab: blocks in use
  PageKind kind;
  uint8_t size_class;  // slab
  uint16_t reserved;
};
static_assert(sizeof(PageInfo) == 32);

class PageArena {
 public:
  static constexpr uint32_t kExactBins = 64;
  static constexpr uint32_t kBins = kExactBins + 26;

  // Takes [start, end) (rounded inwards to pages); the PageInfo array occupies its first pages.
  // False if fewer than 2 usable pages remain.
  bool init(uint64_t start, uint64_t end);

  // First page index of a new span of `pages` pages, or kNoPage.
  uint32_t alloc_span(uint32_t pages, PageKind kind);
  // Returns a span (given by its first page) to the free lists, merging free neighbours.
  void free_span(uint32_t first);

  bool contains(uint64_t address) const { return address >= base_ && address < base_ + uint64_t(pages_) * 4096; }
  uint32_t page_of(uint64_t address) const { return uint32_t((address - base_) / 4096); }
  uint64_t address_of(uint32_t page) const { return base_ + uint64_t(page) * 4096; }
  PageInfo& info(uint32_t page) { return info_[page]; }
  const PageInfo& info(uint32_t page) const { return info_[page]; }

  uint64_t base() const { return base_; }
  uint32_t page_count() const { return pages_; }
  uint64_t free_pages() const { return free_pages_; }
  uint32_t largest_free_span() const;  // in pages

 private:
  static uint32_t bin_of(uint32_t pages);
  void push_free(uint32_t first, uint32_t pages);
  void unlink_free(uint32_t first);
  void stamp(uint32_t first, uint32_t pages, PageKind kind);

  uint64_t base_ = 0;
  uint32_t pages_ = 0;
  PageInfo* info_ = nullptr;
  uint32_t bins_[kBins] = {};
  uint64_t nonempty_[2] = {};
  uint64_t free_pages_ = 0;
};

}  // namespace mm
