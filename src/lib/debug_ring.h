// One core's debug ring (toro-spec §1.7): WriteDebug appends on the owning core without a lock,
// and any core may drain it to the debug device (at exit, or DumpDebugRing).
//
//   klib::DebugRing ring;            // constant-initialised, no buffer yet
//   ring.attach(buffer, 4096);       // the buffer: at least kMinSize bytes
//   ring.put('x');                   // owner core only, interrupts off
//   ring.drain(sink);                // any core, one drainer at a time (the caller's lock)
//
// Overflow: the ring keeps the newest bytes; the older ones are overwritten. drain() prints what
// is left, starting with the first whole line: the rest of a line whose start was overwritten is
// dropped too, and a line "[DebugRing: N bytes lost]" stands in for all of it.
#pragma once

#include <lib/format.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace klib {

class DebugRing {
 public:
  static constexpr size_t kMinSize = 64;
  // drain() checks a line at a time up to this many bytes. A line still being written when a
  // drain ends, or longer than this, may be cut if the rest is overwritten before the next drain:
  // the marker line then follows the cut line.
  static constexpr size_t kDrainChunk = 160;

  // The ring's buffer (nullptr: none; puts then count as lost). Not concurrent with drain();
  // what the ring held is dropped (move it first with drain into a sink that puts into the new
  // ring, as SetDebugRing does).
  void attach(char* base, size_t size);
  // Moves to a new buffer, keeping what was not drained yet (the newest that fits; losses become
  // a marker line). False, and no change, for a null or too small buffer. Not concurrent with
  // drain() nor put().
  bool move_to(char* base, size_t size);
  char* base() const { return base_; }
  size_t size() const { return size_; }

  // Owner core only.
  void put(char c);
  void put_string(const char* s);

  // Writes what has not been drained yet to `sink`, oldest first; returns the bytes written.
  size_t drain(const Sink& sink);

  // Bytes written since attach (for tests and the lost count).
  uint64_t written() const { return head_.load(std::memory_order_relaxed); }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
  // Absolute positions (never wrap in practice: 2^64 bytes). head_: bytes complete; claim_: bytes
  // the owner has started to write (head_ <= claim_ <= head_ + 1). Only the owner stores them.
  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> claim_{0};
  // Bytes put while there was no buffer (owner stores, drainer reads).
  std::atomic<uint64_t> unbuffered_{0};
  // Drainer-only: the next position to drain, and the unbuffered count already reported.
  uint64_t tail_ = 0;
  uint64_t unbuffered_reported_ = 0;
  bool mid_line_ = false;  // the last byte drained was not a line's end
  bool skipping_ = false;  // the last drain ended inside a line whose start was lost
};

}  // namespace klib
