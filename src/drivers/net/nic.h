// What the network stack needs of a network card; drivers (e1000, virtio-net) implement it.
//
//   drivers::Nic* nic = ...;                  // kernel::start_device of a kNetwork device
//   nic->send(frame, len);                    // false when the transmit ring is full
//   size_t n = nic->poll(to_stack, &stack, 64); // frames handed to to_stack where they lie
#pragma once

#include <cstddef>
#include <cstdint>

namespace drivers {

struct MacAddress {
  uint8_t b[6];
};

// Memory the device reads and writes (descriptor rings, buffers). The kernel is identity
// mapped, so the returned address is also the physical address the device is given.
struct DmaAllocator {
  void* (*alloc)(size_t size, size_t align, void* ctx);
  void* ctx;
};

class Nic {
 public:
  virtual const MacAddress& mac() const = 0;
  virtual bool send(const void* frame, size_t length) = 0;
  // The doorbell: telling the card that frames are on its ring (a virtqueue kick, e1000's TDT
  // write) is an exit to the hypervisor each time. send() rings it at once, unless the caller
  // holds it (hold(true)) across a burst of sends: then the frames are written to the ring as
  // usual, but the card learns of them when the last hold(false) rings once for all of them.
  // Holds nest. A send that finds the ring full rings anyway (the card must empty it), so a held
  // burst never waits on itself.
  virtual void hold(bool on) = 0;
  // Zero-copy receive: hands up to `budget` received frames to `handler` where the device put
  // them (the DMA buffer), then gives each buffer back to the device. Returns the frame count.
  using FrameHandler = void (*)(void* ctx, const uint8_t* frame, size_t length);
  virtual size_t poll(FrameHandler handler, void* ctx, size_t budget) = 0;
  virtual bool link_up() = 0;
  // Interrupts: enable the receive interrupt, and acknowledge the device's interrupt (reading
  // its cause register), which a level-triggered line needs before the EOI. A driver may also
  // turn the card's receive interrupts off in ack_interrupt() (NAPI's rule: the packet thread,
  // woken, takes every frame there is by polling), and then turns them on in rearm(), which the
  // packet thread calls before it sleeps: true if frames came meanwhile (it polls again
  // instead of sleeping). Without that, rearm() returns false.
  virtual void enable_interrupts() = 0;
  virtual void ack_interrupt() = 0;
  virtual bool rearm() { return false; }
  // MSI-X (the kernel enabled it and routed table entry `entry` to the card's core): the card
  // points its interrupts at that entry; false (and nothing changed) if it cannot, when the
  // kernel turns MSI-X off again and routes the INTx line instead.
  virtual bool route_msix(uint16_t entry) {
    (void)entry;
    return false;
  }
  struct Counters {
    uint64_t rx_frames, tx_frames, rx_dropped, tx_full;
    uint64_t rx_missed;  // frames the card itself dropped: no free receive buffer (ring full)
  };
  virtual Counters counters() const = 0;

 protected:
  ~Nic() = default;
};

}  // namespace drivers
