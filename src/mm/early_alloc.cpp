#include <mm/early_alloc.h>

#include <cstring>

namespace mm {

bool EarlyAllocator::init(const arch::MemoryMap& map, uint64_t floor, uint64_t ceiling) {
  start_ = next_ = end_ = 0;
  for (const auto& r : map) {
    if (!r.usable() || r.end() <= floor || r.base >= ceiling) continue;
    const uint64_t base = r.base < floor ? floor : r.base;
    const uint64_t end = r.end() > ceiling ? ceiling : r.end();
    if (end - base > end_ - start_) {
      start_ = base;
      end_ = end;
    }
  }
  next_ = start_;
  return end_ > start_;
}

void* EarlyAllocator::allocate(size_t size, size_t align) {
  if (align == 0 || (align & (align - 1)) != 0) return nullptr;
  const uint64_t p = (next_ + align - 1) & ~uint64_t(align - 1);
  if (p < next_ || p > end_ || size > end_ - p) return nullptr;
  next_ = p + size;
  return reinterpret_cast<void*>(static_cast<uintptr_t>(p));
}

uint64_t EarlyAllocator::alloc_zeroed_page(void* self) {
  void* p = static_cast<EarlyAllocator*>(self)->allocate(4096, 4096);
  if (p == nullptr) return 0;
  memset(p, 0, 4096);
  return reinterpret_cast<uintptr_t>(p);
}

bool EarlyAllocator::contains(const void* p) const {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a >= start_ && a < next_;
}

}  // namespace mm
