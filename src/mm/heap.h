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
// remote-free list; the owner drains that list on its next allocation. Small requests
// (<= 32 KiB) come from slabs of one size class (size_classes.h), larger ones are page spans
// from a PageArena, which coalesces on free. Bad frees (double free, a pointer the heap never
// gave out, a pointer into the middle of a block) are reported to the error handler, which in
// the kernel stops the VM with a backtrace.
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
  uint64_t region_bytes;        // RAM dedicated to the core (including heap metadata)
  uint64_t bytes_in_use;        // handed out: block class sizes and large spans
  uint64_t bytes_free;          // free pages plus free blocks of slabs
  uint64_t largest_free_block;  // largest single allocation that would succeed now
  uint64_t remote_frees;        // blocks other cores freed back to this one
};

class alignas(64) CoreHeap;

class Heap {
 public:
  // Splits `ranges` (usable RAM, sorted, disjoint) evenly between `cores` cores in address
  // order; a core's share may span several ranges (up to kMaxArenasPerCore). Each core's
  // bookkeeping lives at the start of its own share. False if a core would get too little.
  bool init(const MemoryRange* ranges, size_t count, uint32_t cores, HeapErrorHandler on_error, void* ctx);

  // 16-byte aligned (or `align`, a power of two up to kMaxAlignment); nullptr when out of memory
  // or on a bad alignment. Size 0 gives a valid, unique block.
  void* allocate(uint32_t core, size_t size, size_t align = 16);
  // `core` is the calling core. Returns false (after reporting) on a bad pointer.
  bool free(uint32_t core, void* ptr);
  // nullptr -> allocate; size 0 -> free and nullptr; fits -> same pointer; else move.
  void* reallocate(uint32_t core, void* ptr, size_t size);
  // Bytes usable at `ptr` (its class size or span size), 0 if not a live block.
  size_t usable_size(const void* ptr) const;
  // Which core's memory `ptr` is in, or kNoCore.
  uint32_t owner_of(const void* ptr) const;

  // Exact when `caller` is `core`; for another core, as last published by that core (it may
  // be a few operations behind).
  HeapStats stats(uint32_t core, uint32_t caller) const;
  // The i-th piece of RAM dedicated to `core` (false past the last one).
  bool region(uint32_t core, uint32_t i, uint64_t* base, uint64_t* size) const;
  uint32_t cores() const { return cores_; }
  bool initialized() const { return cores_ != 0; }

 private:
  struct ArenaRef {
    uint64_t base, end;
    uint32_t core, arena;
  };
  const ArenaRef* find(uint64_t address) const;

  CoreHeap* heaps_[kMaxCores] = {};
  ArenaRef arenas_[kMaxCores * kMaxArenasPerCore] = {};
  uint32_t arena_count_ = 0;
  uint32_t cores_ = 0;
  HeapErrorHandler on_error_ = nullptr;
  void* error_ctx_ = nullptr;

  friend class CoreHeap;
};

}  // namespace mm
