// A disk in memory for the fs host tests: a BlockIo over a byte vector (an image file read
// whole, or zeros), counting what it is asked, with faults on demand (a failing sector, a
// read-only medium) and the malloc-backed fs::Memory the tests mount with.
//
//   MemDisk disk = MemDisk::from_file("build/fat16.img");   // or MemDisk(sectors)
//   disk.fail_sector = 42;                                   // reads and writes of it: kIoError
#pragma once

#include <fs/block_io.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace fs::testing {

class MemDisk final : public BlockIo {
 public:
  explicit MemDisk(uint64_t sectors) : bytes(sectors * kSectorSize) {}
  static MemDisk from_file(const std::string& path) {
    MemDisk d(0);
    FILE* f = fopen(path.c_str(), "rb");
    if (f == nullptr) return d;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    d.bytes.resize(size_t(n) / kSectorSize * kSectorSize);
    if (!d.bytes.empty() && fread(d.bytes.data(), 1, d.bytes.size(), f) != d.bytes.size()) d.bytes.clear();
    fclose(f);
    return d;
  }
  bool save(const std::string& path) const {
    FILE* f = fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    return fclose(f) == 0 && ok;
  }

  uint64_t sectors() const override { return bytes.size() / kSectorSize; }
  bool read_only() const override { return readonly; }
  klib::Status read(uint64_t sector, uint32_t count, void* buffer) override {
    if (sector > sectors() || count > sectors() - sector) return klib::Error::kInvalidArgument;
    if (fail_sector >= sector && fail_sector < sector + count) return klib::Error::kIoError;
    ++reads;
    sectors_read += count;
    memcpy(buffer, bytes.data() + sector * kSectorSize, size_t(count) * kSectorSize);
    return {};
  }
  klib::Status write(uint64_t sector, uint32_t count, const void* buffer) override {
    if (readonly) return klib::Error::kReadOnly;
    if (sector > sectors() || count > sectors() - sector) return klib::Error::kInvalidArgument;
    if (fail_sector >= sector && fail_sector < sector + count) return klib::Error::kIoError;
    ++writes;
    sectors_written += count;
    memcpy(bytes.data() + sector * kSectorSize, buffer, size_t(count) * kSectorSize);
    return {};
  }
  klib::Status flush() override {
    ++flushes;
    return {};
  }

  std::vector<uint8_t> bytes;
  bool readonly = false;
  uint64_t fail_sector = ~uint64_t(0);
  uint64_t reads = 0, writes = 0, flushes = 0, sectors_read = 0, sectors_written = 0;
};

inline const Memory kMallocMemory = {
    [](size_t size, size_t align) -> void* {
      void* p = nullptr;
      return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size == 0 ? 1 : size) == 0 ? p : nullptr;
    },
    [](void* p) { free(p); },
};

}  // namespace fs::testing
