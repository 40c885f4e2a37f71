#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>
#include <kernel/memory.h>
#include <mm/xheap.h>
#include <toro/memory.h>

#include <cstring>

Pointer ToroGetMem(PtrUInt Size) { return kernel::allocate(Size); }

Pointer ToroGetMemAligned(PtrUInt Size, PtrUInt Alignment) { return kernel::allocate(Size, Alignment); }

Pointer ToroAllocMem(PtrUInt Size) {
  void* p = kernel::allocate(Size);
  if (p != nullptr) memset(p, 0, Size);
  return p;
}

LongInt ToroFreeMem(Pointer P) {
  if (P == nullptr) return 1;
  kernel::release(P);
  return 0;
}

Pointer ToroReAllocMem(TReAllocPointer P, PtrUInt NewSize) {
  Pointer q = kernel::heap().reallocate(kernel::current_core(), P.value(), NewSize);
  // NewSize 0 frees P and gives nil: the variable becomes nil too. A failed growth leaves it.
  if (q != nullptr || NewSize == 0) P.update(q);
  return q;
}

PtrUInt GetPointerSize(Pointer P) { return P == nullptr ? 0 : kernel::heap().usable_size(P); }

namespace {
Boolean set_cache(Pointer Add, PtrUInt Size, bool uncached) {
  const uint64_t start = reinterpret_cast<uintptr_t>(Add);
  if (Size == 0 || start + Size < start) return false;
  const uint64_t root = arch::read_cr3() & arch::kPageAddressMask;
  const bool ok = arch::PageTableBuilder::set_uncached(root, start, start + Size, uncached);
  arch::write_cr3(arch::read_cr3());  // flush this core's TLB
  return ok;
}
}  // namespace

Boolean SysCacheRegion(Pointer Add, PtrUInt Size) { return set_cache(Add, Size, false); }

Boolean SysUnCacheRegion(Pointer Add, PtrUInt Size) { return set_cache(Add, Size, true); }

Boolean SysGetMemoryStats(LongInt CPU, TMemoryStats* Stats) {
  if (CPU < 0 || uint32_t(CPU) >= kernel::heap().cores() || Stats == nullptr) return false;
  const mm::HeapStats s = kernel::heap().stats(uint32_t(CPU), kernel::current_core());
  *Stats = {s.region_bytes, s.bytes_in_use, s.bytes_free, s.largest_free_block, s.remote_frees};
  return true;
}

namespace {
mm::XHeap* xheap(PXHeap h) { return reinterpret_cast<mm::XHeap*>(h); }
// From the calling core's heap (a core's heap is owner-only); given back from any core.
void* xheap_allocate(void*, size_t size) { return kernel::allocate(size, 16); }
void xheap_release(void*, void* block) { kernel::release(block); }
}  // namespace

PXHeap XHeapAcquire(Byte CPU) {
  if (CPU >= kernel::heap().cores()) return nullptr;
  const mm::XHeapHooks hooks{xheap_allocate, xheap_release, nullptr};
  return reinterpret_cast<PXHeap>(mm::XHeap::create(hooks));
}

Pointer XHeapAlloc(PXHeap Heap, PtrUInt Size) { return Heap == nullptr ? nullptr : xheap(Heap)->alloc(Size); }

void XHeapFree(PXHeap Heap, Pointer P) {
  if (Heap != nullptr) xheap(Heap)->free(P);
}

Pointer XHeapRealloc(PXHeap Heap, Pointer P, PtrUInt NewSize) {
  return Heap == nullptr ? nullptr : xheap(Heap)->realloc(P, NewSize);
}

void XHeapRelease(PXHeap Heap) {
  if (Heap != nullptr) xheap(Heap)->destroy();
}

Boolean XHeapStack(PXHeap Heap) { return Heap != nullptr && xheap(Heap)->push_mark(); }

Boolean XHeapUnstack(PXHeap Heap) { return Heap != nullptr && xheap(Heap)->pop_mark(); }
