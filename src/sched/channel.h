// A message channel between two cores (toro-spec §2.15, VirtIOBus): one single-producer/
// single-consumer ring of 64-byte slots per ordered pair of cores. A message of any size up
// to kMaxMessage is cut into fragments of kFragment bytes, one per slot; the first slot
// carries the message's total length, so the receiver learns it (Toro's version did not, and
// dropped messages over 1020 bytes silently). A message longer than the ring is streamed: the
// sender waits (its `wait` callback: yield or halt) while the receiver drains.
//
//   sched::Channel<64> ch;                        // sender: core A; receiver: core B
//   ch.send(buf, len, [] { yield(); });           // A; ChannelError::kTooLarge past the limit
//   auto r = ch.poll(out, sizeof out, wait);      // B; kEmpty when nothing is waiting
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sched {

enum class ChannelError : uint8_t { kOk, kEmpty, kTooLarge, kBufferTooSmall, kBadCore, kSelf };

struct ChannelRecv {
  ChannelError error;
  size_t length;  // the message's length (also when kBufferTooSmall: the size it needs)
};

template <size_t N>
class Channel {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  static constexpr size_t kFragment = 56;
  static constexpr size_t kMaxMessage = size_t{1} << 20;

  // Producer only. Blocks (calling wait) while the ring is full.
  template <typename Wait>
  ChannelError send(const void* data, size_t len, Wait&& wait) {
    if (len > kMaxMessage) return ChannelError::kTooLarge;
    const auto* src = static_cast<const uint8_t*>(data);
    size_t off = 0;
    do {
      const size_t tail = tail_.load(std::memory_order_relaxed);
      // acquire: the consumer finished reading the slot we reuse before it released head_.
      while (tail - head_.load(std::memory_order_acquire) == N) wait();
      Slot& s = slots_[tail % N];
      const size_t n = len - off < kFragment ? len - off : kFragment;
      s.total = static_cast<uint32_t>(len);
      s.size = static_cast<uint32_t>(n);
      if (n) memcpy(s.bytes, src + off, n);
      off += n;
      // release: the slot's bytes are visible before the consumer sees the new tail.
      tail_.store(tail + 1, std::memory_order_release);
    } while (off < len);
    return ChannelError::kOk;
  }

  // Consumer only. kEmpty when no message has started; otherwise the whole message is copied
  // (waiting for fragments still on their way). kBufferTooSmall leaves the message queued.
  template <typename Wait>
  ChannelRecv poll(void* out, size_t cap, Wait&& wait) {
    size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return {ChannelError::kEmpty, 0};  // pairs with send
    const size_t total = slots_[head % N].total;
    if (total > cap) return {ChannelError::kBufferTooSmall, total};
    auto* dst = static_cast<uint8_t*>(out);
    size_t off = 0;
    do {
      // acquire: pairs with the producer's release of tail_ for this fragment.
      while (head == tail_.load(std::memory_order_acquire)) wait();
      const Slot& s = slots_[head % N];
      if (s.size) memcpy(dst + off, s.bytes, s.size);
      off += s.size;
      ++head;
      // release: our read of the slot happened before the producer may reuse it.
      head_.store(head, std::memory_order_release);
    } while (off < total);
    return {ChannelError::kOk, total};
  }

  bool empty() const { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }
  // Producer side: no free slot (send would wait).
  bool full() const { return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire) == N; }

 private:
  struct Slot {
    uint32_t total;
    uint32_t size;
    uint8_t bytes[kFragment];
  };
  static_assert(sizeof(Slot) == 64);

  alignas(64) std::atomic<size_t> head_{0};  // consumer's line
  alignas(64) std::atomic<size_t> tail_{0};  // producer's line
  alignas(64) Slot slots_[N];
};

// The channels of all ordered pairs of `cores` cores: `table` holds cores*cores pointers,
// table[from * cores + to] (the diagonal unused), filled by the caller, which places each
// channel in the receiver's memory. Checks the core numbers Toro did not check.
template <size_t N>
class ChannelBus {
 public:
  ChannelBus(size_t cores, Channel<N>** table) : cores_(cores), table_(table) {}

  template <typename Wait>
  ChannelError send(size_t from, size_t to, const void* data, size_t len, Wait&& wait) {
    Channel<N>* ch = nullptr;
    if (ChannelError e = find(from, to, ch); e != ChannelError::kOk) return e;
    return ch->send(data, len, wait);
  }

  template <typename Wait>
  ChannelRecv poll(size_t from, size_t to, void* out, size_t cap, Wait&& wait) {
    Channel<N>* ch = nullptr;
    if (ChannelError e = find(from, to, ch); e != ChannelError::kOk) return {e, 0};
    return ch->poll(out, cap, wait);
  }

 private:
  ChannelError find(size_t from, size_t to, Channel<N>*& ch) const {
    if (from >= cores_ || to >= cores_) return ChannelError::kBadCore;
    if (from == to) return ChannelError::kSelf;
    ch = table_[from * cores_ + to];
    return ChannelError::kOk;
  }

  size_t cores_;
  Channel<N>** table_;
};

}  // namespace sched
