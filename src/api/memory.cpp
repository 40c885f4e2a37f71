#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>
#include <kernel/memory.h>
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
