// virtio-blk (Virtual I/O Device spec 1.2 §5.2) over any VirtioTransport (the factory in
// virtio/bus.h: legacy PCI 1AF4:1001, modern PCI 1AF4:1042, virtio-mmio): one request queue,
// several requests in flight, each a descriptor chain of header (device-readable), data
// (one or more segments within the device's size_max/seg_max) and status byte
// (device-writable). Toro's name for it: "virtioblk" (the descriptor at the end of the .cpp).
//
// Requests that find too few free descriptors wait in the driver, in order, and go to the
// device as complete() frees descriptors; so submit() never refuses a valid request for want
// of room.
//
//   drivers::VirtioBlk disk;
//   if (disk.init(transport, dma)) disk.submit(request);   // then complete(on_done, ctx) per interrupt
#pragma once

#include <drivers/block/block.h>
#include <drivers/net/nic.h>  // DmaAllocator
#include <drivers/virtio/transport.h>
#include <lib/result.h>

namespace drivers {

namespace virtio_blk {
// Feature bits (§5.2.3).
constexpr uint64_t kFeatureSizeMax = 1u << 1, kFeatureSegMax = 1u << 2, kFeatureReadOnly = 1u << 5,
                   kFeatureFlush = 1u << 9, kFeatureVersion1 = 1ull << 32;
// Request types and status values (§5.2.6).
constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4;
constexpr uint8_t kStatusOk = 0, kStatusIoError = 1, kStatusUnsupported = 2;
// The largest request we make: 128 KiB (fewer sectors when size_max * seg_max is smaller).
constexpr uint32_t kMaxRequestSectors = 256;
// Data segments of one chain at most (a chain's descriptors are listed on the stack).
constexpr uint32_t kMaxSegments = 32;
}  // namespace virtio_blk

class VirtioBlk final : public BlockDevice {
 public:
  // Resets the device, accepts SIZE_MAX, SEG_MAX, RO and FLUSH (and VERSION_1 on a modern
  // transport), sets up queue 0 and reads the capacity. kDeviceFailed (device status FAILED)
  // if the device does not cooperate, kNoMemory if the queue finds no memory.
  [[gnu::cold]] klib::Status init(VirtioTransport& transport, const DmaAllocator& dma);  // once: for size
  uint32_t sector_size() const override { return 512; }  // virtio-blk sectors are 512 bytes (§5.2.6)
  uint64_t sectors() const override { return capacity_; }
  bool read_only() const override { return (features_ & virtio_blk::kFeatureReadOnly) != 0; }
  klib::Status submit(BlockRequest& r) override;
  size_t complete(DoneFn done, void* ctx) override;
  uint32_t max_sectors() const override { return max_sectors_; }
  // `interrupts` counts the complete() calls that finished something.
  Counters counters() const override { return counters_; }
  uint64_t features() const { return features_; }
  // Requests in the ring, and waiting for room in it (tests).
  uint32_t in_flight() const { return in_flight_; }
  uint32_t waiting() const { return waiting_count_; }

 private:
  struct Header {  // struct virtio_blk_req's device-readable part (§5.2.6)
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
  };
  struct Slot {  // one per descriptor, used by the chains' heads; in DMA memory
    Header header;
    BlockRequest* request;
    uint8_t status;
  };
  bool start(BlockRequest& r);  // into the ring; false if too few descriptors are free
  uint32_t segments(const BlockRequest& r) const;
  void append(BlockRequest*& head, BlockRequest*& tail, BlockRequest& r);
  void count(const BlockRequest& r);
  VirtioTransport* t_ = nullptr;
  Virtqueue q_;
  Slot* slots_ = nullptr;
  BlockRequest *waiting_head_ = nullptr, *waiting_tail_ = nullptr;    // no room in the ring yet
  BlockRequest *finished_head_ = nullptr, *finished_tail_ = nullptr;  // done without the device
  uint32_t waiting_count_ = 0, in_flight_ = 0;
  uint64_t capacity_ = 0, features_ = 0;
  uint32_t max_sectors_ = 1;
  uint32_t segment_bytes_ = 0;  // size_max; 0: no limit
  Counters counters_{};
};

}  // namespace drivers
