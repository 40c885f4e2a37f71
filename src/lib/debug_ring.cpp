// The debug ring's lock-free single-writer protocol (see debug_ring.h).
//
// Ordering argument. The owner writes byte p as
//   claim_ = p + 1 (relaxed); base_[p % size] = c (release); head_ = p + 1 (release).
// A drainer reads bytes p.. (each an acquire load), then claim_ (relaxed) once: byte p is valid
// iff p + size >= that claim_.
// The slot of p is next overwritten by the write of position p + size, whose claim_ store
// (p + size + 1) is sequenced before its release store of the slot. If the drainer's acquire load
// read that overwrite, it synchronises with it, so the claim_ store happens before the drainer's
// claim_ load (program-ordered after the byte's), which then sees at least p + size + 1 and drops
// the byte. A byte that passes the check is therefore the one written at p. head_ (release/acquire) tells the drainer
// which positions are complete. (No fences: x86 release stores and acquire loads are plain moves, and ThreadSanitizer,
// which the host test runs under, does not model fences.)
#include <lib/debug_ring.h>

namespace klib {
namespace {

std::atomic_ref<char> slot(char* base, size_t size, uint64_t position) {
  return std::atomic_ref<char>(base[position % size]);
}

void put_lost(const Sink& sink, uint64_t lost) {
  put_string(sink, "[DebugRing: ");
  put_unsigned(sink, lost);
  put_string(sink, " bytes lost]\r\n");
}

}  // namespace

void DebugRing::attach(char* base, size_t size) {
  if (base == nullptr || size < kMinSize) {
    base = nullptr;
    size = 0;
  }
  base_ = base;
  size_ = size;
  head_.store(0, std::memory_order_relaxed);
  claim_.store(0, std::memory_order_relaxed);
  tail_ = 0;
  mid_line_ = false;
  skipping_ = false;
}

bool DebugRing::move_to(char* base, size_t size) {
  if (base == nullptr || size < kMinSize) return false;
  DebugRing fresh;
  fresh.attach(base, size);
  drain({[](void* ring, char c) { static_cast<DebugRing*>(ring)->put(c); }, &fresh, nullptr});
  base_ = base;
  size_ = size;
  head_.store(fresh.head_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  claim_.store(fresh.claim_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  tail_ = 0;  // mid_line_ and skipping_ stay: they describe what the device has seen
  return true;
}

void DebugRing::put(char c) {
  if (base_ == nullptr) {
    unbuffered_.store(unbuffered_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  const uint64_t p = head_.load(std::memory_order_relaxed);  // only this core stores it
  claim_.store(p + 1, std::memory_order_relaxed);
  slot(base_, size_, p).store(c, std::memory_order_release);  // publishes the claim (see top)
  head_.store(p + 1, std::memory_order_release);              // the byte before the new head
}

void DebugRing::put_string(const char* s) {
  while (*s) put(*s++);
}

size_t DebugRing::drain(const Sink& sink) {
  size_t out = 0;
  const uint64_t unbuffered = unbuffered_.load(std::memory_order_relaxed) - unbuffered_reported_;
  unbuffered_reported_ += unbuffered;
  if (unbuffered != 0) put_lost(sink, unbuffered);  // written while there was no buffer
  if (base_ == nullptr) return 0;
  const uint64_t head = head_.load(std::memory_order_acquire);
  uint64_t p = tail_;
  uint64_t lost = 0;
  if (head - p > size_) {  // already overwritten before we start
    lost = head - size_ - p;
    p = head - size_;
  }
  // The rest of a line whose start is gone: lost now, or by the last drain, which ended inside it
  // (its marker is printed; the rest of the line is dropped and counted in a marker of its own).
  bool skipping = skipping_ || lost != 0;
  bool mid_line = mid_line_;  // the last byte sent (by this drain or the last) was not a line's end
  // A line (or a piece of a long one) is read first and checked once: every byte read before the
  // claim_ load that was overwritten lies below claim_ - size_ (see top).
  char chunk[kDrainChunk];
  while (p < head) {
    const uint64_t start = p;
    size_t n = 0;
    while (p < head && n < kDrainChunk) {
      const char c = slot(base_, size_, p++).load(std::memory_order_acquire);
      chunk[n++] = c;
      if (c == '\n') break;
    }
    const uint64_t claim = claim_.load(std::memory_order_relaxed);
    const uint64_t first_valid = claim > size_ ? claim - size_ : 0;
    size_t i = 0;
    if (start < first_valid) {  // the writer overtook us while we read
      i = size_t((first_valid < p ? first_valid : p) - start);
      lost += i;
      skipping = true;
    }
    for (; i < n; ++i) {
      if (skipping) {
        ++lost;
        if (chunk[i] == '\n') {
          skipping = false;
          if (mid_line) klib::put_string(sink, "\r\n");
          mid_line = false;
          put_lost(sink, lost);
          lost = 0;
        }
        continue;
      }
      sink.put(sink.ctx, chunk[i]);
      ++out;
      mid_line = chunk[i] != '\n';
    }
  }
  if (lost != 0) {
    if (mid_line) klib::put_string(sink, "\r\n");
    mid_line = false;  // ended here: the next drain must not end it a second time (an empty line)
    put_lost(sink, lost);
  }
  tail_ = head;
  mid_line_ = mid_line;
  skipping_ = skipping;
  return out;
}

}  // namespace klib
