#include <mm/xheap.h>

#include <cstring>
#include <new>

namespace mm {

namespace {

constexpr uint64_t kLargeFlag = 1ull << 63;

size_t round16(size_t n) { return (n + 15) & ~size_t(15); }
uint64_t& header_of(const void* block) {
  return *reinterpret_cast<uint64_t*>(const_cast<uint8_t*>(static_cast<const uint8_t*>(block)) - XHeap::kHeader);
}

}  // namespace

XHeap* XHeap::create(const XHeapHooks& hooks) {
  void* block = hooks.allocate(hooks.ctx, kFirstChunk);
  if (block == nullptr) return nullptr;
  auto* h = new (block) XHeap();
  h->hooks_ = hooks;
  h->cur_ = static_cast<uint8_t*>(block) + round16(sizeof(XHeap));
  h->end_ = static_cast<uint8_t*>(block) + kFirstChunk;
  return h;
}

// `bytes` (a multiple of 16, header included) from the current chunk, or a new one.
uint8_t* XHeap::carve(size_t bytes) {
  if (size_t(end_ - cur_) < bytes) {
    if (chunk_count_ == kMaxChunks || bytes > kChunk) return nullptr;
    auto* chunk = static_cast<uint8_t*>(hooks_.allocate(hooks_.ctx, kChunk));
    if (chunk == nullptr) return nullptr;
    chunks_[chunk_count_++] = chunk;
    cur_ = chunk;
    end_ = chunk + kChunk;
  }
  uint8_t* p = cur_;
  cur_ += bytes;
  return p;
}

void* XHeap::alloc(size_t size) {
  if (size == 0 || size > (SIZE_MAX >> 2)) return nullptr;
  if (size >= kLargeBlock) {
    // A free slot above the innermost mark's count (so that unstacking finds the block), else
    // a new one at the top.
    size_t slot = mark_count_ != 0 ? marks_[mark_count_ - 1].large_count : 0;
    while (slot < large_count_ && large_[slot] != nullptr) ++slot;
    if (slot == kMaxLarge) return nullptr;
    auto* block = static_cast<uint8_t*>(hooks_.allocate(hooks_.ctx, kHeader + size));
    if (block == nullptr) return nullptr;
    large_[slot] = block;
    if (slot == large_count_) ++large_count_;
    *reinterpret_cast<uint64_t*>(block) = uint64_t(size) | kLargeFlag;
    return block + kHeader;
  }
  uint8_t* h = carve(kHeader + round16(size));
  if (h == nullptr) return nullptr;
  *reinterpret_cast<uint64_t*>(h) = round16(size);
  last_ = h;
  return h + kHeader;
}

size_t XHeap::size_of(const void* block) { return block == nullptr ? 0 : size_t(header_of(block) & ~kLargeFlag); }

void XHeap::free(void* block) {
  // Looked up among the large blocks without reading the block's header: a pointer freed
  // before (or not from this heap) is simply not found.
  if (block == nullptr) return;
  uint8_t* start = static_cast<uint8_t*>(block) - kHeader;
  for (size_t i = 0; i < large_count_; ++i) {
    if (large_[i] != start) continue;
    hooks_.release(hooks_.ctx, start);
    large_[i] = nullptr;
    // The top slots that are free are used again, but not below the innermost mark's count:
    // a block allocated after the mark must lie above it, so that unstacking finds it.
    const size_t floor = mark_count_ != 0 ? marks_[mark_count_ - 1].large_count : 0;
    while (large_count_ > floor && large_[large_count_ - 1] == nullptr) --large_count_;
    return;
  }
}

void* XHeap::realloc(void* block, size_t size) {
  if (block == nullptr) return alloc(size);
  if (size == 0) {
    free(block);
    return nullptr;
  }
  const size_t old = size_of(block);
  uint8_t* h = static_cast<uint8_t*>(block) - kHeader;
  // The last small block grows (or shrinks) where it is, when the chunk has room.
  if (h == last_ && (header_of(block) & kLargeFlag) == 0 && size < kLargeBlock &&
      size_t(end_ - static_cast<uint8_t*>(block)) >= round16(size)) {
    cur_ = static_cast<uint8_t*>(block) + round16(size);
    header_of(block) = round16(size);
    return block;
  }
  void* moved = alloc(size);
  if (moved == nullptr) return nullptr;
  memcpy(moved, block, old < size ? old : size);
  free(block);
  return moved;
}

size_t XHeap::large_blocks() const {
  size_t n = 0;
  for (size_t i = 0; i < large_count_; ++i) n += large_[i] != nullptr;
  return n;
}

bool XHeap::push_mark() {
  if (mark_count_ == kMaxMarks) return false;
  marks_[mark_count_++] = {cur_, end_, chunk_count_, large_count_};
  last_ = nullptr;  // a block from before the mark must not grow past it
  return true;
}

bool XHeap::pop_mark() {
  if (mark_count_ == 0) return false;
  const Mark m = marks_[--mark_count_];
  while (large_count_ > m.large_count) {
    uint8_t* b = large_[--large_count_];
    if (b != nullptr) hooks_.release(hooks_.ctx, b);
    large_[large_count_] = nullptr;
  }
  while (chunk_count_ > m.chunk_count) {
    hooks_.release(hooks_.ctx, chunks_[--chunk_count_]);
    chunks_[chunk_count_] = nullptr;
  }
  cur_ = m.cur;
  end_ = m.end;
  last_ = nullptr;
  return true;
}

void XHeap::destroy() {
  const XHeapHooks hooks = hooks_;
  for (size_t i = 0; i < large_count_; ++i) {
    if (large_[i] != nullptr) hooks.release(hooks.ctx, large_[i]);
  }
  for (size_t i = 0; i < chunk_count_; ++i) hooks.release(hooks.ctx, chunks_[i]);
  this->~XHeap();
  hooks.release(hooks.ctx, this);
}

}  // namespace mm
