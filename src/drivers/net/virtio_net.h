// virtio-net (Virtual I/O Device spec 1.2 §5.1) over any VirtioTransport: one receive and one
// transmit queue, the legacy 10-byte header, polled. Toro's name for it: "virtionet".
//
//   drivers::VirtioNet nic;
//   if (nic.init(transport, dma)) nic.send(frame, len);
#pragma once

#include <drivers/net/nic.h>
#include <drivers/virtio/transport.h>

namespace drivers {

namespace virtio_net {
constexpr uint64_t kFeatureMac = 1u << 5, kFeatureStatus = 1u << 16, kFeatureVersion1 = 1ull << 32;
// struct virtio_net_hdr: 10 bytes on legacy devices, 12 (with num_buffers) with VERSION_1.
constexpr size_t kLegacyHeader = 10, kModernHeader = 12;
constexpr size_t kBuffer = 2048;
}  // namespace virtio_net

class VirtioNet final : public Nic {
 public:
  // The device's feature bits are read, MAC and STATUS accepted, the queues set up and the
  // receive queue filled; false (device status FAILED) if the device does not cooperate.
  bool init(VirtioTransport& transport, const DmaAllocator& dma);
  const char* name() const override { return "virtionet"; }
  const MacAddress& mac() const override { return mac_; }
  bool send(const void* frame, size_t length) override;
  size_t receive(void* buffer, size_t capacity) override;
  size_t poll(FrameHandler handler, void* ctx, size_t budget) override;
  bool link_up() override;
  void enable_interrupts() override {}  // the used ring asks for interrupts by default
  void ack_interrupt() override { t_->ack_interrupt(); }
  Counters counters() const override { return counters_; }
  uint64_t features() const { return features_; }

 private:
  bool setup_queue(uint16_t index, Virtqueue& q, uint8_t** buffers, const DmaAllocator& dma);
  VirtioTransport* t_ = nullptr;
  Virtqueue rx_, tx_;
  uint8_t* rx_buffers_ = nullptr;
  uint8_t* tx_buffers_ = nullptr;
  MacAddress mac_{};
  uint64_t features_ = 0;
  size_t header_ = virtio_net::kLegacyHeader;
  Counters counters_{};
};

}  // namespace drivers
