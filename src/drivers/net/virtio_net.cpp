#include <drivers/device.h>
#include <drivers/net/virtio_net.h>
#include <drivers/virtio/bus.h>

#include <cstring>

namespace drivers {

using namespace virtio_net;

namespace {
uint64_t phys(const void* p) { return reinterpret_cast<uintptr_t>(p); }  // identity mapped
}  // namespace

klib::Status VirtioNet::setup_queue(uint16_t index, Virtqueue& q, uint8_t** buffers, const DmaAllocator& dma) {
  const uint16_t size = t_->queue_size(index);
  if (size == 0 || (size & (size - 1)) != 0) return klib::Error::kDeviceFailed;
  void* memory = dma.alloc(Virtqueue::bytes(size), 4096, dma.ctx);
  *buffers = static_cast<uint8_t*>(dma.alloc(size_t(size) * kBuffer, 4096, dma.ctx));
  if (memory == nullptr || *buffers == nullptr) return klib::Error::kNoMemory;
  q.init(memory, size);
  if (!t_->set_queue(index, size, phys(memory))) return klib::Error::kDeviceFailed;
  return {};
}

klib::Status VirtioNet::init(VirtioTransport& transport, const DmaAllocator& dma, uint16_t backlog) {
  t_ = &transport;
  klib::Status status = virtio::negotiate(transport, kFeatureMac | kFeatureStatus, &features_);
  header_ = transport.modern() ? kModernHeader : kLegacyHeader;
  const uint8_t base_status = virtio::negotiated_status(transport);
  if (status) status = setup_queue(0, rx_, &rx_buffers_, dma);
  if (status) status = setup_queue(1, tx_, &tx_buffers_, dma);
  // Sent frames are reclaimed by send() and poll() (post_backlog): no transmit interrupts.
  if (status) tx_.suppress_interrupts();
  if (status) {
    // As many frames may wait as the ring holds, up to `backlog` (each buffer: the length, then
    // the frame). Under ab -c 1000 on two cores at most about 100 waited.
    backlog_size_ = tx_.size() < backlog ? tx_.size() : backlog;
    if (backlog_size_ == 0) backlog_size_ = 1;
    backlog_ = static_cast<uint8_t*>(dma.alloc(size_t(backlog_size_) * kBuffer, 64, dma.ctx));
    if (backlog_ == nullptr) status = klib::Error::kNoMemory;
  }
  if (!status) {
    transport.set_status(virtio::kFailed);
    return status;
  }
  // Every receive descriptor gets its buffer (indexed by descriptor id).
  for (uint16_t i = 0; i < rx_.size(); ++i) rx_.add(phys(rx_buffers_ + size_t(i) * kBuffer), kBuffer, true);
  rx_.publish();
  transport.set_status(base_status | virtio::kDriverOk);
  transport.notify(0);
  if (features_ & kFeatureMac) {
    for (uint32_t i = 0; i < 6; ++i) mac_.b[i] = transport.config8(i);
  } else {
    mac_ = MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x57}};  // locally administered default
  }
  return {};
}

bool VirtioNet::route_msix(uint16_t entry) {
  // Both queues: receive, and transmit for the rare wait on a full ring (its interrupts are
  // otherwise suppressed).
  if (t_->use_msix(true) && t_->set_queue_vector(0, entry) && t_->set_queue_vector(1, entry)) return true;
  t_->use_msix(false);
  return false;
}

bool VirtioNet::link_up() {
  if (!(features_ & kFeatureStatus)) return true;
  return t_->config8(6) & 1;  // VIRTIO_NET_S_LINK_UP
}

bool VirtioNet::post(const void* frame, size_t length) {
  const uint16_t id = tx_.add(0, 0, false);
  if (id == Virtqueue::kNoDesc) return false;
  uint8_t* buffer = tx_buffers_ + size_t(id) * kBuffer;
  memset(buffer, 0, header_);  // no checksum offload, no segmentation
  memcpy(buffer + header_, frame, length);
  tx_.descriptors()[id].address = phys(buffer);
  tx_.descriptors()[id].length = uint32_t(header_ + length);
  ++counters_.tx_frames;
  return true;
}

void VirtioNet::kick() {
  tx_.publish();
  if (tx_.device_wants_notify()) t_->notify(1);
}

void VirtioNet::ring() {
  if (holds_ != 0) {
    unrung_ = true;
  } else {
    kick();
  }
}

void VirtioNet::hold(bool on) {
  if (on) {
    ++holds_;
    return;
  }
  if (holds_ == 0 || --holds_ != 0) return;
  // Descriptors the device gave back meanwhile take the frames that wait (a full ring kicked
  // during the hold may have left some).
  if (backlog_count_ != 0 && post_backlog() != 0) unrung_ = true;
  if (!unrung_) return;
  unrung_ = false;
  kick();
}

size_t VirtioNet::post_backlog() {
  uint16_t done;
  uint32_t ignored;
  while (tx_.pop_used(&done, &ignored)) {
  }  // reclaim what the device sent
  size_t posted = 0;
  while (backlog_count_ != 0) {
    const uint8_t* slot = backlog_ + size_t(backlog_head_) * kBuffer;
    uint16_t length;
    memcpy(&length, slot, 2);
    if (!post(slot + 2, length)) break;
    backlog_head_ = uint16_t((backlog_head_ + 1) % backlog_size_);
    --backlog_count_;
    ++posted;
  }
  return posted;
}

bool VirtioNet::send(const void* frame, size_t length) {
  if (length == 0 || length + header_ > kBuffer) return false;
  // Behind the frames already waiting, if any: the order on the wire stays the order of send().
  size_t posted = post_backlog();
  const bool sent = backlog_count_ == 0 && post(frame, length);
  if (posted + sent != 0) ring();
  if (sent) return true;
  if (backlog_count_ == backlog_size_) {
    ++counters_.tx_full;
    if (unrung_) kick();  // held or not: the device must take some before there is room
    unrung_ = false;
    return false;
  }
  uint8_t* slot = backlog_ + size_t((backlog_head_ + backlog_count_) % backlog_size_) * kBuffer;
  const uint16_t n = uint16_t(length);
  memcpy(slot, &n, 2);
  memcpy(slot + 2, frame, length);  // length + 2 <= kBuffer: the header is longer than 2 bytes
  ++backlog_count_;
  return true;
}

size_t VirtioNet::poll(FrameHandler handler, void* ctx, size_t budget) {
  if (backlog_count_ != 0) {  // receive waits until the frames waiting to be sent are out (see the header)
    if (post_backlog() != 0) ring();
    if (backlog_count_ != 0) return 0;
  }
  size_t frames = 0, recycled = 0;
  uint16_t id;
  uint32_t length;
  while (frames < budget && rx_.pop_used(&id, &length)) {
    ++recycled;
    const uint8_t* data = rx_buffers_ + size_t(id) * kBuffer;
    if (length > header_ && length <= kBuffer) {
      handler(ctx, data + header_, length - header_);  // in the DMA buffer itself
      ++counters_.rx_frames;
      ++frames;
    } else {
      ++counters_.rx_dropped;
    }
    rx_.add(phys(rx_buffers_ + size_t(id) * kBuffer), kBuffer, true);  // the buffer goes back
  }
  if (recycled != 0) {
    rx_.publish();
    if (rx_.device_wants_notify()) t_->notify(0);
  }
  return frames;
}

size_t VirtioNet::receive(void* buffer, size_t capacity) {
  uint16_t id;
  uint32_t length;
  while (rx_.pop_used(&id, &length)) {
    const uint8_t* data = rx_buffers_ + size_t(id) * kBuffer;
    size_t frame = length > header_ ? length - header_ : 0;
    if (frame == 0 || frame > capacity || length > kBuffer) {
      ++counters_.rx_dropped;
      frame = 0;
    } else {
      memcpy(buffer, data + header_, frame);
      ++counters_.rx_frames;
    }
    // The buffer goes straight back (add() reuses the descriptor just freed).
    rx_.add(phys(rx_buffers_ + size_t(id) * kBuffer), kBuffer, true);
    rx_.publish();
    t_->notify(0);
    if (frame != 0) return frame;
  }
  return 0;
}

namespace {

klib::Result<Nic*> start(Device& d, const StartContext& c) {
  klib::Result<VirtioTransport*> transport = virtio::make_transport(d, c);
  if (!transport) return transport.error();
  auto* nic = c.make<VirtioNet>();
  if (nic == nullptr) return klib::Error::kNoMemory;
  // Frames waiting for a transmit descriptor (2 KiB each): a ring's worth from 32 MiB, else 32.
  const uint16_t backlog = c.core_memory >= (32u << 20) ? kBacklog : 32;
  if (const klib::Status s = nic->init(*transport.value(), c.memory, backlog); !s) return s.error();
  return static_cast<Nic*>(nic);
}

}  // namespace

// virtio device type 1 on any transport (legacy or modern PCI, virtio-mmio).
TORO_DRIVER(virtio_net) = {
    .name = "virtionet",
    .label = "VirtIONet",
    .device_class = DeviceClass::kNetwork,
    .virtio_type = 1,
};
TORO_DRIVER_START(virtio_net, start)

}  // namespace drivers
