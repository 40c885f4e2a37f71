// The block cache of one mounted volume (Toro's GetBlock/PutBlock, toro-spec §2.11.1): blocks of
// a fixed size (the filesystem's: 512 for FAT's tables and directories, 1/2/4 KiB for ext2)
// kept in memory up to a bound, least recently used reused first, dirty blocks written back
// when they are reused or at sync(). Per core, like the mount that owns it: never locked.
// Portable; host-tested in tests/unit/fs/block_cache_test.cpp.
//
//   fs::BlockCache cache;
//   klib::Status s = cache.init(&io, 1024, 4 << 20, memory);   // 1 KiB blocks, at most 4 MiB
//   klib::Result<fs::BlockCache::Buffer*> b = cache.get(block); // read from the device if not cached
//   if (b) { b.value()->data[0] = 1; cache.mark_dirty(b.value()); cache.put(b.value()); }
//   cache.sync();                                               // every dirty block written, device flushed
//
// Big transfers (a file's data) go around the cache with read_direct/write_direct, which stay
// coherent with it: a cached dirty block in the range is written first (read) or replaced (write).
#pragma once

#include <fs/block_io.h>
#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace fs {

class BlockCache {
 public:
  struct Buffer {
    uint64_t block;
    uint8_t* data;  // block_size() bytes
    uint32_t refs;  // get() without put()
    bool dirty;
    bool valid;
    Buffer* lru_prev;  // unreferenced buffers, most recently used at the head
    Buffer* lru_next;
    Buffer* hash_next;
  };
  struct Stats {
    uint64_t hits, misses, writebacks, evictions, buffers, dirty, bytes_limit;
  };

  BlockCache() = default;
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // `block_size` a multiple of 512 up to 64 KiB; `max_bytes` bounds the buffers' memory (at
  // least 16 buffers are allowed whatever the bound). kInvalidArgument, kNoMemory.
  klib::Status init(BlockIo* io, uint32_t block_size, size_t max_bytes, const Memory& memory);
  // Writes back nothing: call sync() first. Frees every buffer.
  void release();

  // Block `block` (in block_size() units from the start of the partition), read from the device
  // unless cached, referenced until put(). kInvalidArgument beyond the partition, kIoError,
  // kNoMemory (every buffer is referenced and the bound is reached).
  klib::Result<Buffer*> get(uint64_t block);
  // The same without reading it: for a block the caller overwrites whole (its data is zeroed).
  klib::Result<Buffer*> get_zeroed(uint64_t block);
  void mark_dirty(Buffer* b);
  void put(Buffer* b);

  // Writes every dirty block (in block order) and flushes the device.
  klib::Status sync();
  // Brings blocks [block, block + count) into the cache with one device read for those that
  // are not there (cached ones, dirty or not, are kept): so that a small file read through the
  // cache costs one request, not one per block. Best effort: a failure is reported, and the
  // blocks are then read one by one by get(). At most kMaxPrefetch blocks.
  static constexpr uint32_t kMaxPrefetch = 64;
  klib::Status prefetch(uint64_t block, uint32_t count);
  // Drops a cached block without writing it (a freed block whose content no longer matters).
  void forget(uint64_t block);

  // `count` blocks from `block` straight between the device and `buffer`, coherent with the
  // cache (see above).
  klib::Status read_direct(uint64_t block, uint32_t count, void* buffer);
  klib::Status write_direct(uint64_t block, uint32_t count, const void* buffer);

  uint32_t block_size() const { return block_size_; }
  uint64_t blocks() const { return blocks_; }  // of the partition
  BlockIo* io() const { return io_; }
  const Memory& memory() const { return memory_; }
  Stats stats() const;

 private:
  static constexpr size_t kMinBuffers = 16;
  Buffer* find(uint64_t block) const;
  klib::Result<Buffer*> acquire(uint64_t block);  // a buffer for `block`, not read yet
  klib::Status write_back(Buffer* b);
  void lru_unlink(Buffer* b);
  void lru_push_front(Buffer* b);
  void hash_insert(Buffer* b);
  void hash_remove(Buffer* b);
  size_t hash(uint64_t block) const { return (block * 0x9E3779B97F4A7C15ull) >> (64 - hash_bits_); }

  BlockIo* io_ = nullptr;
  Memory memory_{};
  uint32_t block_size_ = 0;
  uint32_t sectors_per_block_ = 0;
  uint64_t blocks_ = 0;
  size_t max_buffers_ = 0;
  size_t buffers_ = 0;
  Buffer** hash_table_ = nullptr;
  uint32_t hash_bits_ = 0;
  Buffer* lru_head_ = nullptr;  // unreferenced, most recent first
  Buffer* lru_tail_ = nullptr;
  uint64_t hits_ = 0, misses_ = 0, writebacks_ = 0, evictions_ = 0;
};

}  // namespace fs
