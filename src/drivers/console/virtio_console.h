// virtio-console (Virtual I/O Device spec 1.2 §5.3) over any VirtioTransport (legacy PCI
// 1AF4:1003, modern PCI 1AF4:1043, virtio-mmio on microvm). Port 0 carries the kernel console
// (`console=virtio`), the debug rings (`debug=virtio`) or the gdb stub (`gdb=virtio`); with
// MULTIPORT (accepted when offered: QEMU's virtio-serial with more than one port allowed) the
// driver also opens port 1, where the debug rings go when the console has port 0. Each port has
// a transmit queue (written synchronously) and a receive queue (four 64-byte buffers posted,
// read by polling, interrupts only on request). Toro HEAD's console on microvm. Its name:
// "virtiocon" (the descriptor at the end of the .cpp).
//
//   drivers::VirtioConsole con;
//   if (con.init(transport, dma)) con.port(0)->write("hello\n", 6);  // once the device took it
//   char c;
//   while (con.port(0)->try_get(&c)) ...;                              // polled input, in order
//   if (drivers::ConsoleDevice* debug = con.port(1)) ...               // MULTIPORT's port 1
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
// MULTIPORT: the ports this driver opens (0 and 1; a device's others stay closed), and its
// control queues' messages (§5.3.6.2): {id, event, value}, in buffers of kControlBuffer bytes
// (a PORT_NAME message is longer: its name is cut, and not needed).
constexpr uint32_t kMaxPorts = 2;
constexpr uint16_t kDeviceReady = 0, kDeviceAdd = 1, kPortReady = 3, kPortOpen = 6;
constexpr uint16_t kControlBuffers = 16;
constexpr uint32_t kControlBuffer = 16;
// Polls of an empty control queue after which the driver stops waiting for the device's
// announcements (QEMU makes them during the notification that asked for them).
constexpr uint32_t kControlPolls = 4096;
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
  // Another port of the same device (MULTIPORT), or nullptr; port(0) of the device's first
  // port is itself.
  virtual ConsoleDevice* port(uint32_t n) = 0;

 protected:
  ~ConsoleDevice() = default;
};

class VirtioConsole;

// One port: its receive queue (2n, or 0 for port 0; +2 past the control queues for n >= 1)
// and transmit queue (the next one).
class VirtioConsolePort final : public ConsoleDevice {
 public:
  size_t write(const char* data, size_t length) override;
  bool try_get(char* c) override;
  void input_interrupts(bool on) override;
  void ack_interrupt() override;
  ConsoleDevice* port(uint32_t n) override;
  uint64_t bytes_written() const { return written_; }
  uint64_t timeouts() const { return timeouts_; }

 private:
  friend class VirtioConsole;
  klib::Status init(VirtioConsole* device, uint16_t receive_queue, const DmaAllocator& dma);
  bool post_input(char* buffer);

  VirtioConsole* device_ = nullptr;
  uint16_t rxq_ = 0;  // the receive queue's index; the transmit queue is rxq_ + 1
  Virtqueue rx_, tx_;
  char* buffer_ = nullptr;  // kBuffer bytes of DMA memory, the transmit buffer
  char* input_ = nullptr;   // kInputBuffers x kInputBuffer bytes of DMA memory, the receive buffers
  char* in_ = nullptr;      // the receive buffer being read (nullptr: none)
  uint32_t in_length_ = 0, in_next_ = 0;
  uint64_t written_ = 0;
  uint64_t timeouts_ = 0;
  bool stalled_ = false;  // a write timed out: the buffer may still be the device's
};

class VirtioConsole {
 public:
  // Resets the device, accepts MULTIPORT (when offered) and VERSION_1 (on a modern transport),
  // sets up port 0 (and with MULTIPORT the control queues and port 1, and the handshake that
  // opens them: DEVICE_READY, then PORT_READY and PORT_OPEN for each port the device adds).
  // kDeviceFailed (also: MULTIPORT without a port 0) or kNoMemory otherwise.
  klib::Status init(VirtioTransport& transport, const DmaAllocator& dma);
  // Port n if the device has it and it is open (port 0 always, after a successful init).
  VirtioConsolePort* port(uint32_t n) { return n < virtio_console::kMaxPorts && open_[n] ? &ports_[n] : nullptr; }

 private:
  friend class VirtioConsolePort;
  klib::Status setup_queue(uint16_t index, Virtqueue& q, const DmaAllocator& dma);
  bool send_control(uint32_t id, uint16_t event, uint16_t value);
  void handle_control();

  VirtioTransport* t_ = nullptr;
  VirtioConsolePort ports_[virtio_console::kMaxPorts];
  bool open_[virtio_console::kMaxPorts] = {};
  uint32_t nports_ = 1;  // ports set up: 1, or with MULTIPORT min(max_nr_ports, kMaxPorts)
  Virtqueue control_rx_, control_tx_;
  char* control_ = nullptr;  // kControlBuffers receive buffers and one transmit message (DMA)
};

}  // namespace drivers
