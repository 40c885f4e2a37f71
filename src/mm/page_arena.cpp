#include <mm/page_arena.h>

#include <bit>

namespace mm {

uint32_t PageArena::bin_of(uint32_t pages) {
  if (pages <= kExactBins) return pages - 1;
  return kExactBins + uint32_t(std::bit_width(pages)) - 1 - 6;  // 65..127 pages -> bin 64
}

[[gnu::cold]] bool PageArena::init(uint64_t start, uint64_t end) {  // once: for size
  start = (start + 4095) & ~uint64_t(4095);
  end &= ~uint64_t(4095);
  if (end <= start) return false;
  const uint64_t total = (end - start) / 4096;
  if (total > 0xFFFFFFF0ull) return false;  // 16 TiB per arena is plenty
  const uint64_t meta_pages = (total * sizeof(PageInfo) + 4095) / 4096;
  if (total < meta_pages + 2) return false;
  base_ = start;
  pages_ = uint32_t(total);
  info_ = reinterpret_cast<PageInfo*>(static_cast<uintptr_t>(start));
  for (auto& b : bins_) b = kNoPage;
  nonempty_[0] = nonempty_[1] = 0;
  free_pages_ = 0;
  stamp(0, uint32_t(meta_pages), PageKind::kMetadata);
  info_[0].pages = uint32_t(meta_pages);
  stamp(uint32_t(meta_pages), pages_ - uint32_t(meta_pages), PageKind::kFree);
  push_free(uint32_t(meta_pages), pages_ - uint32_t(meta_pages));
  return true;
}

// Invariant: every page of a free span has kind kFree, and its first and last pages carry the
// span's start (the first also its length). Interior pages' `start` is stale and never read.
// Allocated spans have every page stamped, so any interior pointer finds its span.
void PageArena::stamp(uint32_t first, uint32_t pages, PageKind kind) {
  for (uint32_t p = first; p < first + pages; ++p) {
    info_[p].start = first;
    info_[p].kind = kind;
  }
}

void PageArena::push_free(uint32_t first, uint32_t pages) {
  PageInfo& head = info_[first];
  head.pages = pages;
  head.start = first;
  head.kind = PageKind::kFree;
  PageInfo& last = info_[first + pages - 1];
  last.start = first;  // lets the right neighbour find this span's start when it is freed
  last.kind = PageKind::kFree;
  const uint32_t b = bin_of(pages);
  head.prev = kNoPage;
  head.next = bins_[b];
  if (bins_[b] != kNoPage) info_[bins_[b]].prev = first;
  bins_[b] = first;
  nonempty_[b / 64] |= uint64_t(1) << (b % 64);
  free_pages_ += pages;
}

void PageArena::unlink_free(uint32_t first) {
  PageInfo& s = info_[first];
  const uint32_t b = bin_of(s.pages);
  if (s.prev != kNoPage) {
    info_[s.prev].next = s.next;
  } else {
    bins_[b] = s.next;
  }
  if (s.next != kNoPage) info_[s.next].prev = s.prev;
  if (bins_[b] == kNoPage) nonempty_[b / 64] &= ~(uint64_t(1) << (b % 64));
  free_pages_ -= s.pages;
}

uint32_t PageArena::alloc_span(uint32_t pages, PageKind kind) {
  if (pages == 0 || pages > pages_) return kNoPage;
  for (uint32_t b = bin_of(pages); b < kBins; ++b) {
    // Skip to the next non-empty bin.
    const uint64_t word = nonempty_[b / 64] >> (b % 64);
    if (word == 0) {
      b = (b / 64) * 64 + 63;
      continue;
    }
    b += uint32_t(std::countr_zero(word));
    if (b >= kBins) break;
    // Exact bins hold spans of exactly b + 1 pages; log bins hold a range: first fit.
    uint32_t found = kNoPage;
    for (uint32_t s = bins_[b]; s != kNoPage; s = info_[s].next) {
      if (info_[s].pages >= pages) {
        found = s;
        break;
      }
    }
    if (found == kNoPage) continue;
    const uint32_t span_pages = info_[found].pages;
    unlink_free(found);
    // The tail's pages are already kFree (invariant below); only its ends need updating.
    if (span_pages > pages) push_free(found + pages, span_pages - pages);
    stamp(found, pages, kind);
    info_[found].pages = pages;
    return found;
  }
  return kNoPage;
}

void PageArena::free_span(uint32_t first) {
  uint32_t pages = info_[first].pages;
  stamp(first, pages, PageKind::kFree);  // interior pages too: a stale pointer into them is caught
  // Merge with the free span on the left (its last page knows its start) and on the right.
  if (first > 0 && info_[first - 1].kind == PageKind::kFree) {
    const uint32_t left = info_[first - 1].start;
    unlink_free(left);
    pages += first - left;
    first = left;
  }
  const uint32_t right = first + pages;
  if (right < pages_ && info_[right].kind == PageKind::kFree) {
    const uint32_t right_pages = info_[right].pages;
    unlink_free(right);
    pages += right_pages;
  }
  push_free(first, pages);
}

static_assert(PageArena::kBins <= 64 * 2, "nonempty_ has a bit per bin");

uint32_t PageArena::largest_free_span() const {
  // The highest non-empty bin holds the largest spans: the top set bit of the bitmap, not a
  // walk down the empty bins (publish() asks at every large allocation and free).
  for (int w = 1; w >= 0; --w) {
    if (nonempty_[w] == 0) continue;
    const uint32_t b = uint32_t(w) * 64 + 63 - uint32_t(__builtin_clzll(nonempty_[w]));
    uint32_t best = 0;
    for (uint32_t s = bins_[b]; s != kNoPage; s = info_[s].next) {
      if (info_[s].pages > best) best = info_[s].pages;
    }
    return best;
  }
  return 0;
}

}  // namespace mm
