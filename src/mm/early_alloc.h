// Boot-time bump allocator: page tables, the main thread's stack and `operator new` until the
// per-CPU allocator (src/mm, issue #3) takes over. Never frees. Portable (host-tested).
//
//   mm::EarlyAllocator a;
//   a.init(boot.memory, image_end);          // largest usable region above image_end
//   void* p = a.allocate(4096, 4096);         // nullptr when exhausted
#pragma once

#include <arch/x86_64/boot_info.h>

#include <cstddef>
#include <cstdint>

namespace mm {

class EarlyAllocator {
 public:
  // Takes the largest usable region of `map` (or its part) in [floor, ceiling). The kernel
  // passes 4 GiB as the ceiling: until the final page tables are loaded only that much is
  // mapped. Returns false if there is none.
  bool init(const arch::MemoryMap& map, uint64_t floor, uint64_t ceiling = ~uint64_t(0));

  // `align` must be a power of two; returns nullptr when the region is exhausted or on a bad
  // alignment. Memory is not zeroed.
  void* allocate(size_t size, size_t align);
  // A zeroed 4 KiB page, as the address the page-table builder wants (0 when exhausted).
  static uint64_t alloc_zeroed_page(void* self);

  bool contains(const void* p) const;
  // After this, allocate() returns nullptr: the heap owns the rest of the memory.
  void seal() { end_ = next_; }
  uint64_t start() const { return start_; }
  uint64_t end() const { return end_; }
  uint64_t used() const { return next_ - start_; }

 private:
  uint64_t start_ = 0, next_ = 0, end_ = 0;
};

}  // namespace mm
