// virtio-console (Virtual I/O Device spec 1.2 §5.3) over any VirtioTransport (legacy PCI
// 1AF4:1003, modern PCI 1AF4:1043, virtio-mmio on microvm): port 0 only (MULTIPORT is not
// accepted), its transmit queue (1) for the kernel console (`console=virtio`), the debug rings
// (`debug=virtio`) and the gdb stub (`gdb=virtio`), its receive queue (0) for the stub's input.
// Toro HEAD's console on microvm. Its name: "virtiocon" (the descriptor at the end of the .cpp).
//
//   drivers::VirtioConsole con;
//   if (con.init(transport, dma)) con.write("hello\n", 6);   // returns once the device took it
//   char c;
//   while (con.try_get(&c)) ...;                               // polled input, in order
#pragma once

#include <drivers/net/nic.h>  // DmaAllocator
#include <drivers/virtio/transport.h>
#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace drivers {

namespace virtio_console {
constexpr uint64_t kFeatureMultiport = 1u << 1, kFeatureVersion1 = virtio::kFeatureVersion1;
constexpr size_t kBuffer = 4096;  // one transmit buffer: a write longer than this goes in pieces
// Polls of the used ring a write waits for the device (QEMU returns the buffer during the
// notification itself); a device that takes longer is left behind: its bytes are dropped.
constexpr uint32_t kMaxPolls = 1u << 22;
// Input: this many receive buffers of kInputBuffer bytes stay posted (what the device holds
// for a reader that has not polled yet; more waits in the host's character device).
constexpr uint16_t kInputBuffers = 4;
constexpr uint32_t kInputBuffer = 64;
}  // namespace virtio_console

// A console device (DeviceClass::kConsole): bytes out, in order, and bytes in by polling.
class ConsoleDevice {
 public:
  // Writes `length` bytes; returns how many the device took.
  virtual size_t write(const char* data, size_t length) = 0;
  // The next byte that arrived, in order; false when none is waiting.
  virtual bool try_get(char* c) = 0;
  // Input interrupts: on (the device interrupts when bytes arrive) or off (the default).
  virtual void input_interrupts(bool on) = 0;
  // Lowers the device's interrupt line (its ISR read), from the interrupt handler.
  virtual void ack_interrupt() = 0;

 protected:
  ~ConsoleDevice() = default;
};

class VirtioConsole final : public ConsoleDevice {
 public:
  // Resets the device, accepts VERSION_1 on a modern transport (nothing else: one port), sets
  // up the receive and transmit queues of port 0. kDeviceFailed or kNoMemory otherwise.
  klib::Status init(VirtioTransport& transport, const DmaAllocator& dma);
  size_t write(const char* data, size_t length) override;
  bool try_get(char* c) override;
  void input_interrupts(bool on) override;
  void ack_interrupt() override { t_->ack_interrupt(); }
  uint64_t features() const { return features_; }
  uint64_t bytes_written() const { return written_; }
  uint64_t timeouts() const { return timeouts_; }

 private:
  klib::Status setup_queue(uint16_t index, Virtqueue& q, const DmaAllocator& dma);
  bool post_input(char* buffer);

  VirtioTransport* t_ = nullptr;
  Virtqueue rx_, tx_;
  char* buffer_ = nullptr;  // kBuffer bytes of DMA memory, the transmit buffer
  char* input_ = nullptr;   // kInputBuffers x kInputBuffer bytes of DMA memory, the receive buffers
  char* in_ = nullptr;      // the receive buffer being read (nullptr: none)
  uint32_t in_length_ = 0, in_next_ = 0;
  uint64_t features_ = 0;
  uint64_t written_ = 0;
  uint64_t timeouts_ = 0;
  bool stalled_ = false;  // a write timed out: the buffer may still be the device's
};

}  // namespace drivers
