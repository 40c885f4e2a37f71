// The frames a core's stack does not consume, kept for a program that reads Ethernet frames
// itself (toro-spec §1.10 SysNetworkRead; src/api/network_raw.cpp): a bounded FIFO of the
// program's packets. Past kCapacity a new frame is dropped and counted, so a program that
// stops reading costs at most kCapacity frames of memory. One core only (the packet thread
// fills it, the core's threads empty it; the scheduler is cooperative): no locks.
//
//   net::RawQueue<TPacket> q;
//   if (!q.push(p)) release(p);     // full: the caller keeps (and frees) p
//   if (TPacket* p = q.pop()) ...   // oldest first; nullptr when empty
#pragma once

#include <cstddef>
#include <cstdint>

namespace net {

template <typename T>
class RawQueue {
 public:
  static constexpr size_t kCapacity = 64;

  // False (and one more drop counted) when kCapacity items are waiting.
  bool push(T* item) {
    if (count_ == kCapacity) {
      ++dropped_;
      return false;
    }
    items_[(head_ + count_) % kCapacity] = item;
    ++count_;
    return true;
  }
  T* pop() {
    if (count_ == 0) return nullptr;
    T* item = items_[head_];
    head_ = (head_ + 1) % kCapacity;
    --count_;
    return item;
  }
  size_t size() const { return count_; }
  uint64_t dropped() const { return dropped_; }
  // A frame lost before it reached the queue (no memory for its copy).
  void count_drop() { ++dropped_; }

 private:
  T* items_[kCapacity] = {};
  size_t head_ = 0, count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace net
