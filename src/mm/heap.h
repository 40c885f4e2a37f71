// The kernel heap: one allocator per core over memory dedicated to that core.
//
//   mm::Heap heap;
//   heap.init(ranges, n, cpu_count, on_error, nullptr);   // splits RAM between the cores
//   void* p = heap.allocate(core, 100);                   // core = the calling core
//   heap.free(core, p);                                   // any core may free any block
//
// Model (the fix of toro-spec §2.8 and §5): every core allocates from its own CoreHeap, which
// only that core ever touches, so allocation and local free take no lock and no atomic
// read-modify-write. A block freed by another core is pushed onto its owner's lock-free
// remote-free list; the owner drains that list when it next refills or flushes a cache. Small
// requests (<= 32 KiB) come from slabs of one size class (size_classes.h) through a per-class
// cache of free blocks (the fast path: a pop or a push); larger ones are page spans from a
// PageArena, which coalesces on free. Bad frees (double free, a pointer the heap never gave
// out, a pointer into a block) are reported to the error handler, which in the kernel stops
// the VM with a backtrace.
// Not for interrupt handlers: a core's heap assumes it is not re-entered on that core.
#pragma once

#include <mm/page_arena.h>
#include <mm/size_classes.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mm {

constexpr uint32_t kMaxCores = 64;
constexpr uint32_t kMaxArenasPerCore = 4;
constexpr uint32_t kNoCore = 0xFFFFFFFF;
constexpr size_t kMaxAlignment = kPageSize;

enum class HeapError : uint8_t {
  kDoubleFree,    // the block is already free
  kNotAllocated,  // the pointer is not a block the heap handed out (foreign, or inside a block)
};
const char* heap_error_name(HeapError e);

// Called on a bad free with the offending pointer and the core whose heap detected it. In the
// kernel it does not return; in tests it may, and the free is then ignored.
using HeapErrorHandler = void (*)(HeapError error, const void* ptr, uint32_t core, void* ctx);

struct MemoryRange {
  uint64_t base;
  uint64_t end;
};

struct HeapStats {
  uint64_t region_bytes;          // RAM dedicated to the core (including heap metadata)
  uint64_t bytes_in_use;          // handed out: block class sizes and large spans
  uint64_t bytes_free;            // free pages plus free blocks of slabs
  uint64_t bytes_free_in_blocks;  // of which free blocks of slabs (usable by their size class only)
  uint64_t largest_free_block;    // largest free span now
  uint64_t remote_frees;          // blocks other cores freed back to this one
};

// A free small block: every size class is at least 16 bytes.
struct FreeBlock {
  FreeBlock* next;
  uint64_t key;  // the owning heap's key while the block is free, 0 once handed out
};

class Heap;

// size_class() by table for the most common sizes: one load instead of a few branches.
constexpr size_t kSmallLookupMax = 1024;
struct SmallClassTable {
  uint8_t c[kSmallLookupMax / 16 + 1];
  constexpr SmallClassTable() : c() {
    for (size_t i = 0; i <= kSmallLookupMax / 16; ++i) c[i] = uint8_t(size_class(i * 16));
  }
  constexpr uint8_t operator[](size_t i) const { return c[i]; }
};
inline constexpr SmallClassTable kSmallClass{};

// class_size() by table: one load where the fast paths keep CoreHeap::cached_bytes_.
struct ClassSizeTable {
  uint32_t bytes[kClassCount];
  constexpr ClassSizeTable() : bytes() {
    for (uint32_t c = 0; c < kClassCount; ++c) bytes[c] = uint32_t(class_size(c));
  }
};
inline constexpr ClassSizeTable kClassSize{};

// Division by a size class without a divide instruction: (offset * magic) >> 40 is exact for
// offsets below 2^20 (a slab is at most 288 KiB) and classes of at least 16 bytes.
constexpr uint64_t class_magic(uint32_t c) { return ((uint64_t(1) << 40) + class_size(c) - 1) / class_size(c); }

class alignas(64) CoreHeap {
 public:
  [[gnu::cold]] CoreHeap(Heap* heap, uint32_t core);  // once per core: for size

  // Fast path: a block of class `c` from the cache.
  void* allocate_small(uint32_t c) {
    FreeBlock* b = cache_[c];
    if (b == nullptr) return refill_and_allocate(c);
    cache_[c] = b->next;
    --cached_[c];
    cached_bytes_ -= kClassSize.bytes[c];
    b->key = 0;
    return b;
  }

  // Fast path for a block of this core's own memory; false if `ptr` needs the slow path
  // (not in this core's arenas, a large span, not a block start, or possibly free already).
  bool free_fast(void* ptr) {
    const uint64_t address = reinterpret_cast<uintptr_t>(ptr);
    for (uint32_t i = 0; i < arena_count_; ++i) {
      const ArenaView& v = views_[i];
      if (address - v.base >= v.size) continue;  // unsigned: also catches address < base
      const PageInfo& pi = v.info[(address - v.base) >> 12];
      if (pi.kind != PageKind::kSlab) return false;
      const uint32_t c = pi.size_class;
      const uint64_t offset = address - (v.base + (uint64_t(pi.start) << 12));
      if (((offset * class_magic(c)) >> 40) * class_size(c) != offset) return false;
      auto* b = static_cast<FreeBlock*>(ptr);
      if (b->key == key_) return false;  // maybe a double free: the slow path finds out
      b->next = cache_[c];
      b->key = key_;
      cache_[c] = b;
      cached_bytes_ += kClassSize.bytes[c];
      if (++cached_[c] > cache_limit(c)) flush(c);
      return true;
    }
    return false;
  }

  void* allocate_large(size_t size);
  // Slow path of a free by the owner (`arena` holds ptr): large spans, checks, reports.
  bool free_slow(uint32_t arena, void* ptr);
  void push_remote(void* ptr);
  // True if ptr is a small block (in a slab of `arena`) that holds this heap's free-block key,
  // i.e. it is free already. Large spans are not checked: their words are the user's.
  bool carries_key(uint32_t arena, const void* ptr) const {
    const uint64_t address = reinterpret_cast<uintptr_t>(ptr);
    const PageArena& pa = arenas_[arena].pages;
    if (pa.info(pa.page_of(address)).kind != PageKind::kSlab) return false;
    const auto* word = &static_cast<const FreeBlock*>(ptr)->key;
    return __atomic_load_n(word, __ATOMIC_RELAXED) == key_;
  }
  void drain_remote();
  size_t usable_size(uint32_t arena, uint64_t address) const;
  HeapStats exact_stats() const;
  HeapStats published_stats() const;
  uint32_t arena_count() const { return arena_count_; }

  // Blocks a class's cache may hold before half of them go back to the slabs: about 64 KiB per
  // class (so a burst of a thousand small allocations and frees stays in the cache), at least 16.
  static constexpr uint32_t cache_limit(uint32_t c) {
    const size_t n = 65536 / class_size(c);
    return n < 16 ? 16 : (n > 4096 ? 4096 : uint32_t(n));
  }

 private:
  struct Arena {
    PageArena pages;
    uint32_t partial[kClassCount];  // slabs of a class with at least one free block
    uint32_t spare[kClassCount];    // one empty slab kept per class (given back on demand)
  };
  struct ArenaView {  // what the fast path needs of an arena, packed together
    uint64_t base;
    uint64_t size;
    PageInfo* info;
  };

  bool add_arena(uint64_t start, uint64_t end);
  void* refill_and_allocate(uint32_t c);
  uint32_t refill(uint32_t c);
  void flush(uint32_t c);
  void uncache_one(uint32_t c);
  void give_back(Arena& a, uint32_t slab, FreeBlock* b);
  uint32_t new_slab(Arena& a, uint32_t c);
  void release_slab(Arena& a, uint32_t c, uint32_t slab);
  void release_spares();
  void reclaim();
  void push_partial(Arena& a, uint32_t c, uint32_t slab);
  void unlink_partial(Arena& a, uint32_t c, uint32_t slab);
  bool report(HeapError e, void* ptr);
  bool in_cache(uint32_t c, const void* ptr) const;
  uint64_t cached_bytes() const { return cached_bytes_; }
  uint64_t free_page_bytes() const;
  uint64_t largest_free() const;
  void publish();

  // Hot: the caches and the arena views (owner only).
  FreeBlock* cache_[kClassCount] = {};
  uint32_t cached_[kClassCount] = {};
  // The bytes of all cached blocks, kept with cached_ (publish() needs it at every slow path, and
  // the sum over the classes was most of a request's allocator instructions).
  uint64_t cached_bytes_ = 0;
  uint64_t key_;
  uint32_t arena_count_ = 0;
  ArenaView views_[kMaxArenasPerCore] = {};

  // Cold owner-only state.
  Heap* heap_;
  uint32_t core_;
  Arena arenas_[kMaxArenasPerCore];
  uint64_t region_bytes_ = 0;
  uint64_t slab_in_use_ = 0;  // blocks handed out of slabs, including those now in caches
  uint64_t large_in_use_ = 0;
  uint64_t slab_free_bytes_ = 0;
  uint64_t remote_frees_ = 0;

  // Written by other cores: its own cache line.
  alignas(64) std::atomic<FreeBlock*> remote_head_{nullptr};
  // Published by the owner (plain relaxed stores, never an RMW) for other cores' stats().
  alignas(64) std::atomic<uint64_t> pub_in_use_{0};
  std::atomic<uint64_t> pub_free_{0};
  std::atomic<uint64_t> pub_largest_{0};
  std::atomic<uint64_t> pub_remote_frees_{0};

  friend class Heap;
};

class Heap {
 public:
  // Splits `ranges` (usable RAM, sorted, disjoint) evenly between `cores` cores in address
  // order; a core's share may span several ranges (up to kMaxArenasPerCore). Each core's
  // bookkeeping lives at the start of its own share. False if a core would get too little.
  [[gnu::cold]] bool init(const MemoryRange* ranges, size_t count, uint32_t cores, HeapErrorHandler on_error,
                          void* ctx);  // once: for size

  // 16-byte aligned (or `align`, a power of two up to kMaxAlignment); nullptr when out of memory
  // or on a bad alignment. Size 0 gives a valid, unique block. `core` is the calling core.
  void* allocate(uint32_t core, size_t size, size_t align = 16) {
    if (core < cores_ && size <= kMaxSmallSize && (align == 8 || align == 16)) {
      return heaps_[core]->allocate_small(size <= kSmallLookupMax ? kSmallClass[(size + 15) >> 4] : size_class(size));
    }
    return allocate_slow(core, size, align);
  }
  // `core` is the calling core. Returns false (after reporting) on a bad pointer.
  bool free(uint32_t core, void* ptr) {
    if (core < cores_ && heaps_[core]->free_fast(ptr)) return true;
    return free_slow(core, ptr);
  }
  // Takes back the blocks other cores freed to `core` (the calling core). Allocation does this
  // by itself when a cache runs empty; an idle core can do it early.
  void collect(uint32_t core);
  // nullptr -> allocate; size 0 -> free and nullptr; fits -> same pointer; else move.
  void* reallocate(uint32_t core, void* ptr, size_t size);
  // Bytes usable at `ptr` (its class size or span size), 0 if not in a block.
  size_t usable_size(const void* ptr) const;
  // Which core's memory `ptr` is in, or kNoCore.
  uint32_t owner_of(const void* ptr) const;
  // The i-th piece of RAM dedicated to `core` (false past the last one).
  bool region(uint32_t core, uint32_t i, uint64_t* base, uint64_t* size) const;

  // Exact when `caller` is `core`; for another core, as last published by that core (it may
  // be a few operations behind).
  HeapStats stats(uint32_t core, uint32_t caller) const;
  uint32_t cores() const { return cores_; }
  bool initialized() const { return cores_ != 0; }

 private:
  struct ArenaRef {
    uint64_t base, end;
    uint32_t core, arena;
  };
  const ArenaRef* find(uint64_t address) const;
  void* allocate_slow(uint32_t core, size_t size, size_t align);
  bool free_slow(uint32_t core, void* ptr);
  void error(HeapError e, const void* ptr, uint32_t core) const {
    if (on_error_ != nullptr) on_error_(e, ptr, core, error_ctx_);
  }

  CoreHeap* heaps_[kMaxCores] = {};
  ArenaRef arenas_[kMaxCores * kMaxArenasPerCore] = {};
  uint32_t arena_count_ = 0;
  uint32_t cores_ = 0;
  HeapErrorHandler on_error_ = nullptr;
  void* error_ctx_ = nullptr;

  friend class CoreHeap;
};

}  // namespace mm
