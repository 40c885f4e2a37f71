// Private ("X") heaps, toro-spec §2.8.5: a bump allocator for one thread's short-lived blocks.
//
//   mm::XHeap* h = mm::XHeap::create(hooks);   // a 128 KiB first chunk holds the record
//   void* p = h->alloc(100);                   // 16-byte aligned, never fails while chunks last
//   h->push_mark(); ...; h->pop_mark();        // XHeapStack / XHeapUnstack: a scope's blocks go
//   h->destroy();                              // everything back to `hooks` at once
//
// Small blocks are carved from the current chunk; when it is full a 1 MiB chunk is added (at
// most kMaxChunks). Freeing a small block does nothing (the heap is released as a whole);
// requests of kLargeBlock and more get their own block from `hooks`, tracked (at most
// kMaxLarge) and given back by free(). Every block has a 16-byte header with its size, so
// realloc knows what to copy. Not thread-safe: one thread uses a heap (Toro: its own).
// Portable (tests/unit/mm/xheap_test.cpp); the kernel's hooks allocate from a core's heap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mm {

struct XHeapHooks {
  void* (*allocate)(void* ctx, size_t size);  // 16-byte aligned, or nullptr
  void (*release)(void* ctx, void* block);
  void* ctx;
};

class XHeap {
 public:
  static constexpr size_t kFirstChunk = 128 * 1024;
  static constexpr size_t kChunk = 1024 * 1024;
  static constexpr size_t kMaxChunks = 128;  // added chunks, besides the first
  static constexpr size_t kLargeBlock = 1024 * 1024;
  static constexpr size_t kMaxLarge = 128;
  static constexpr size_t kMaxMarks = 16;
  static constexpr size_t kHeader = 16;

  // nullptr when `hooks` has no memory for the first chunk.
  static XHeap* create(const XHeapHooks& hooks);
  // 16-byte aligned; nullptr for 0 bytes, or when no chunk (large block) can be had.
  void* alloc(size_t size);
  // Gives a large block back; a small one stays until the heap goes (or its scope is unstacked).
  // nullptr and pointers this heap did not hand out as large blocks are ignored.
  void free(void* block);
  // The contents up to the smaller size; the last small block grows in place. Size 0 frees and
  // gives nullptr; on failure nullptr and `block` stays as it was.
  void* realloc(void* block, size_t size);
  // The usable size of a block from this heap (0 for nullptr).
  static size_t size_of(const void* block);
  // XHeapStack: remembers where allocation is; false when kMaxMarks are taken.
  bool push_mark();
  // XHeapUnstack: everything allocated since the last mark goes (chunks, large blocks);
  // false without a mark.
  bool pop_mark();
  // Gives every chunk and large block back, the record with the first; `this` is gone after.
  void destroy();

  size_t chunks() const { return chunk_count_; }
  size_t large_blocks() const;

 private:
  struct Mark {
    uint8_t* cur;
    uint8_t* end;
    size_t chunk_count;
    size_t large_count;
  };
  XHeap() = default;
  uint8_t* carve(size_t bytes);

  XHeapHooks hooks_{};
  uint8_t* cur_ = nullptr;
  uint8_t* end_ = nullptr;
  uint8_t* last_ = nullptr;  // the last small block's header (grows in place)
  size_t chunk_count_ = 0;
  size_t large_count_ = 0;  // slots used in large_ (freed ones are nullptr)
  size_t mark_count_ = 0;
  uint8_t* chunks_[kMaxChunks] = {};
  uint8_t* large_[kMaxLarge] = {};
  Mark marks_[kMaxMarks] = {};
};

}  // namespace mm
