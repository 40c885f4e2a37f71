#include <lib/sort.h>
#include <mm/heap.h>

#include <cstring>
#include <new>

namespace mm {
namespace {

constexpr SlabLayout kSlabs[kClassCount] = {
#define L(c) slab_layout(c)
    L(0),  L(1),  L(2),  L(3),  L(4),  L(5),  L(6),  L(7),  L(8),  L(9),  L(10), L(11), L(12), L(13),
    L(14), L(15), L(16), L(17), L(18), L(19), L(20), L(21), L(22), L(23), L(24), L(25), L(26), L(27),
    L(28), L(29), L(30), L(31), L(32), L(33), L(34), L(35), L(36), L(37), L(38), L(39),
#undef L
};

static_assert(class_size(0) >= sizeof(FreeBlock));
constexpr bool magic_is_exact() {
  for (uint32_t c = 0; c < kClassCount; ++c) {
    const uint64_t s = class_size(c);
    for (uint64_t off : {s, s * 7, s * (kSlabs[c].blocks - 1), s * kSlabs[c].blocks - 16, s + 16}) {
      if (((off * class_magic(c)) >> 40) != off / s) return false;
    }
  }
  return true;
}
static_assert(magic_is_exact(), "class_magic must divide exactly within a slab");

constexpr uint64_t kMinShare = 1 << 20;  // a core with less than 1 MiB is a configuration error

uint8_t* bitmap_of(uint64_t slab_base, uint32_t c) {
  return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(slab_base + kSlabs[c].bitmap_offset));
}

// splitmix64: spreads the heap's address and core into a key that user data is unlikely to hold.
uint64_t make_key(uint64_t seed) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) | 1;  // never 0, the "handed out" value
}

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

// ---------------------------------------------------------------------------------------------
// Block states. A small block is, at any time, exactly one of:
//   handed out   bitmap bit set, key word anything but (almost surely) the heap's key;
//   cached       bitmap bit set, on cache_[c], key word = key_;
//   slab-free    bitmap bit clear, on its slab's free list, key word = key_.
// Every block of a new slab starts slab-free with the key written, so a pointer to a block that
// was never handed out also shows the key. free_fast() therefore only needs the key to be
// absent to know the block is handed out; when it is present, free_slow() decides by looking
// in the cache and at the bitmap.

CoreHeap::CoreHeap(Heap* heap, uint32_t core)
    : key_(make_key(reinterpret_cast<uintptr_t>(this) ^ (uint64_t(core) << 48))), heap_(heap), core_(core) {}

bool CoreHeap::add_arena(uint64_t start, uint64_t end) {
  if (arena_count_ == kMaxArenasPerCore) return false;
  Arena& a = arenas_[arena_count_];
  if (!a.pages.init(start, end)) return false;
  for (uint32_t c = 0; c < kClassCount; ++c) a.partial[c] = a.spare[c] = kNoPage;
  views_[arena_count_] = {a.pages.base(), uint64_t(a.pages.page_count()) * kPageSize, &a.pages.info(0)};
  region_bytes_ += end - start;
  ++arena_count_;
  publish();
  return true;
}

void* CoreHeap::refill_and_allocate(uint32_t c) {
  if (remote_head_.load(std::memory_order_relaxed) != nullptr) drain_remote();
  if (cache_[c] == nullptr && refill(c) == 0) {
    // No free block of this class and no span for a new slab: give every cached block of every
    // class back to its slab (a slab left empty returns to the page spans, which coalesce),
    // then the spare slabs, and look again.
    reclaim();
    if (refill(c) == 0) {
      // Still no span as large as a slab of this class (up to 65 pages for the largest), but
      // maybe a smaller one: the block gets pages of its own, as a large allocation. Only when
      // that fails too is the core out of memory for this size.
      return allocate_large(class_size(c));
    }
  }
  return allocate_small(c);
}

// Every cached block back on its slab (empty slabs go back to the page spans) and the spare
// slabs freed: after this, free memory is either free pages or free blocks of partly used slabs.
void CoreHeap::reclaim() {
  if (remote_head_.load(std::memory_order_relaxed) != nullptr) drain_remote();
  for (uint32_t c = 0; c < kClassCount; ++c) {
    while (cache_[c] != nullptr) uncache_one(c);
  }
  release_spares();
}

// Moves up to half a cache's worth of blocks from slabs into the cache.
uint32_t CoreHeap::refill(uint32_t c) {
  const uint32_t want = cache_limit(c) / 2 + 1;
  uint32_t got = 0;
  for (uint32_t i = 0; i < arena_count_ && got < want; ++i) {
    Arena& a = arenas_[i];
    while (got < want) {
      uint32_t slab = a.partial[c];
      if (slab == kNoPage) slab = new_slab(a, c);
      if (slab == kNoPage) break;
      PageInfo& s = a.pages.info(slab);
      const uint64_t base = a.pages.address_of(slab);
      uint8_t* bitmap = bitmap_of(base, c);
      while (got < want && s.free_list != nullptr) {
        auto* b = static_cast<FreeBlock*>(s.free_list);
        s.free_list = b->next;
        const uint32_t index = uint32_t(((reinterpret_cast<uintptr_t>(b) - base) * class_magic(c)) >> 40);
        bitmap[index / 8] |= uint8_t(1u << (index % 8));
        ++s.used;
        b->next = cache_[c];
        cache_[c] = b;  // the key stays: cached blocks carry it too
        ++cached_[c];
        cached_bytes_ += kClassSize.bytes[c];
        ++got;
      }
      if (s.used == kSlabs[c].blocks) unlink_partial(a, c, slab);
    }
  }
  slab_in_use_ += uint64_t(got) * class_size(c);
  slab_free_bytes_ -= uint64_t(got) * class_size(c);
  return got;
}

// Takes the newest block off class c's cache and puts it back on its slab.
void CoreHeap::uncache_one(uint32_t c) {
  FreeBlock* b = cache_[c];
  cache_[c] = b->next;
  --cached_[c];
  cached_bytes_ -= kClassSize.bytes[c];
  const uint64_t address = reinterpret_cast<uintptr_t>(b);
  for (uint32_t i = 0; i < arena_count_; ++i) {
    if (address - views_[i].base < views_[i].size) {
      give_back(arenas_[i], arenas_[i].pages.info(arenas_[i].pages.page_of(address)).start, b);
      return;
    }
  }
}

// Returns half of an over-full cache to the slabs.
void CoreHeap::flush(uint32_t c) {
  const uint32_t keep = cache_limit(c) / 2;
  while (cached_[c] > keep) uncache_one(c);
  if (remote_head_.load(std::memory_order_relaxed) != nullptr) drain_remote();
  publish();
}

// A cached (bitmap set, key written) block goes back onto its slab's free list.
void CoreHeap::give_back(Arena& a, uint32_t slab, FreeBlock* b) {
  PageInfo& s = a.pages.info(slab);
  const uint32_t c = s.size_class;
  const uint64_t base = a.pages.address_of(slab);
  const uint32_t index = uint32_t(((reinterpret_cast<uintptr_t>(b) - base) * class_magic(c)) >> 40);
  bitmap_of(base, c)[index / 8] &= uint8_t(~(1u << (index % 8)));
  b->next = static_cast<FreeBlock*>(s.free_list);
  b->key = key_;
  s.free_list = b;
  if (s.used == kSlabs[c].blocks) push_partial(a, c, slab);
  --s.used;
  slab_in_use_ -= class_size(c);
  slab_free_bytes_ += class_size(c);
  if (s.used == 0) release_slab(a, c, slab);
}

uint32_t CoreHeap::new_slab(Arena& a, uint32_t c) {
  uint32_t slab = a.spare[c];
  if (slab != kNoPage) {
    a.spare[c] = kNoPage;
  } else {
    const SlabLayout& layout = kSlabs[c];
    slab = a.pages.alloc_span(layout.pages, PageKind::kSlab);
    if (slab == kNoPage) return kNoPage;
    // Every page records the class, so free_fast() needs one PageInfo load.
    for (uint32_t p = slab; p < slab + layout.pages; ++p) a.pages.info(p).size_class = uint8_t(c);
    PageInfo& s = a.pages.info(slab);
    s.bump = 0;
    s.used = 0;
    const uint64_t base = a.pages.address_of(slab);
    memset(bitmap_of(base, c), 0, (layout.blocks + 7) / 8);
    // All blocks slab-free, keyed, linked in address order.
    const size_t size = class_size(c);
    FreeBlock* next = nullptr;
    for (uint32_t i = layout.blocks; i-- > 0;) {
      auto* b = reinterpret_cast<FreeBlock*>(static_cast<uintptr_t>(base + i * size));
      b->next = next;
      b->key = key_;
      next = b;
    }
    s.free_list = next;
    slab_free_bytes_ += uint64_t(layout.blocks) * size;
  }
  push_partial(a, c, slab);
  return slab;
}

void CoreHeap::release_slab(Arena& a, uint32_t c, uint32_t slab) {
  unlink_partial(a, c, slab);
  if (a.spare[c] == kNoPage) {
    a.spare[c] = slab;  // kept, still counted as free slab bytes
    return;
  }
  slab_free_bytes_ -= uint64_t(kSlabs[c].blocks) * class_size(c);
  a.pages.free_span(slab);
}

void CoreHeap::release_spares() {
  for (uint32_t i = 0; i < arena_count_; ++i) {
    Arena& a = arenas_[i];
    for (uint32_t c = 0; c < kClassCount; ++c) {
      if (a.spare[c] == kNoPage) continue;
      slab_free_bytes_ -= uint64_t(kSlabs[c].blocks) * class_size(c);
      a.pages.free_span(a.spare[c]);
      a.spare[c] = kNoPage;
    }
  }
  publish();
}

void CoreHeap::push_partial(Arena& a, uint32_t c, uint32_t slab) {
  PageInfo& s = a.pages.info(slab);
  s.prev = kNoPage;
  s.next = a.partial[c];
  if (a.partial[c] != kNoPage) a.pages.info(a.partial[c]).prev = slab;
  a.partial[c] = slab;
}

void CoreHeap::unlink_partial(Arena& a, uint32_t c, uint32_t slab) {
  PageInfo& s = a.pages.info(slab);
  if (s.prev != kNoPage) {
    a.pages.info(s.prev).next = s.next;
  } else {
    a.partial[c] = s.next;
  }
  if (s.next != kNoPage) a.pages.info(s.next).prev = s.prev;
  s.next = s.prev = kNoPage;
}

void* CoreHeap::allocate_large(size_t size) {
  const uint64_t pages = size == 0 ? 1 : (uint64_t(size) + kPageSize - 1) / kPageSize;
  if (pages > 0xFFFFFFF0ull) return nullptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (uint32_t i = 0; i < arena_count_; ++i) {
      Arena& a = arenas_[i];
      const uint32_t first = a.pages.alloc_span(uint32_t(pages), PageKind::kLarge);
      if (first == kNoPage) continue;
      large_in_use_ += pages * kPageSize;
      publish();
      return reinterpret_cast<void*>(static_cast<uintptr_t>(a.pages.address_of(first)));
    }
    // Out of pages: take back remote frees, cached blocks and spare slabs, then retry once.
    reclaim();
  }
  return nullptr;
}

bool CoreHeap::in_cache(uint32_t c, const void* ptr) const {
  for (const FreeBlock* b = cache_[c]; b != nullptr; b = b->next) {
    if (b == ptr) return true;
  }
  return false;
}

bool CoreHeap::free_slow(uint32_t arena, void* ptr) {
  Arena& a = arenas_[arena];
  const uint64_t address = reinterpret_cast<uintptr_t>(ptr);
  const uint32_t page = a.pages.page_of(address);
  const PageInfo& pi = a.pages.info(page);
  switch (pi.kind) {
    case PageKind::kLarge: {
      if (pi.start != page || (address & (kPageSize - 1)) != 0) return report(HeapError::kNotAllocated, ptr);
      large_in_use_ -= uint64_t(a.pages.info(page).pages) * kPageSize;
      a.pages.free_span(page);
      publish();
      return true;
    }
    case PageKind::kSlab: {
      const uint32_t c = pi.size_class;
      const uint64_t base = a.pages.address_of(pi.start);
      const uint64_t offset = address - base;
      const uint64_t index = (offset * class_magic(c)) >> 40;
      if (index * class_size(c) != offset || index >= kSlabs[c].blocks) return report(HeapError::kNotAllocated, ptr);
      auto* b = static_cast<FreeBlock*>(ptr);
      if (b->key == key_) {
        // Free already (cached or slab-free), unless the user's data happens to equal the key.
        const bool handed_out = (bitmap_of(base, c)[index / 8] >> (index % 8)) & 1;
        if (!handed_out || in_cache(c, ptr)) return report(HeapError::kDoubleFree, ptr);
      }
      b->next = cache_[c];
      b->key = key_;
      cache_[c] = b;
      cached_bytes_ += kClassSize.bytes[c];
      if (++cached_[c] > cache_limit(c)) flush(c);
      return true;
    }
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
void CoreHeap::push_remote(void* ptr) {
  auto* node = static_cast<FreeBlock*>(ptr);
  FreeBlock* head = remote_head_.load(std::memory_order_relaxed);
  do {
    node->next = head;
  } while (!remote_head_.compare_exchange_weak(head, node, std::memory_order_release, std::memory_order_relaxed));
}

void CoreHeap::drain_remote() {
  if (remote_head_.load(std::memory_order_relaxed) == nullptr) return;
  // acquire: pairs with the release CAS in push_remote (see there).
  FreeBlock* node = remote_head_.exchange(nullptr, std::memory_order_acquire);
  while (node != nullptr) {
    FreeBlock* next = node->next;  // read before the free reuses the link word
    ++remote_frees_;
    if (!free_fast(node)) {
      const Heap::ArenaRef* ref = heap_->find(reinterpret_cast<uintptr_t>(node));
      if (ref == nullptr || ref->core != core_ || !free_slow(ref->arena, node)) break;  // reported; drop the rest
    }
    node = next;
  }
  pub_remote_frees_.store(remote_frees_, std::memory_order_relaxed);
  publish();
}

bool CoreHeap::report(HeapError e, void* ptr) {
  heap_->error(e, ptr, core_);
  return false;
}

size_t CoreHeap::usable_size(uint32_t arena, uint64_t address) const {
  const PageArena& pa = arenas_[arena].pages;
  const PageInfo& pi = pa.info(pa.page_of(address));
  if (pi.kind == PageKind::kLarge) return size_t(pa.info(pi.start).pages) * kPageSize;
  if (pi.kind == PageKind::kSlab) return class_size(pi.size_class);
  return 0;
}

uint64_t CoreHeap::free_page_bytes() const {
  uint64_t pages = 0;
  for (uint32_t i = 0; i < arena_count_; ++i) pages += arenas_[i].pages.free_pages();
  return pages * kPageSize;
}

uint64_t CoreHeap::largest_free() const {
  uint64_t best = 0;
  for (uint32_t i = 0; i < arena_count_; ++i) {
    const uint64_t b = uint64_t(arenas_[i].pages.largest_free_span()) * kPageSize;
    if (b > best) best = b;
  }
  return best;
}

HeapStats CoreHeap::exact_stats() const {
  HeapStats s{};
  const uint64_t cached = cached_bytes();
  s.region_bytes = region_bytes_;
  s.bytes_in_use = slab_in_use_ - cached + large_in_use_;
  s.bytes_free = free_page_bytes() + slab_free_bytes_ + cached;
  s.bytes_free_in_blocks = slab_free_bytes_ + cached;
  s.largest_free_block = largest_free();
  s.remote_frees = remote_frees_;
  return s;
}

HeapStats CoreHeap::published_stats() const {
  HeapStats s{};
  s.region_bytes = region_bytes_;  // written once, before other cores run
  s.bytes_in_use = pub_in_use_.load(std::memory_order_relaxed);
  s.bytes_free = pub_free_.load(std::memory_order_relaxed);
  s.largest_free_block = pub_largest_.load(std::memory_order_relaxed);
  s.remote_frees = pub_remote_frees_.load(std::memory_order_relaxed);
  return s;
}

// Slow paths only: other cores see the numbers as of this core's last refill, flush or span
// operation.
void CoreHeap::publish() {
  const HeapStats s = exact_stats();
  pub_in_use_.store(s.bytes_in_use, std::memory_order_relaxed);
  pub_free_.store(s.bytes_free, std::memory_order_relaxed);
  pub_largest_.store(s.largest_free_block, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------

bool Heap::init(const MemoryRange* ranges, size_t count, uint32_t cores, HeapErrorHandler on_error, void* ctx) {
  cores_ = 0;
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
    const bool last = core + 1 == cores;  // the last core takes the rest
    uint64_t need = share;
    CoreHeap* heap = nullptr;
    while ((last || need > 0) && r < count) {
      if (cursor < ranges[r].base) cursor = ranges[r].base;
      if (cursor + kPageSize > ranges[r].end) {
        ++r;
        continue;
      }
      uint64_t piece_end = ranges[r].end;
      if (!last && piece_end - cursor > need) piece_end = cursor + need;
      uint64_t start = cursor;
      if (heap == nullptr) {
        // The core's own bookkeeping lives at the start of its own memory.
        start = (start + alignof(CoreHeap) - 1) & ~uint64_t(alignof(CoreHeap) - 1);
        heap = new (reinterpret_cast<void*>(static_cast<uintptr_t>(start))) CoreHeap(this, core);
        heap->region_bytes_ += sizeof(CoreHeap);
        start += sizeof(CoreHeap);
      }
      if (heap->arena_count_ < kMaxArenasPerCore && heap->add_arena(start, piece_end)) {
        arenas_[arena_count_++] = {heap->views_[heap->arena_count_ - 1].base, piece_end, core, heap->arena_count_ - 1};
      }
      if (!last) need -= piece_end - cursor;
      cursor = piece_end;
      if (heap->arena_count_ == kMaxArenasPerCore) break;  // further pieces are not used
    }
    if (heap == nullptr || heap->arena_count_ == 0) return false;
    heaps_[core] = heap;
  }
  // Sorted by address for find().
  klib::insertion_sort(arenas_, arena_count_, [](const ArenaRef& a, const ArenaRef& b) { return a.base < b.base; });
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

void* Heap::allocate_slow(uint32_t core, size_t size, size_t align) {
  if (core >= cores_ || align == 0 || (align & (align - 1)) != 0 || align > kMaxAlignment) return nullptr;
  if (size <= kMaxSmallSize) {
    uint32_t c = size_class(size);
    while (c < kClassCount && class_size(c) % align != 0) ++c;  // a class that keeps the alignment
    if (c < kClassCount) return heaps_[core]->allocate_small(c);
  }
  return heaps_[core]->allocate_large(size);
}

bool Heap::free_slow(uint32_t core, void* ptr) {
  if (ptr == nullptr) return true;
  const ArenaRef* ref = find(reinterpret_cast<uintptr_t>(ptr));
  if (ref == nullptr || core >= cores_) {
    error(HeapError::kNotAllocated, ptr, core);
    return false;
  }
  if (ref->core == core) return heaps_[core]->free_slow(ref->arena, ptr);
  // A block that carries its owner's key is free already (cached or in a slab): pushing it
  // would overwrite the owner's cache link. (Racy only against the owner freeing the same
  // block at the same moment, which is a double free too.)
  if (heaps_[ref->core]->carries_key(ref->arena, ptr)) {
    error(HeapError::kDoubleFree, ptr, core);
    return false;
  }
  heaps_[ref->core]->push_remote(ptr);
  return true;
}

void Heap::collect(uint32_t core) {
  if (core < cores_) heaps_[core]->drain_remote();
}

void* Heap::reallocate(uint32_t core, void* ptr, size_t size) {
  if (ptr == nullptr) return allocate(core, size);
  if (size == 0) {
    free(core, ptr);
    return nullptr;
  }
  const size_t old = usable_size(ptr);
  if (old == 0) {
    error(HeapError::kNotAllocated, ptr, core);
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
