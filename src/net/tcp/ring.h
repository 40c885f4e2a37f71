// A byte ring whose memory follows use: a TCP connection's send and receive buffers.
//
//   net::tcp::BufferPool pool{allocate, release, ctx};
//   net::tcp::Ring r;  r.init(&pool, 16384);   // may hold up to 16 KiB; no memory yet
//   r.write(data, n);  r.copy_out(offset, out, m);  r.contiguous(offset, m);  r.consume(k);  r.read(out, m);
//   r.release_if_empty();                      // drained: the memory goes back to the pool
//
// The ring has a limit (what the connection promised: the receive window, the send buffer)
// and a capacity (the memory it holds now). Writing past the capacity grows it to the next
// power of two (at least kMinChunk, at most the limit), copying what it holds; the pool may
// refuse (out of memory, or past the TCP budget), and then only what fits is written. An idle
// connection holds no buffer memory at all.
#pragma once

#include <cstdint>
#include <cstring>

namespace net::tcp {

// Where a connection's buffer memory comes from: the owner's allocator and its budget
// (Tcp, tcp.h). allocate() may return nullptr. `pressure` tells the connections that memory is
// short: receive windows then offer only memory already held (Connection::advertised_window).
struct BufferPool {
  uint8_t* (*allocate)(void* ctx, uint32_t size) = nullptr;
  void (*release)(void* ctx, uint8_t* memory, uint32_t size) = nullptr;
  void* ctx = nullptr;
  bool pressure = false;
};

class Ring {
 public:
  static constexpr uint32_t kMinChunk = 256;  // a request or an answer of a small service fits

  void init(BufferPool* pool, uint32_t limit) {
    pool_ = pool;
    mem_ = nullptr;
    cap_ = 0;
    limit_ = limit;
    head_ = size_ = 0;
  }
  uint32_t limit() const { return limit_; }
  uint32_t capacity() const { return cap_; }  // bytes of memory held now
  uint32_t size() const { return size_; }
  uint32_t space() const { return limit_ - size_; }  // what may still be written, memory permitting
  uint32_t room() const { return cap_ - size_; }     // what may be written without growing
  bool under_pressure() const { return pool_ != nullptr && pool_->pressure; }

  // Makes the capacity at least `total` bytes (at most the limit). False if the pool refused:
  // the ring keeps what it had.
  bool reserve(uint32_t total) {
    if (total > limit_) total = limit_;
    if (total <= cap_) return true;
    if (pool_ == nullptr) return false;
    uint32_t want = kMinChunk;
    while (want < total) want *= 2;
    if (want > limit_) want = limit_;
    uint8_t* fresh = pool_->allocate(pool_->ctx, want);
    if (fresh == nullptr) return false;
    // Everything from the head on keeps its offset (readable bytes and any out-of-order data
    // written past them).
    if (cap_ != 0) {
      const uint32_t first = cap_ - head_;
      memcpy(fresh, mem_ + head_, first);
      memcpy(fresh + first, mem_, head_);
      pool_->release(pool_->ctx, mem_, cap_);
    }
    mem_ = fresh;
    cap_ = want;
    head_ = 0;
    return true;
  }

  // Appends up to n bytes; returns how many were written (fewer when the limit or the memory
  // runs out).
  uint32_t write(const uint8_t* data, uint32_t n) {
    if (n > space()) n = space();
    reserve(size_ + n);
    if (n > room()) n = room();
    if (n == 0) return 0;
    const uint32_t tail = (head_ + size_) % cap_;
    const uint32_t first = n < cap_ - tail ? n : cap_ - tail;
    memcpy(mem_ + tail, data, first);
    memcpy(mem_, data + first, n - first);
    size_ += n;
    return n;
  }
  // Out-of-order data: writes up to n bytes `offset` bytes past the tail without making them
  // readable (offset + n stays within space()); returns how many were written. commit() later
  // makes bytes past the tail readable, once what lies before them is in.
  uint32_t write_at(uint32_t offset, const uint8_t* data, uint32_t n) {
    if (offset >= space()) return 0;
    if (n > space() - offset) n = space() - offset;
    reserve(size_ + offset + n);
    if (offset >= room()) return 0;
    if (n > room() - offset) n = room() - offset;
    const uint32_t at = (head_ + size_ + offset) % cap_;
    const uint32_t first = n < cap_ - at ? n : cap_ - at;
    memcpy(mem_ + at, data, first);
    memcpy(mem_, data + first, n - first);
    return n;
  }
  void commit(uint32_t n) { size_ += n < room() ? n : room(); }
  // Copies up to n bytes starting `offset` bytes after the head, without consuming them.
  uint32_t copy_out(uint32_t offset, uint8_t* out, uint32_t n) const {
    if (offset >= size_) return 0;
    if (n > size_ - offset) n = size_ - offset;
    const uint32_t start = (head_ + offset) % cap_;
    const uint32_t first = n < cap_ - start ? n : cap_ - start;
    memcpy(out, mem_ + start, first);
    memcpy(out + first, mem_, n - first);
    return n;
  }
  // The n bytes starting `offset` bytes after the head as one pointer into the ring (valid until
  // the ring is next changed), or nullptr when they wrap around its end or are not all there.
  const uint8_t* contiguous(uint32_t offset, uint32_t n) const {
    if (n == 0 || offset >= size_ || n > size_ - offset) return nullptr;
    const uint32_t start = (head_ + offset) % cap_;
    return n <= cap_ - start ? mem_ + start : nullptr;
  }
  void consume(uint32_t n) {
    if (n > size_) n = size_;
    if (cap_ != 0) head_ = (head_ + n) % cap_;
    size_ -= n;
  }
  uint32_t read(uint8_t* out, uint32_t n) {
    n = copy_out(0, out, n);
    consume(n);
    return n;
  }
  // Gives the memory back when nothing is held. The caller knows there is no out-of-order data
  // past the tail (it would be lost).
  void release_if_empty() {
    if (size_ == 0) free_memory();
  }
  // Forgets the contents and gives the memory back; nothing more may be written (limit 0).
  void drop() {
    free_memory();
    size_ = 0;
    limit_ = 0;
  }

 private:
  void free_memory() {
    if (cap_ != 0) pool_->release(pool_->ctx, mem_, cap_);
    mem_ = nullptr;
    cap_ = 0;
    head_ = 0;
  }

  BufferPool* pool_ = nullptr;
  uint8_t* mem_ = nullptr;
  uint32_t cap_ = 0;
  uint32_t limit_ = 0;
  uint32_t head_ = 0;
  uint32_t size_ = 0;
};

}  // namespace net::tcp
