// Memory (toro-spec §1.8): every core allocates from the RAM dedicated to it.
//
//   char* buf = static_cast<char*>(ToroGetMem(1500));   // nullptr when the core is out of memory
//   ToroFreeMem(buf);                                      // any core may free any block
//   TMemoryStats s; SysGetMemoryStats(GetCoreId(), &s);
//
// Blocks are 16-byte aligned (ToroGetMemAligned for up to 4096). Freeing a block twice or a
// pointer ToroGetMem never returned stops the VM with a message and a backtrace. operator new,
// malloc, calloc, realloc and free use the same allocator. Not for interrupt handlers.
#pragma once

#include <toro/types.h>

// Size bytes from the calling core's memory; nil when it has no block that large (a console
// line at most once a second per core). Size 0 gives a valid, unique block.
Pointer ToroGetMem(PtrUInt Size);
// Alignment: a power of two up to 4096 (64 for per-core data that must not share a cache line).
Pointer ToroGetMemAligned(PtrUInt Size, PtrUInt Alignment);
// ToroGetMem + zero fill (Toro's ToroAllocMem).
Pointer ToroAllocMem(PtrUInt Size);
// 1 if P is nil, else 0 (Toro's convention).
LongInt ToroFreeMem(Pointer P);
// ToroReAllocMem's first parameter: both Toro generations' forms in one. A pointer variable is
// taken by reference and updated (HEAD's `var P`: ToroReAllocMem(P, 64);); any other pointer
// expression by value (2019: Q = ToroReAllocMem(P + 0, 64);).
class TReAllocPointer {
 public:
  template <typename T>
  TReAllocPointer(T*& p) : value_(const_cast<void*>(static_cast<const void*>(p))), update_(&assign<T>), var_(&p) {}
  TReAllocPointer(const void* p) : value_(const_cast<void*>(p)) {}
  TReAllocPointer(decltype(nullptr)) {}
  Pointer value() const { return value_; }
  // Stores the new block into the variable, if there is one.
  void update(Pointer p) const {
    if (update_ != nullptr) update_(var_, p);
  }

 private:
  template <typename T>
  static void assign(void* var, void* p) {
    *static_cast<T**>(var) = static_cast<T*>(p);
  }
  Pointer value_ = nullptr;
  void (*update_)(void*, void*) = nullptr;
  void* var_ = nullptr;
};
// nil P -> ToroGetMem; NewSize 0 -> free, nil; fits -> P; else a new block with P's contents
// (P is freed). Returns the block; a pointer variable passed as P is set to it too (HEAD's var
// form), except on failure: nil is returned and P (the block and the variable) is untouched.
Pointer ToroReAllocMem(TReAllocPointer P, PtrUInt NewSize);
// Toro's aliases of ToroFreeMem and ToroReAllocMem.
inline LongInt NumaFreeMem(Pointer P) { return ToroFreeMem(P); }
inline Pointer NumaReAllocMem(TReAllocPointer P, PtrUInt NewSize) { return ToroReAllocMem(P, NewSize); }
// Usable bytes of the block at P (0 if P is not a live block).
PtrUInt GetPointerSize(Pointer P);

// Private heaps (toro-spec §2.8.5, src/mm/xheap.h): a bump allocator for one thread's
// short-lived blocks, given back all at once. XHeapAcquire takes a 128 KiB first chunk (nil if
// CPU is not a core or there is no memory; the chunks come from the calling core's memory, as
// a core's heap is its own); blocks are 16-byte aligned and
// XHeapFree gives back only blocks of 1 MiB and more; XHeapStack / XHeapUnstack bracket a scope
// whose blocks all go at the Unstack (up to 16 nested; false when full / without a Stack).
// **Changed:** Toro gave every thread a heap at creation; here a program acquires its own.
// Not thread-safe: one thread uses a heap. A nil Heap is ignored (nil / false results).
struct TXHeap;
using PXHeap = TXHeap*;
PXHeap XHeapAcquire(Byte CPU);
Pointer XHeapAlloc(PXHeap Heap, PtrUInt Size);
void XHeapFree(PXHeap Heap, Pointer P);
Pointer XHeapRealloc(PXHeap Heap, Pointer P, PtrUInt NewSize);
void XHeapRelease(PXHeap Heap);
Boolean XHeapStack(PXHeap Heap);
Boolean XHeapUnstack(PXHeap Heap);

// Mark the pages overlapping [Add, Add + Size) cacheable / uncacheable (write-back / UC through
// PCD|PWT), on 2 MiB granularity where the region is mapped with 2 MiB pages. Flushes this
// core's TLB. False if part of the region is not mapped.
Boolean SysCacheRegion(Pointer Add, PtrUInt Size);
Boolean SysUnCacheRegion(Pointer Add, PtrUInt Size);

struct TMemoryStats {
  QWord RegionBytes;       // RAM dedicated to the core
  QWord BytesInUse;        // handed out
  QWord BytesFree;         // free pages and free slab blocks
  QWord LargestFreeBlock;  // the largest free span now (one empty slab per size class is kept
                           // cached and given back when a request would otherwise fail)
  QWord RemoteFrees;       // blocks other cores freed back to this core
};
// Exact for the calling core; for another core, as that core last published them. False if CPU
// is not a core.
Boolean SysGetMemoryStats(LongInt CPU, TMemoryStats* Stats);
