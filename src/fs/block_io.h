// What a filesystem reads and writes: a range of sectors (a partition, or a whole disk),
// synchronously. The kernel implements it over a drivers::BlockDevice, the calling thread
// sleeping until the interrupt (src/fs/kernel.cpp); host tests over an image in memory
// (tests/unit/fs/mem_disk.h). And the memory a filesystem allocates from.
//
//   klib::Status s = io.read(sector, count, buffer);    // any count: split to the device's limit
//   fs::Memory m{allocate, release};                    // the calling core's heap
#pragma once

#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace fs {

constexpr uint32_t kSectorSize = 512;

class BlockIo {
 public:
  virtual uint64_t sectors() const = 0;  // of this partition, 512 bytes each
  virtual bool read_only() const = 0;
  // Sectors [sector, sector + count) of the partition. kInvalidArgument beyond its end (nothing
  // is read or written outside it), kIoError if the device failed, kReadOnly for a write to a
  // read-only device.
  virtual klib::Status read(uint64_t sector, uint32_t count, void* buffer) = 0;
  virtual klib::Status write(uint64_t sector, uint32_t count, const void* buffer) = 0;
  // Everything written so far is on the medium (the device's write cache flushed).
  virtual klib::Status flush() = 0;

 protected:
  ~BlockIo() = default;
};

// The memory a filesystem, its cache and the file handles come from (the calling core's heap
// in the kernel; malloc in host tests). allocate returns nullptr when out of memory.
struct Memory {
  void* (*allocate)(size_t size, size_t align);
  void (*release)(void* p);

  template <class T, class... Args>
  T* make(Args&&... args) const;
  template <class T>
  void destroy(T* p) const;
};

}  // namespace fs

#include <new>

template <class T, class... Args>
T* fs::Memory::make(Args&&... args) const {
  void* p = allocate(sizeof(T), alignof(T) < 16 ? 16 : alignof(T));
  return p == nullptr ? nullptr : new (p) T(static_cast<Args&&>(args)...);
}

template <class T>
void fs::Memory::destroy(T* p) const {
  if (p == nullptr) return;
  p->~T();
  release(p);
}
