// A single-producer/single-consumer ring: one per ordered pair of cores, carrying requests
// such as "create this thread on your core" (toro-spec §2.7, without its ordering bug).
//
//   sched::Mailbox<Request*, 64> box;      // producer: core A; consumer: core B
//   box.push(r);                           // A; false when full
//   while (auto r = box.pop()) handle(*r); // B
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sched {

template <typename T, size_t N>
class Mailbox {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  // Producer only.
  bool push(const T& value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    // acquire: the consumer's read of the slot we are about to reuse happened before its
    // release of head_.
    if (tail - head_.load(std::memory_order_acquire) == N) return false;
    slots_[tail % N] = value;
    // release: the slot's contents are visible before the consumer sees the new tail.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. The value is copied out before the slot is released, so the producer may
  // overwrite it at once (the bug of Toro's version: it read the message after releasing it).
  std::optional<T> pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return std::nullopt;  // pairs with push
    T value = slots_[head % N];
    head_.store(head + 1, std::memory_order_release);
    return value;
  }

  bool empty() const { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }

 private:
  alignas(64) std::atomic<size_t> head_{0};  // consumer's line
  alignas(64) std::atomic<size_t> tail_{0};  // producer's line
  T slots_[N];
};

}  // namespace sched
