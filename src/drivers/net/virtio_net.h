// virtio-net (Virtual I/O Device spec 1.2 §5.1) over any VirtioTransport (the factory in
// virtio/bus.h): one receive and one transmit queue, the legacy 10-byte header (12 with
// VERSION_1), zero-copy receive through poll(), the used-ring interrupt when the kernel routes
// one. Toro's name for it: "virtionet" (the descriptor at the end of virtio_net.cpp).
//
// Transmit never drops a frame for want of a descriptor while the backlog has room. QEMU sends
// what the guest queued from a bottom half of its main loop, which also runs user networking
// for every card, so under load it can fall more than a ring (256 frames) behind a guest core.
// A frame that finds every descriptor in use waits in the backlog, in order, and goes to the
// device as descriptors come back (in send() and poll()); while frames wait, poll() receives
// nothing, so the answers to new frames do not pile up behind them (the device holds what
// arrives, and its transmit interrupt brings the packet thread back). A dropped SYN,ACK or
// answer would cost the peer a retransmission timeout: 1 s, or 3 s and more for a SYN cookie,
// which only the peer's SYN retransmission recovers.
//
//   drivers::VirtioNet nic;
//   if (nic.init(transport, dma)) nic.send(frame, len);
#pragma once

#include <drivers/net/nic.h>
#include <drivers/virtio/transport.h>
#include <lib/result.h>

namespace drivers {

namespace virtio_net {
constexpr uint64_t kFeatureMac = 1u << 5, kFeatureStatus = 1u << 16, kFeatureVersion1 = 1ull << 32;
// struct virtio_net_hdr: 10 bytes on legacy devices, 12 (with num_buffers) with VERSION_1.
constexpr size_t kLegacyHeader = 10, kModernHeader = 12;
constexpr size_t kBuffer = 2048;
constexpr uint16_t kBacklog = 256;  // transmitted frames that may wait for a descriptor
}  // namespace virtio_net

class VirtioNet final : public Nic {
 public:
  // The device's feature bits are read, MAC and STATUS accepted, the queues set up and the
  // receive queue filled. kDeviceFailed (device status FAILED) if the device does not
  // cooperate, kNoMemory if the queues or buffers find no memory.
  // `backlog`: how many transmitted frames may wait for a descriptor (at most the ring's size;
  // each takes a 2 KiB buffer, so a core with little memory keeps fewer).
  [[gnu::cold]] klib::Status init(VirtioTransport& transport, const DmaAllocator& dma,
                                  uint16_t backlog = virtio_net::kBacklog);  // once: for size
  const MacAddress& mac() const override { return mac_; }
  bool send(const void* frame, size_t length) override;
  void hold(bool on) override;
  // Copies the next frame out (the tests' way in; the kernel uses poll()); 0 if none.
  size_t receive(void* buffer, size_t capacity);
  size_t poll(FrameHandler handler, void* ctx, size_t budget) override;
  bool link_up() override;
  void enable_interrupts() override {}  // the used ring asks for interrupts by default
  // The interrupt turns receive interrupts off until rearm(): each frame would otherwise be one
  // (with MSI-X nothing coalesces them; with INTx the line merely stays up).
  void ack_interrupt() override {
    t_->ack_interrupt();
    rx_.suppress_interrupts();
  }
  bool rearm() override { return rx_.allow_interrupts(); }
  [[gnu::cold]] bool route_msix(uint16_t entry) override;  // both queues to `entry`; once: for size
  Counters counters() const override { return counters_; }
  uint64_t features() const { return features_; }

 private:
  klib::Status setup_queue(uint16_t index, Virtqueue& q, uint8_t** buffers, const DmaAllocator& dma);
  bool post(const void* frame, size_t length);  // into a free transmit descriptor; false if none
  void kick();                                  // publishes what post() added, notifies if asked
  void ring();                                  // kick(), or later if the doorbell is held
  size_t post_backlog();                        // reclaims sent descriptors, posts waiting frames
  VirtioTransport* t_ = nullptr;
  Virtqueue rx_, tx_;
  uint8_t* rx_buffers_ = nullptr;
  uint8_t* tx_buffers_ = nullptr;
  // Frames waiting for a transmit descriptor, oldest at backlog_head_: a ring of backlog_size_
  // buffers of kBuffer bytes, each the frame's length (2 bytes) and the frame.
  uint8_t* backlog_ = nullptr;
  uint16_t backlog_size_ = 0, backlog_head_ = 0, backlog_count_ = 0;
  uint16_t holds_ = 0;   // hold(true) calls not yet ended
  bool unrung_ = false;  // frames were posted while held: the last hold(false) kicks
  MacAddress mac_{};
  uint64_t features_ = 0;
  size_t header_ = virtio_net::kLegacyHeader;
  Counters counters_{};
};

}  // namespace drivers
