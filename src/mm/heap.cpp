#include <mm/heap.h>

#include <cstring>
#include <new>

namespace mm {
namespace {

struct FreeNode {
  FreeNode* next;
};

constexpr SlabLayout kSlabs[kClassCount] = {
#define L(c) slab_layout(c)
    L(0),  L(1),  L(2),  L(3),  L(4),  L(5),  L(6),  L(7),  L(8),  L(9),  L(10), L(11), L(12), L(13),
    L(14), L(15), L(16), L(17), L(18), L(19), L(20), L(21), L(22), L(23), L(24), L(25), L(26), L(27),
    L(28), L(29), L(30), L(31), L(32), L(33), L(34), L(35), L(36), L(37), L(38), L(39),
#undef L
};

constexpr uint64_t kMinShare = 1 << 20;  // a core with less than 1 MiB is a configuration error

}  // namespace

const char* heap_error_name(HeapError e) {
  switch (e) {
    case HeapError::kDoubleFree:
      return "double free";
    case HeapError::kNotAllocated:
      return "pointer not allocated by this heap";
  }
  return "heap error";
}

struct Arena {
  PageArena pages;
  uint32_t partial[kClassCount];  // slabs of a class with at least one free block
  uint32_t spare[kClassCount];    // one empty slab kept per class so that alloc/free at a slab
                                  // boundary does not return and re-take pages every time
};

class alignas(64) CoreHeap {
 public:
  CoreHeap(Heap* heap, uint32_t core) : heap_(heap), core_(core) {}

  bool add_arena(uint64_t start, uint64_t end) {
    if (arena_count_ == kMaxArenasPerCore) return false;
    Arena& a = arenas_[arena_count_];
    if (!a.pages.init(start, end)) return false;
    for (uint32_t c = 0; c < kClassCount; ++c) a.partial[c] = a.spare[c] = kNoPage;
    region_bytes_ += end - start;
    ++arena_count_;
    publish_space();
    return true;
  }

  void* allocate(size_t size, size_t align) {
    // Relaxed is enough to notice a non-empty list; drain_remote() then acquires it.
    if (remote_head_.load(std::memory_order_relaxed) != nullptr) drain_remote();
    void* p = try_allocate(size, align);
    if (p == nullptr) {
      // Out of pages: take back what was freed remotely and the empty slabs kept per class
      // (they may sit between free spans), then try once more.
      if (remote_head_.load(std::memory_order_relaxed) != nullptr) drain_remote();
      release_spares();
      p = try_allocate(size, align);
    }
    return p;
  }

  // `arena` is this core's arena index holding `ptr`.
  bool free_local(uint32_t arena, void* ptr) {
    Arena& a = arenas_[arena];
    const uint64_t address = reinterpret_cast<uintptr_t>(ptr);
    const uint32_t page = a.pages.page_of(address);
    const PageInfo& pi = a.pages.info(page);
    switch (pi.kind) {
      case PageKind::kLarge: {
        if (pi.start != page || (address & (kPageSize - 1)) != 0) return report(HeapError::kNotAllocated, ptr);
        const uint64_t bytes = uint64_t(a.pages.info(page).pages) * kPageSize;
        a.pages.free_span(page);
        in_use_ -= bytes;
        publish_usage();
        publish_space();
        return true;
      }
      case PageKind::kSlab:
        return free_block(a, pi.start, address, ptr);
      case PageKind::kFree:
        return report((address & (kPageSize - 1)) == 0 ? HeapError::kDoubleFree : HeapError::kNotAllocated, ptr);
      default:
        return report(HeapError::kNotAllocated, ptr);
    }
  }

  // Called by other cores. The block's first word becomes the list link.
  // Ordering: the release CAS makes the freeing core's writes (its last uses of the block and
  // the link) visible to the owner, whose acquire exchange in drain_remote() synchronises with
  // it; successful CASes on one atomic form a release sequence, so one acquire sees every push.
  // No ABA: nodes are only ever pushed one by one and taken all at once.
  void push_remote(void* ptr) {
    auto* node = static_cast<FreeNode*>(ptr);
    FreeNode* head = remote_head_.load(std::memory_order_relaxed);
    do {
      node->next = head;
    } while (!remote_head_.compare_exchange_weak(head, node, std::memory_order_release, std::memory_order_relaxed));
  }

  size_t usable_size(uint32_t arena, uint64_t address) const {
    const PageArena& pa = arenas_[arena].pages;
    const PageInfo& pi = pa.info(pa.page_of(address));
    if (pi.kind == PageKind::kLarge) return size_t(pa.info(pi.start).pages) * kPageSize;
    if (pi.kind == PageKind::kSlab) return class_size(pa.info(pi.start).size_class);
    return 0;
  }

  HeapStats exact_stats() const {
    HeapStats s{};
    s.region_bytes = region_bytes_;
    s.bytes_in_use = in_use_;
    s.bytes_free = free_page_bytes() + slab_free_bytes_;
    s.largest_free_block = largest_free();
    s.remote_frees = remote_frees_;
    return s;
  }

  HeapStats published_stats() const {
    HeapStats s{};
    s.region_bytes = region_bytes_;  // written once, before other cores run
    s.bytes_in_use = pub_in_use_.load(std::memory_order_relaxed);
    s.bytes_free = pub_free_.load(std::memory_order_relaxed);
    s.largest_free_block = pub_largest_.load(std::memory_order_relaxed);
    s.remote_frees = pub_remote_frees_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  void* try_allocate(size_t size, size_t align) {
    if (size <= kMaxSmallSize && align <= kPageSize) {
      uint32_t c = size_class(size);
      while (c < kClassCount && class_size(c) % align != 0) ++c;  // a class that keeps the alignment
      if (c < kClassCount) return allocate_block(c);
    }
    return allocate_large(size);
  }

  void* allocate_large(size_t size) {
    const uint64_t pages = (uint64_t(size) + kPageSize - 1) / kPageSize;
    if (pages == 0 || pages > 0xFFFFFFF0ull) return pages == 0 ? allocate_large(1) : nullptr;
    for (uint32_t i = 0; i < arena_count_; ++i) {
      Arena& a = arenas_[i];
      const uint32_t first = a.pages.alloc_span(uint32_t(pages), PageKind::kLarge);
      if (first == kNoPage) continue;
      in_use_ += pages * kPageSize;
      publish_usage();
      publish_space();
      return reinterpret_cast<void*>(static_cast<uintptr_t>(a.pages.address_of(first)));
    }
    return nullptr;
  }

  void* allocate_block(uint32_t c) {
    const SlabLayout& layout = kSlabs[c];
    const size_t size = class_size(c);
    for (uint32_t i = 0; i < arena_count_; ++i) {
      if (arenas_[i].partial[c] != kNoPage) return take_block(arenas_[i], arenas_[i].partial[c], c, size, layout);
    }
    for (uint32_t i = 0; i < arena_count_; ++i) {
      const uint32_t slab = new_slab(arenas_[i], c, layout);
      if (slab != kNoPage) return take_block(arenas_[i], slab, c, size, layout);
    }
    return nullptr;
  }

  uint32_t new_slab(Arena& a, uint32_t c, const SlabLayout& layout) {
    uint32_t slab = a.spare[c];
    if (slab != kNoPage) {
      a.spare[c] = kNoPage;
    } else {
      slab = a.pages.alloc_span(layout.pages, PageKind::kSlab);
      if (slab == kNoPage) return kNoPage;
      PageInfo& s = a.pages.info(slab);
      s.size_class = uint8_t(c);
      s.free_list = nullptr;
      s.bump = 0;
      s.used = 0;
      memset(reinterpret_cast<void*>(static_cast<uintptr_t>(a.pages.address_of(slab) + layout.bitmap_offset)), 0,
             (layout.blocks + 7) / 8);
      slab_free_bytes_ += uint64_t(layout.blocks) * class_size(c);
      publish_space();
    }
    push_partial(a, c, slab);
    return slab;
  }

  void* take_block(Arena& a, uint32_t slab, uint32_t c, size_t size, const SlabLayout& layout) {
    PageInfo& s = a.pages.info(slab);
    const uint64_t base = a.pages.address_of(slab);
    uint64_t address;
    if (s.free_list != nullptr) {
      auto* node = static_cast<FreeNode*>(s.free_list);
      s.free_list = node->next;
      address = reinterpret_cast<uintptr_t>(node);
    } else {
      address = base + uint64_t(s.bump) * size;
      ++s.bump;
    }
    const uint32_t index = uint32_t((address - base) / size);
    auto* bitmap = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(base + layout.bitmap_offset));
    bitmap[index / 8] |= uint8_t(1u << (index % 8));
    if (++s.used == layout.blocks) unlink_partial(a, c, slab);
    in_use_ += size;
    slab_free_bytes_ -= size;
    publish_usage();
    return reinterpret_cast<void*>(static_cast<uintptr_t>(address));
  }

  bool free_block(Arena& a, uint32_t slab, uint64_t address, void* ptr) {
    PageInfo& s = a.pages.info(slab);
    const uint32_t c = s.size_class;
    const SlabLayout& layout = kSlabs[c];
    const size_t size = class_size(c);
    const uint64_t base = a.pages.address_of(slab);
    const uint64_t offset = address - base;
    if (offset % size != 0 || offset / size >= s.bump) return report(HeapError::kNotAllocated, ptr);
    const uint32_t index = uint32_t(offset / size);
    auto* bitmap = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(base + layout.bitmap_offset));
    const uint8_t bit = uint8_t(1u << (index % 8));
    if (!(bitmap[index / 8] & bit)) return report(HeapError::kDoubleFree, ptr);
    bitmap[index / 8] &= uint8_t(~bit);
    auto* node = static_cast<FreeNode*>(ptr);
    node->next = static_cast<FreeNode*>(s.free_list);
    s.free_list = node;
    if (s.used == layout.blocks) push_partial(a, c, slab);
    --s.used;
    in_use_ -= size;
    slab_free_bytes_ += size;
    if (s.used == 0) release_slab(a, c, slab, layout);
    publish_usage();
    return true;
  }

  void release_slab(Arena& a, uint32_t c, uint32_t slab, const SlabLayout& layout) {
    unlink_partial(a, c, slab);
    if (a.spare[c] == kNoPage) {
      a.spare[c] = slab;  // keep it, still counted as free slab bytes
      return;
    }
    slab_free_bytes_ -= uint64_t(layout.blocks) * class_size(c);
    a.pages.free_span(slab);
    publish_space();
  }

  void release_spares() {
    for (uint32_t i = 0; i < arena_count_; ++i) {
      Arena& a = arenas_[i];
      for (uint32_t c = 0; c < kClassCount; ++c) {
        if (a.spare[c] == kNoPage) continue;
        slab_free_bytes_ -= uint64_t(kSlabs[c].blocks) * class_size(c);
        a.pages.free_span(a.spare[c]);
        a.spare[c] = kNoPage;
      }
    }
    publish_space();
  }

  void push_partial(Arena& a, uint32_t c, uint32_t slab) {
    PageInfo& s = a.pages.info(slab);
    s.prev = kNoPage;
    s.next = a.partial[c];
    if (a.partial[c] != kNoPage) a.pages.info(a.partial[c]).prev = slab;
    a.partial[c] = slab;
  }

  void unlink_partial(Arena& a, uint32_t c, uint32_t slab) {
    PageInfo& s = a.pages.info(slab);
    if (s.prev != kNoPage) {
      a.pages.info(s.prev).next = s.next;
    } else {
      a.partial[c] = s.next;
    }
    if (s.next != kNoPage) a.pages.info(s.next).prev = s.prev;
    s.next = s.prev = kNoPage;
  }

  void drain_remote() {
    // acquire: pairs with the release CAS in push_remote (see there).
    FreeNode* node = remote_head_.exchange(nullptr, std::memory_order_acquire);
    while (node != nullptr) {
      FreeNode* next = node->next;  // read before the free reuses the link word
      const auto* ref = heap_->find(reinterpret_cast<uintptr_t>(node));
      ++remote_frees_;
      if (ref == nullptr || ref->core != core_ || !free_local(ref->arena, node)) break;  // reported; drop the rest
      node = next;
    }
    pub_remote_frees_.store(remote_frees_, std::memory_order_relaxed);
  }

  bool report(HeapError e, void* ptr) {
    if (heap_->on_error_ != nullptr) heap_->on_error_(e, ptr, core_, heap_->error_ctx_);
    return false;
  }

  uint64_t free_page_bytes() const {
    uint64_t pages = 0;
    for (uint32_t i = 0; i < arena_count_; ++i) pages += arenas_[i].pages.free_pages();
    return pages * kPageSize;
  }

  uint64_t largest_free() const {
    uint64_t best = 0;
    for (uint32_t i = 0; i < arena_count_; ++i) {
      const uint64_t b = uint64_t(arenas_[i].pages.largest_free_span()) * kPageSize;
      if (b > best) best = b;
    }
    return best;
  }

  // Other cores read these; the owner publishes with plain (relaxed) stores, never an RMW.
  void publish_usage() { pub_in_use_.store(in_use_, std::memory_order_relaxed); }
  void publish_space() {
    pub_free_.store(free_page_bytes() + slab_free_bytes_, std::memory_order_relaxed);
    pub_largest_.store(largest_free(), std::memory_order_relaxed);
  }

  // Owner-only state.
  Heap* heap_;
  uint32_t core_;
  uint32_t arena_count_ = 0;
  Arena arenas_[kMaxArenasPerCore];
  uint64_t region_bytes_ = 0;
  uint64_t in_use_ = 0;
  uint64_t slab_free_bytes_ = 0;
  uint64_t remote_frees_ = 0;

  // Written by other cores: its own cache line.
  alignas(64) std::atomic<FreeNode*> remote_head_{nullptr};
  // Published by the owner for other cores' stats() calls.
  alignas(64) std::atomic<uint64_t> pub_in_use_{0};
  std::atomic<uint64_t> pub_free_{0};
  std::atomic<uint64_t> pub_largest_{0};
  std::atomic<uint64_t> pub_remote_frees_{0};

  friend class Heap;
};

bool Heap::init(const MemoryRange* ranges, size_t count, uint32_t cores, HeapErrorHandler on_error, void* ctx) {
  if (cores == 0 || cores > kMaxCores) return false;
  on_error_ = on_error;
  error_ctx_ = ctx;
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    if (ranges[i].end > ranges[i].base) total += ranges[i].end - ranges[i].base;
  }
  const uint64_t share = (total / cores) & ~uint64_t(kPageSize - 1);
  if (share < kMinShare) return false;

  size_t r = 0;
  uint64_t cursor = count > 0 ? ranges[0].base : 0;
  arena_count_ = 0;
  for (uint32_t core = 0; core < cores; ++core) {
    uint64_t need = core + 1 == cores ? ~uint64_t(0) : share;  // the last core takes the rest
    CoreHeap* heap = nullptr;
    while (need > 0 && r < count) {
      if (cursor < ranges[r].base) cursor = ranges[r].base;
      if (cursor + kPageSize > ranges[r].end) {
        ++r;
        continue;
      }
      uint64_t piece_end = ranges[r].end;
      if (piece_end - cursor > need) piece_end = cursor + need;
      uint64_t start = cursor;
      if (heap == nullptr) {
        // The core's own bookkeeping lives at the start of its own memory.
        start = (start + alignof(CoreHeap) - 1) & ~uint64_t(alignof(CoreHeap) - 1);
        heap = new (reinterpret_cast<void*>(static_cast<uintptr_t>(start))) CoreHeap(this, core);
        start += sizeof(CoreHeap);
      }
      if (heap->arena_count_ < kMaxArenasPerCore && heap->add_arena(start, piece_end)) {
        arenas_[arena_count_++] = {heap->arenas_[heap->arena_count_ - 1].pages.base(), piece_end, core,
                                   heap->arena_count_ - 1};
      }
      need = need == ~uint64_t(0) ? need : need - (piece_end - cursor);
      cursor = piece_end;
      if (heap->arena_count_ == kMaxArenasPerCore && need != ~uint64_t(0)) break;
    }
    if (heap == nullptr || heap->arena_count_ == 0) {
      cores_ = 0;
      return false;
    }
    heap->region_bytes_ += sizeof(CoreHeap);
    heaps_[core] = heap;
  }
  // Sort the arena table by address for find().
  for (uint32_t i = 1; i < arena_count_; ++i) {
    ArenaRef a = arenas_[i];
    uint32_t j = i;
    while (j > 0 && arenas_[j - 1].base > a.base) {
      arenas_[j] = arenas_[j - 1];
      --j;
    }
    arenas_[j] = a;
  }
  cores_ = cores;
  return true;
}

const Heap::ArenaRef* Heap::find(uint64_t address) const {
  uint32_t lo = 0, hi = arena_count_;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (address < arenas_[mid].base) {
      hi = mid;
    } else if (address >= arenas_[mid].end) {
      lo = mid + 1;
    } else {
      return &arenas_[mid];
    }
  }
  return nullptr;
}

void* Heap::allocate(uint32_t core, size_t size, size_t align) {
  if (core >= cores_ || align == 0 || (align & (align - 1)) != 0 || align > kMaxAlignment) return nullptr;
  if (align < 16) align = 16;
  return heaps_[core]->allocate(size, align);
}

bool Heap::free(uint32_t core, void* ptr) {
  if (ptr == nullptr) return true;
  const ArenaRef* ref = find(reinterpret_cast<uintptr_t>(ptr));
  if (ref == nullptr || core >= cores_) {
    if (on_error_ != nullptr) on_error_(HeapError::kNotAllocated, ptr, core, error_ctx_);
    return false;
  }
  if (ref->core == core) return heaps_[core]->free_local(ref->arena, ptr);
  heaps_[ref->core]->push_remote(ptr);
  return true;
}

void* Heap::reallocate(uint32_t core, void* ptr, size_t size) {
  if (ptr == nullptr) return allocate(core, size);
  if (size == 0) {
    free(core, ptr);
    return nullptr;
  }
  const size_t old = usable_size(ptr);
  if (old == 0) {
    if (on_error_ != nullptr) on_error_(HeapError::kNotAllocated, ptr, core, error_ctx_);
    return nullptr;
  }
  if (size <= old) return ptr;
  void* fresh = allocate(core, size);
  if (fresh == nullptr) return nullptr;  // the old block stays valid, as with realloc()
  memcpy(fresh, ptr, old);
  free(core, ptr);
  return fresh;
}

size_t Heap::usable_size(const void* ptr) const {
  const ArenaRef* ref = find(reinterpret_cast<uintptr_t>(ptr));
  if (ref == nullptr) return 0;
  return heaps_[ref->core]->usable_size(ref->arena, reinterpret_cast<uintptr_t>(ptr));
}

bool Heap::region(uint32_t core, uint32_t i, uint64_t* base, uint64_t* size) const {
  uint32_t seen = 0;
  for (uint32_t k = 0; k < arena_count_; ++k) {
    if (arenas_[k].core != core) continue;
    if (seen++ == i) {
      *base = arenas_[k].base;
      *size = arenas_[k].end - arenas_[k].base;
      return true;
    }
  }
  return false;
}

uint32_t Heap::owner_of(const void* ptr) const {
  const ArenaRef* ref = find(reinterpret_cast<uintptr_t>(ptr));
  return ref == nullptr ? kNoCore : ref->core;
}

HeapStats Heap::stats(uint32_t core, uint32_t caller) const {
  if (core >= cores_) return {};
  return core == caller ? heaps_[core]->exact_stats() : heaps_[core]->published_stats();
}

}  // namespace mm
