#include <fs/block_cache.h>

#include <cstring>

namespace fs {

klib::Status BlockCache::init(BlockIo* io, uint32_t block_size, size_t max_bytes, const Memory& memory) {
  if (io == nullptr || block_size == 0 || block_size % kSectorSize != 0 || block_size > 65536) {
    return klib::Error::kInvalidArgument;
  }
  io_ = io;
  memory_ = memory;
  block_size_ = block_size;
  sectors_per_block_ = block_size / kSectorSize;
  blocks_ = io->sectors() / sectors_per_block_;
  max_buffers_ = max_bytes / block_size;
  if (max_buffers_ < kMinBuffers) max_buffers_ = kMinBuffers;
  // A power of two of chains, about one per buffer, at most 64 Ki chains.
  hash_bits_ = 4;
  while (hash_bits_ < 16 && (size_t(1) << hash_bits_) < max_buffers_) ++hash_bits_;
  const size_t chains = size_t(1) << hash_bits_;
  hash_table_ = static_cast<Buffer**>(memory_.allocate(chains * sizeof(Buffer*), 64));
  if (hash_table_ == nullptr) return klib::Error::kNoMemory;
  for (size_t i = 0; i < chains; ++i) hash_table_[i] = nullptr;
  return {};
}

void BlockCache::release() {
  if (hash_table_ == nullptr) return;
  const size_t chains = size_t(1) << hash_bits_;
  for (size_t i = 0; i < chains; ++i) {
    Buffer* b = hash_table_[i];
    while (b != nullptr) {
      Buffer* next = b->hash_next;
      memory_.release(b->data);
      memory_.release(b);
      b = next;
    }
  }
  memory_.release(hash_table_);
  hash_table_ = nullptr;
  lru_head_ = lru_tail_ = nullptr;
  buffers_ = 0;
}

BlockCache::Buffer* BlockCache::find(uint64_t block) const {
  for (Buffer* b = hash_table_[hash(block)]; b != nullptr; b = b->hash_next) {
    if (b->block == block) return b;
  }
  return nullptr;
}

void BlockCache::hash_insert(Buffer* b) {
  Buffer*& head = hash_table_[hash(b->block)];
  b->hash_next = head;
  head = b;
}

void BlockCache::hash_remove(Buffer* b) {
  for (Buffer** p = &hash_table_[hash(b->block)]; *p != nullptr; p = &(*p)->hash_next) {
    if (*p == b) {
      *p = b->hash_next;
      b->hash_next = nullptr;
      return;
    }
  }
}

void BlockCache::lru_unlink(Buffer* b) {
  if (b->lru_prev != nullptr) {
    b->lru_prev->lru_next = b->lru_next;
  } else if (lru_head_ == b) {
    lru_head_ = b->lru_next;
  }
  if (b->lru_next != nullptr) {
    b->lru_next->lru_prev = b->lru_prev;
  } else if (lru_tail_ == b) {
    lru_tail_ = b->lru_prev;
  }
  b->lru_prev = b->lru_next = nullptr;
}

void BlockCache::lru_push_front(Buffer* b) {
  b->lru_prev = nullptr;
  b->lru_next = lru_head_;
  if (lru_head_ != nullptr) lru_head_->lru_prev = b;
  lru_head_ = b;
  if (lru_tail_ == nullptr) lru_tail_ = b;
}

klib::Status BlockCache::write_back(Buffer* b) {
  if (!b->dirty) return {};
  klib::Status s = io_->write(b->block * sectors_per_block_, sectors_per_block_, b->data);
  if (!s) return s;  // stays dirty: a later sync tries again and reports it
  b->dirty = false;
  ++writebacks_;
  return {};
}

klib::Result<BlockCache::Buffer*> BlockCache::acquire(uint64_t block) {
  Buffer* b = nullptr;
  if (buffers_ < max_buffers_) {
    b = static_cast<Buffer*>(memory_.allocate(sizeof(Buffer), 64));
    uint8_t* data = b == nullptr ? nullptr : static_cast<uint8_t*>(memory_.allocate(block_size_, 64));
    if (data == nullptr) {
      if (b != nullptr) memory_.release(b);
      b = nullptr;  // out of memory below the bound: reuse one as if at the bound
    } else {
      b->data = data;
      ++buffers_;
    }
  }
  if (b == nullptr) {
    // The least recently used unreferenced buffer: written back if dirty, then reused.
    Buffer* victim = lru_tail_;
    if (victim == nullptr) return klib::Error::kNoMemory;
    klib::Status s = write_back(victim);
    if (!s) return s.error();
    lru_unlink(victim);
    hash_remove(victim);
    ++evictions_;
    b = victim;
  }
  b->block = block;
  b->refs = 1;
  b->dirty = false;
  b->valid = false;
  b->lru_prev = b->lru_next = nullptr;
  hash_insert(b);
  return b;
}

klib::Result<BlockCache::Buffer*> BlockCache::get(uint64_t block) {
  if (block >= blocks_) return klib::Error::kInvalidArgument;
  if (Buffer* b = find(block)) {
    if (b->refs++ == 0) lru_unlink(b);
    ++hits_;
    return b;
  }
  ++misses_;
  klib::Result<Buffer*> r = acquire(block);
  if (!r) return r;
  Buffer* b = r.value();
  klib::Status s = io_->read(block * sectors_per_block_, sectors_per_block_, b->data);
  if (!s) {
    hash_remove(b);
    b->refs = 0;
    lru_push_front(b);  // the buffer stays, holding nothing valid: found again only by acquire
    b->block = ~uint64_t(0);
    hash_insert(b);
    return s.error();
  }
  b->valid = true;
  return b;
}

klib::Result<BlockCache::Buffer*> BlockCache::get_zeroed(uint64_t block) {
  if (block >= blocks_) return klib::Error::kInvalidArgument;
  Buffer* b = find(block);
  if (b != nullptr) {
    if (b->refs++ == 0) lru_unlink(b);
  } else {
    klib::Result<Buffer*> r = acquire(block);
    if (!r) return r;
    b = r.value();
  }
  memset(b->data, 0, block_size_);
  b->valid = true;
  return b;
}

void BlockCache::mark_dirty(Buffer* b) { b->dirty = true; }

void BlockCache::put(Buffer* b) {
  if (b == nullptr || b->refs == 0) return;
  if (--b->refs == 0) lru_push_front(b);
}

namespace {

// Heap sort of buffer pointers by block number: no recursion, no extra memory.
void sift_down(BlockCache::Buffer** a, size_t start, size_t n) {
  size_t root = start;
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n) return;
    if (child + 1 < n && a[child]->block < a[child + 1]->block) ++child;
    if (a[root]->block >= a[child]->block) return;
    BlockCache::Buffer* t = a[root];
    a[root] = a[child];
    a[child] = t;
    root = child;
  }
}

void sort_by_block(BlockCache::Buffer** a, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
  for (size_t end = n; end-- > 1;) {
    BlockCache::Buffer* t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

}  // namespace

klib::Status BlockCache::sync() {
  klib::Status first_error;
  const size_t chains = size_t(1) << hash_bits_;
  size_t dirty = 0;
  for (size_t i = 0; i < chains; ++i) {
    for (Buffer* b = hash_table_[i]; b != nullptr; b = b->hash_next) dirty += b->dirty ? 1 : 0;
  }
  if (dirty != 0) {
    // Dirty blocks in block order, so that the disk sees one sweep; without memory for the
    // list, in the order of the table.
    auto** list = static_cast<Buffer**>(memory_.allocate(dirty * sizeof(Buffer*), 16));
    size_t n = 0;
    for (size_t i = 0; i < chains; ++i) {
      for (Buffer* b = hash_table_[i]; b != nullptr; b = b->hash_next) {
        if (!b->dirty) continue;
        if (list == nullptr) {
          klib::Status s = write_back(b);
          if (!s && first_error) first_error = s;
        } else if (n < dirty) {
          list[n++] = b;
        }
      }
    }
    if (list != nullptr) {
      sort_by_block(list, n);
      for (size_t i = 0; i < n; ++i) {
        klib::Status s = write_back(list[i]);
        if (!s && first_error) first_error = s;
      }
      memory_.release(list);
    }
  }
  if (!first_error) return first_error;
  return io_->flush();
}

klib::Status BlockCache::prefetch(uint64_t block, uint32_t count) {
  if (block >= blocks_ || count == 0) return klib::Error::kInvalidArgument;
  if (count > kMaxPrefetch) count = kMaxPrefetch;
  if (count > blocks_ - block) count = uint32_t(blocks_ - block);
  // Only the span from the first block not cached to the last one.
  uint32_t first = 0;
  while (first < count && find(block + first) != nullptr) ++first;
  if (first == count) return {};
  uint32_t last = count;
  while (last > first && find(block + last - 1) != nullptr) --last;
  const uint32_t n = last - first;
  auto* data = static_cast<uint8_t*>(memory_.allocate(size_t(n) * block_size_, 64));
  if (data == nullptr) return klib::Error::kNoMemory;
  klib::Status s = io_->read((block + first) * sectors_per_block_, n * sectors_per_block_, data);
  if (s) {
    for (uint32_t i = 0; i < n; ++i) {
      if (find(block + first + i) != nullptr) continue;  // cached (maybe dirty): it stays
      klib::Result<Buffer*> b = acquire(block + first + i);
      if (!b) break;  // every buffer is in use: the rest is read when asked for
      memcpy(b.value()->data, data + size_t(i) * block_size_, block_size_);
      b.value()->valid = true;
      ++misses_;
      put(b.value());
    }
  }
  memory_.release(data);
  return s;
}

void BlockCache::forget(uint64_t block) {
  Buffer* b = find(block);
  if (b == nullptr) return;
  b->dirty = false;
  if (b->refs != 0) return;  // still in use: stays, now clean
  hash_remove(b);
  b->block = ~uint64_t(0);
  b->valid = false;
  hash_insert(b);
  lru_unlink(b);
  // The least recently used end: reused first.
  b->lru_prev = lru_tail_;
  b->lru_next = nullptr;
  if (lru_tail_ != nullptr) lru_tail_->lru_next = b;
  lru_tail_ = b;
  if (lru_head_ == nullptr) lru_head_ = b;
}

klib::Status BlockCache::read_direct(uint64_t block, uint32_t count, void* buffer) {
  if (block >= blocks_ || count > blocks_ - block) return klib::Error::kInvalidArgument;
  klib::Status s = io_->read(block * sectors_per_block_, count * sectors_per_block_, buffer);
  if (!s) return s;
  // A cached block may be newer than the device (dirty): its copy wins.
  for (uint32_t i = 0; i < count; ++i) {
    Buffer* b = find(block + i);
    if (b != nullptr && b->valid && b->dirty) {
      memcpy(static_cast<uint8_t*>(buffer) + size_t(i) * block_size_, b->data, block_size_);
    }
  }
  return {};
}

klib::Status BlockCache::write_direct(uint64_t block, uint32_t count, const void* buffer) {
  if (block >= blocks_ || count > blocks_ - block) return klib::Error::kInvalidArgument;
  klib::Status s = io_->write(block * sectors_per_block_, count * sectors_per_block_, buffer);
  if (!s) return s;
  // Cached copies take the new content (and are clean: the device has it).
  for (uint32_t i = 0; i < count; ++i) {
    Buffer* b = find(block + i);
    if (b != nullptr && b->valid) {
      memcpy(b->data, static_cast<const uint8_t*>(buffer) + size_t(i) * block_size_, block_size_);
      b->dirty = false;
    }
  }
  return {};
}

BlockCache::Stats BlockCache::stats() const {
  Stats st{hits_, misses_, writebacks_, evictions_, buffers_, 0, uint64_t(max_buffers_) * block_size_};
  if (hash_table_ != nullptr) {
    const size_t chains = size_t(1) << hash_bits_;
    for (size_t i = 0; i < chains; ++i) {
      for (Buffer* b = hash_table_[i]; b != nullptr; b = b->hash_next) st.dirty += b->dirty ? 1 : 0;
    }
  }
  return st;
}

}  // namespace fs
