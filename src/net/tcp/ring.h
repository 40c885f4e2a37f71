// A byte ring over memory the owner provides: a TCP connection's send and receive buffers.
//
//   net::tcp::Ring r;  r.init(memory, 65536);
//   r.write(data, n);  r.copy_out(offset, out, m);  r.consume(k);  r.read(out, m);
#pragma once

#include <cstdint>
#include <cstring>

namespace net::tcp {

class Ring {
 public:
  void init(uint8_t* memory, uint32_t capacity) {
    mem_ = memory;
    cap_ = capacity;
    head_ = size_ = 0;
  }
  uint32_t capacity() const { return cap_; }
  uint32_t size() const { return size_; }
  uint32_t space() const { return cap_ - size_; }

  // Appends up to n bytes; returns how many fit.
  uint32_t write(const uint8_t* data, uint32_t n) {
    if (n > space()) n = space();
    const uint32_t tail = (head_ + size_) % (cap_ == 0 ? 1 : cap_);
    const uint32_t first = n < cap_ - tail ? n : cap_ - tail;
    memcpy(mem_ + tail, data, first);
    memcpy(mem_, data + first, n - first);
    size_ += n;
    return n;
  }
  // Out-of-order data: writes up to n bytes `offset` bytes past the tail without making them
  // readable (they must not overwrite unread bytes: offset + n <= space()); returns how many
  // fit. commit() later makes bytes past the tail readable, once what lies before them is in.
  uint32_t write_at(uint32_t offset, const uint8_t* data, uint32_t n) {
    if (offset >= space()) return 0;
    if (n > space() - offset) n = space() - offset;
    const uint32_t at = (head_ + size_ + offset) % cap_;
    const uint32_t first = n < cap_ - at ? n : cap_ - at;
    memcpy(mem_ + at, data, first);
    memcpy(mem_, data + first, n - first);
    return n;
  }
  void commit(uint32_t n) { size_ += n < space() ? n : space(); }
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

 private:
  uint8_t* mem_ = nullptr;
  uint32_t cap_ = 0;
  uint32_t head_ = 0;
  uint32_t size_ = 0;
};

}  // namespace net::tcp
