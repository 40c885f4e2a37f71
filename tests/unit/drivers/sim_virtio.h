// What the virtio driver tests share: DMA memory from the host heap (aligned, freed with the
// test), handed to drivers as their DmaAllocator.
//
//   drivers::test::Memory m;
//   nic.init(transport, {drivers::test::Memory::alloc, &m});
#pragma once

#include <cstdlib>
#include <vector>

namespace drivers::test {

struct Memory {
  std::vector<void*> blocks;
  Memory() = default;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory() {
    for (void* p : blocks) free(p);
  }
  void* get(size_t size, size_t align) {
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    blocks.push_back(p);
    return p;
  }
  static void* alloc(size_t size, size_t align, void* self) { return static_cast<Memory*>(self)->get(size, align); }
};

}  // namespace drivers::test
