#include <drivers/block/virtio_blk.h>
#include <drivers/device.h>
#include <drivers/virtio/bus.h>

#include <cstring>

namespace drivers {

using namespace virtio_blk;

namespace {

uint64_t phys(const void* p) { return reinterpret_cast<uintptr_t>(p); }  // identity mapped

// A little-endian field of the device configuration (§5.2.4), byte by byte: config8 is what
// every transport offers (the legacy ones have no wider atomic access anyway).
uint64_t config_le(VirtioTransport& t, uint32_t offset, uint32_t bytes) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < bytes; ++i) v |= uint64_t(t.config8(offset + i)) << (8 * i);
  return v;
}

klib::Error from_status(uint8_t status) {
  if (status == kStatusOk) return klib::Error::kNone;
  return status == kStatusUnsupported ? klib::Error::kNotSupported : klib::Error::kIoError;
}

}  // namespace

klib::Status VirtioBlk::init(VirtioTransport& transport, const DmaAllocator& dma) {
  t_ = &transport;
  klib::Status status =
      virtio::negotiate(transport, kFeatureSizeMax | kFeatureSegMax | kFeatureReadOnly | kFeatureFlush, &features_);
  const uint8_t base_status = virtio::negotiated_status(transport);
  const uint16_t size = status ? transport.queue_size(0) : 0;
  if (status && (size < 4 || (size & (size - 1)) != 0)) status = klib::Error::kDeviceFailed;
  void* ring = nullptr;
  if (status) {
    ring = dma.alloc(Virtqueue::bytes(size), 4096, dma.ctx);
    slots_ = static_cast<Slot*>(dma.alloc(sizeof(Slot) * size, 64, dma.ctx));
    if (ring == nullptr || slots_ == nullptr) status = klib::Error::kNoMemory;
  }
  if (status) {
    q_.init(ring, size);
    memset(slots_, 0, sizeof(Slot) * size);
    if (!transport.set_queue(0, size, phys(ring))) status = klib::Error::kDeviceFailed;
  }
  if (!status) {
    transport.set_status(virtio::kFailed);
    return status;
  }
  capacity_ = config_le(transport, 0, 8);
  // How much one request may carry: seg_max data segments (the header and status descriptors
  // are not counted, §5.2.4) of at most size_max bytes each, within the ring and our limits.
  uint32_t max_segments = size - 2;
  if (max_segments > kMaxSegments) max_segments = kMaxSegments;
  if (features_ & kFeatureSegMax) {
    const uint32_t seg_max = uint32_t(config_le(transport, 12, 4));
    if (seg_max != 0 && seg_max < max_segments) max_segments = seg_max;
  }
  uint64_t max_bytes = uint64_t(kMaxRequestSectors) * 512;
  if (features_ & kFeatureSizeMax) {
    segment_bytes_ = uint32_t(config_le(transport, 8, 4));
    if (segment_bytes_ != 0 && uint64_t(segment_bytes_) * max_segments < max_bytes) {
      max_bytes = uint64_t(segment_bytes_) * max_segments;
    }
  } else if (max_segments == 0) {
    max_segments = 1;  // a data buffer without a size limit is one segment
  }
  max_sectors_ = uint32_t(max_bytes / 512);
  if (max_sectors_ == 0) max_sectors_ = 1;
  transport.set_status(base_status | virtio::kDriverOk);
  return {};
}

uint32_t VirtioBlk::segments(const BlockRequest& r) const {
  if (r.op == BlockOp::kFlush) return 0;
  const uint64_t bytes = uint64_t(r.count) * 512;
  if (segment_bytes_ == 0) return 1;
  return uint32_t((bytes + segment_bytes_ - 1) / segment_bytes_);
}

bool VirtioBlk::start(BlockRequest& r) {
  const uint32_t n = 2 + segments(r);
  const uint16_t head = q_.next_free();
  if (head == Virtqueue::kNoDesc || q_.free_descriptors() < n) return false;
  Slot& slot = slots_[head];
  slot.header = {r.op == BlockOp::kRead    ? kTypeIn
                 : r.op == BlockOp::kWrite ? kTypeOut
                                           : kTypeFlush,
                 0, r.op == BlockOp::kFlush ? 0 : r.lba};
  slot.request = &r;
  slot.status = 0xFF;  // a device that returns the chain without writing the status: an error
  Virtqueue::Buffer chain[2 + kMaxSegments];
  chain[0] = {phys(&slot.header), sizeof(Header), false};
  uint64_t address = phys(r.buffer);
  uint64_t left = uint64_t(r.count) * 512;
  for (uint32_t i = 1; i + 1 < n; ++i) {
    const uint64_t length = segment_bytes_ != 0 && left > segment_bytes_ ? segment_bytes_ : left;
    chain[i] = {address, uint32_t(length), r.op == BlockOp::kRead};  // the device writes what it reads
    address += length;
    left -= length;
  }
  chain[n - 1] = {phys(&slot.status), 1, true};
  (void)q_.add_chain(chain, uint16_t(n));
  ++in_flight_;
  return true;
}

void VirtioBlk::append(BlockRequest*& head, BlockRequest*& tail, BlockRequest& r) {
  r.next = nullptr;
  if (tail == nullptr) {
    head = &r;
  } else {
    tail->next = &r;
  }
  tail = &r;
}

klib::Status VirtioBlk::submit(BlockRequest& r) {
  if (r.op == BlockOp::kWrite && read_only()) return klib::Error::kReadOnly;
  if (r.op != BlockOp::kFlush && (r.count == 0 || r.count > max_sectors_ || r.buffer == nullptr || r.lba > capacity_ ||
                                  capacity_ - r.lba < r.count)) {
    return klib::Error::kInvalidArgument;
  }
  if (r.op == BlockOp::kFlush && !(features_ & kFeatureFlush)) {
    // No FLUSH feature: the device has no volatile write cache to flush (§5.2.5; a legacy
    // device without it writes through). Done at once; complete() hands it over.
    r.error = klib::Error::kNone;
    append(finished_head_, finished_tail_, r);
    return {};
  }
  // Behind the requests already waiting: the device gets them in submission order.
  if (waiting_head_ == nullptr && start(r)) {
    q_.publish();
    if (q_.device_wants_notify()) t_->notify(0);
    return {};
  }
  append(waiting_head_, waiting_tail_, r);
  ++waiting_count_;
  return {};
}

void VirtioBlk::count(const BlockRequest& r) {
  if (r.error != klib::Error::kNone) ++counters_.errors;
  if (r.op == BlockOp::kRead) {
    ++counters_.reads;
    if (r.error == klib::Error::kNone) counters_.sectors_read += r.count;
  } else if (r.op == BlockOp::kWrite) {
    ++counters_.writes;
    if (r.error == klib::Error::kNone) counters_.sectors_written += r.count;
  } else {
    ++counters_.flushes;
  }
}

size_t VirtioBlk::complete(DoneFn done, void* ctx) {
  // Acknowledge first: a completion after this read raises the interrupt again, so nothing the
  // loop below misses goes unannounced.
  t_->ack_interrupt();
  size_t finished = 0;
  while (finished_head_ != nullptr) {
    BlockRequest& r = *finished_head_;
    finished_head_ = r.next;
    if (finished_head_ == nullptr) finished_tail_ = nullptr;
    count(r);
    done(r, ctx);
    ++finished;
  }
  uint16_t head;
  uint32_t ignored;
  while (q_.pop_used(&head, &ignored)) {
    Slot& slot = slots_[head];
    BlockRequest* r = slot.request;
    if (r == nullptr) continue;  // a confused device returned a chain twice
    slot.request = nullptr;
    --in_flight_;
    r->error = from_status(slot.status);
    count(*r);
    done(*r, ctx);
    ++finished;
  }
  // The freed descriptors take the requests that waited for them, in order.
  bool started = false;
  while (waiting_head_ != nullptr && start(*waiting_head_)) {
    waiting_head_ = waiting_head_->next;
    if (waiting_head_ == nullptr) waiting_tail_ = nullptr;
    --waiting_count_;
    started = true;
  }
  if (started) {
    q_.publish();
    if (q_.device_wants_notify()) t_->notify(0);
  }
  if (finished != 0) ++counters_.interrupts;
  return finished;
}

namespace {

klib::Result<BlockDevice*> start(Device& d, const StartContext& c) {
  klib::Result<VirtioTransport*> transport = virtio::make_transport(d, c);
  if (!transport) return transport.error();
  auto* disk = c.make<VirtioBlk>();
  if (disk == nullptr) return klib::Error::kNoMemory;
  if (const klib::Status s = disk->init(*transport.value(), c.memory); !s) return s.error();
  return static_cast<BlockDevice*>(disk);
}

}  // namespace

// virtio device type 2 on any transport (legacy or modern PCI, virtio-mmio).
TORO_DRIVER(virtio_blk) = {
    .name = "virtioblk",
    .label = "VirtIOBlk",
    .device_class = DeviceClass::kBlock,
    .virtio_type = 2,
};
TORO_DRIVER_START(virtio_blk, start)

}  // namespace drivers
