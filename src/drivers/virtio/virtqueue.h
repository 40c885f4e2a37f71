// A split virtqueue (Virtual I/O Device spec 1.2 §2.7) in the legacy layout (§2.7, "Legacy
// Interfaces: A Note on Virtqueue Layout"): descriptor table, available ring, then the used ring
// on the next 4096-byte boundary, in one physically contiguous block. Portable: the tests run it
// against a simulated device.
//
//   drivers::Virtqueue q;
//   q.init(memory, 256);                        // memory: Virtqueue::bytes(256), 4096-aligned
//   uint16_t id = q.add(buf_phys, len, true);   // device-writable buffer
//   q.publish(); transport.notify(0);
//   uint32_t got; if (q.pop_used(&id, &got)) ...
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace drivers {

class Virtqueue {
 public:
  struct [[gnu::packed]] Desc {
    uint64_t address;
    uint32_t length;
    uint16_t flags;  // 1 NEXT, 2 WRITE (device writes the buffer)
    uint16_t next;
  };
  static constexpr uint16_t kNext = 1, kWrite = 2;
  static constexpr uint16_t kNoDesc = 0xFFFF;

  static size_t bytes(uint16_t size) {
    const size_t head = 16u * size + 6 + 2u * size;
    return ((head + 4095) & ~size_t(4095)) + ((6 + 8u * size + 4095) & ~size_t(4095));
  }

  // `memory` is zeroed here; size is a power of two (the device's queue size).
  void init(void* memory, uint16_t size);
  uint16_t size() const { return size_; }
  uint16_t free_descriptors() const { return free_count_; }
  // The id the next add() or add_chain() returns (kNoDesc when none is free): a driver that
  // keeps per-request state indexed by the head can place it before the chain is made.
  uint16_t next_free() const { return free_count_ == 0 ? kNoDesc : free_head_; }

  // One buffer in one descriptor; returns its id, or kNoDesc if every descriptor is in use.
  // Visible to the device only after publish().
  uint16_t add(uint64_t address, uint32_t length, bool device_writes);
  // A chain of `n` descriptors (one request: virtio-blk's header, data, status), linked by NEXT
  // and made available as one entry; the head's id, or kNoDesc (nothing taken) if fewer than n
  // descriptors are free. pop_used() returns the head and frees the whole chain.
  struct Buffer {
    uint64_t address;
    uint32_t length;
    bool device_writes;
  };
  uint16_t add_chain(const Buffer* buffers, uint16_t n);
  // Makes the buffers added since the last publish visible (the ring index is written after
  // the entries: release ordering).
  void publish();
  // After publish(): whether the device asks to be notified. It sets VIRTQ_USED_F_NO_NOTIFY
  // (§2.7.10) while it is processing the queue anyway (QEMU: while it has buffers to fill, or
  // its transmit handler runs), and a notification then is an I/O exit for nothing.
  bool device_wants_notify() const { return (reinterpret_cast<const volatile uint16_t*>(used_)[0] & 1) == 0; }
  // Asks the device not to interrupt when it returns buffers of this queue
  // (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.7.7: a hint the device may ignore; without
  // VIRTIO_F_EVENT_IDX, QEMU honours it). For a queue the driver reclaims by polling, such as
  // virtio-net's transmit queue, whose interrupts would each be an exit for nothing.
  void suppress_interrupts() { reinterpret_cast<volatile uint16_t*>(avail_)[0] = 1; }
  bool interrupts_suppressed() const { return avail_[0] & 1; }
  // Interrupts again, and whether the device returned buffers meanwhile (while they were off):
  // the flag is written before the used index is read (a full fence: a store, then a load),
  // the device writes the index before it reads the flag (§2.7.7.2), so either the caller sees
  // the new buffers or the device sees the flag clear and interrupts.
  bool allow_interrupts() {
    reinterpret_cast<volatile uint16_t*>(avail_)[0] = 0;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return reinterpret_cast<const volatile uint16_t*>(used_)[1] != last_used_;
  }
  // The next buffer the device is done with: its id and the bytes it wrote; the descriptor (or
  // the chain it heads) is free again. False when the device has not returned anything new.
  bool pop_used(uint16_t* id, uint32_t* length);

  Desc* descriptors() { return desc_; }
  uint16_t* avail_ring() { return avail_ + 2; }
  uint16_t avail_index() const { return avail_[1]; }
  // For a simulated device (tests): where the used ring lives.
  uint8_t* used() { return used_; }

 private:
  Desc* desc_ = nullptr;
  uint16_t* avail_ = nullptr;  // flags, idx, ring[size], used_event
  uint8_t* used_ = nullptr;    // flags u16, idx u16, ring[size] of {id u32, len u32}, avail_event
  uint16_t size_ = 0;
  uint16_t free_head_ = kNoDesc;
  uint16_t free_count_ = 0;
  uint16_t avail_shadow_ = 0;  // our next avail index
  uint16_t last_used_ = 0;
};

}  // namespace drivers
