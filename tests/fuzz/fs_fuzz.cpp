// libFuzzer target: arbitrary bytes as a disk image for the filesystem drivers. Mount, walk the
// tree (read_dir, lookup, read_inode, read), then write, create, truncate, sync and walk again
// after a remount; nothing may crash, hang or touch memory it does not own (built with ASan and
// UBSan), whatever the image says.
//
// Input: byte 0 picks the driver (kTypes, one line each), byte 1 the operations' parameters,
// bytes 2..5 the disk's size in sectors (capped), then records of a sector number (4 bytes)
// and its 512 bytes: a sparse image, so that a 34 MB FAT32 volume is a few kilobytes of input.
// Sectors no record names read as zeros; writes go to an overlay. The seeds are real images
// (tests/fuzz/run_fuzz.py makes them with mkfs.fat and mtools, and mke2fs, and packs them this way).
#include <fs/ext2/ext2.h>
#include <fs/fat/fat.h>
#include <fs/filesystem.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

namespace {

const fs::FileSystemType* const kTypes[] = {
    &fs::fat::kType,
    &fs::ext2::kType,
};

constexpr uint64_t kMaxSectors = 1 << 17;  // 64 MiB
constexpr size_t kRecord = 4 + fs::kSectorSize;

class SparseDisk final : public fs::BlockIo {
 public:
  SparseDisk(const uint8_t* data, size_t size, uint64_t sectors) : sectors_(sectors) {
    for (size_t at = 0; at + 4 <= size; at += kRecord) {
      const uint32_t s = data[at] | data[at + 1] << 8 | data[at + 2] << 16 | uint32_t(data[at + 3]) << 24;
      std::vector<uint8_t>& v = written_[s];
      v.assign(fs::kSectorSize, 0);
      const size_t n = size - at - 4 < fs::kSectorSize ? size - at - 4 : fs::kSectorSize;
      memcpy(v.data(), data + at + 4, n);  // a short last record: the rest stays zero
    }
  }
  uint64_t sectors() const override { return sectors_; }
  bool read_only() const override { return false; }
  klib::Status read(uint64_t sector, uint32_t count, void* buffer) override {
    if (sector > sectors_ || count > sectors_ - sector) return klib::Error::kInvalidArgument;
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t* out = static_cast<uint8_t*>(buffer) + size_t(i) * fs::kSectorSize;
      auto it = written_.find(sector + i);
      if (it == written_.end()) {
        memset(out, 0, fs::kSectorSize);
      } else {
        memcpy(out, it->second.data(), fs::kSectorSize);
      }
    }
    return {};
  }
  klib::Status write(uint64_t sector, uint32_t count, const void* buffer) override {
    if (sector > sectors_ || count > sectors_ - sector) return klib::Error::kInvalidArgument;
    for (uint32_t i = 0; i < count; ++i) {
      const uint8_t* in = static_cast<const uint8_t*>(buffer) + size_t(i) * fs::kSectorSize;
      written_[sector + i].assign(in, in + fs::kSectorSize);
    }
    return {};
  }
  klib::Status flush() override { return {}; }

 private:
  uint64_t sectors_;
  std::map<uint64_t, std::vector<uint8_t>> written_;
};

const fs::Memory kMemory = {
    [](size_t size, size_t align) -> void* {
      void* p = nullptr;
      return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size == 0 ? 1 : size) == 0 ? p : nullptr;
    },
    [](void* p) { free(p); },
};

uint32_t clock_now() { return 1767225600; }

uint8_t g_buffer[1 << 16];

// Reads every file and looks every name up again, depth-first, within bounds.
void walk(fs::FileSystem* v, uint64_t ino, int depth, int* budget) {
  fs::Inode dir{};
  dir.ino = ino;
  if (!v->read_inode(dir) || dir.mode != fs::kInodeDir) return;
  uint64_t cookie = 0;
  fs::DirEntry e;
  while (--*budget > 0) {
    klib::Result<bool> r = v->read_dir(dir, &cookie, &e);
    if (!r || !r.value()) return;
    if (e.name_length != strlen(e.name)) __builtin_trap();
    klib::Result<uint64_t> found = v->lookup(dir, e.name, e.name_length);
    (void)found;
    fs::Inode in{};
    in.ino = e.ino;
    if (!v->read_inode(in)) continue;
    if (in.mode == fs::kInodeDir) {
      if (depth < 4) walk(v, e.ino, depth + 1, budget);
      continue;
    }
    for (uint64_t off = 0; off < in.size && off < (1u << 20);) {
      klib::Result<size_t> n = v->read(in, off, g_buffer, 4096 + (off & 0x7FFF));
      if (!n || n.value() == 0) break;
      off += n.value();
    }
  }
}

void change(fs::FileSystem* v, uint8_t params) {
  fs::Inode root{};
  root.ino = v->root_ino();
  if (!v->read_inode(root)) return;
  klib::Result<uint64_t> dir = v->create(root, "A Fuzzed Directory", 18, fs::kInodeDir);
  klib::Result<uint64_t> file = v->create(root, "fuzz.txt", 8, fs::kInodeReg);
  if (!file) file = v->lookup(root, "FUZZ.TXT", 8);
  if (file) {
    fs::Inode in{};
    in.ino = file.value();
    if (v->read_inode(in)) {
      memset(g_buffer, params, sizeof g_buffer);
      const uint64_t offset = uint64_t(params & 0x0F) * 1000;
      (void)v->write(in, offset, g_buffer, 3000 + size_t(params) * 100);
      (void)v->write(in, in.size + (params & 0x30) * 64, g_buffer, 700);
      (void)v->truncate(in, in.size / ((params >> 6) + 1));
      (void)v->write_inode(in);
    }
  }
  if (dir) {
    fs::Inode d{};
    d.ino = dir.value();
    if (v->read_inode(d)) {
      for (int i = 0; i < (params & 7) * 8; ++i) {
        char name[32];
        const size_t n = size_t(snprintf(name, sizeof name, "entry with a long name %d", i));
        if (!v->create(d, name, n, (i & 3) == 0 ? fs::kInodeDir : fs::kInodeReg)) break;
      }
    }
  }
  (void)v->sync();
  (void)v->free_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const fs::FileSystemType* type = kTypes[data[0] % (sizeof kTypes / sizeof kTypes[0])];
  const uint8_t params = data[1];
  uint64_t sectors = data[2] | data[3] << 8 | data[4] << 16 | uint32_t(data[5]) << 24;
  if (sectors > kMaxSectors) sectors = kMaxSectors;
  SparseDisk disk(data + 6, size - 6, sectors);
  fs::MountOptions options;
  options.cache_bytes = 64 << 10;  // small: evictions and write-backs get fuzzed too
  options.now = clock_now;
  for (int pass = 0; pass < 2; ++pass) {
    klib::Result<fs::FileSystem*> v = type->mount(disk, kMemory, options);
    if (!v) return 0;
    int budget = 200;
    walk(v.value(), v.value()->root_ino(), 0, &budget);
    if (pass == 0) change(v.value(), params);
    v.value()->unmount();
  }
  return 0;
}
