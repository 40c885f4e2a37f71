#include <drivers/console/virtio_console.h>
#include <drivers/device.h>
#include <drivers/virtio/bus.h>

#include <cstring>

namespace drivers {

using namespace virtio_console;

namespace {
uint64_t phys(const void* p) { return reinterpret_cast<uintptr_t>(p); }  // identity mapped

struct [[gnu::packed]] Control {  // a control message (§5.3.6.2), little endian
  uint32_t id;
  uint16_t event;
  uint16_t value;
};
static_assert(sizeof(Control) == 8);
}  // namespace

klib::Status VirtioConsole::setup_queue(uint16_t index, Virtqueue& q, const DmaAllocator& dma) {
  const uint16_t size = t_->queue_size(index);
  if (size == 0 || (size & (size - 1)) != 0) return klib::Error::kDeviceFailed;
  void* memory = dma.alloc(Virtqueue::bytes(size), 4096, dma.ctx);
  if (memory == nullptr) return klib::Error::kNoMemory;
  q.init(memory, size);
  if (!t_->set_queue(index, size, phys(memory))) return klib::Error::kDeviceFailed;
  return {};
}

klib::Status VirtioConsolePort::init(VirtioConsole* device, uint16_t receive_queue, const DmaAllocator& dma) {
  device_ = device;
  rxq_ = receive_queue;
  klib::Status status = device->setup_queue(rxq_, rx_, dma);
  if (status) status = device->setup_queue(uint16_t(rxq_ + 1), tx_, dma);
  if (!status) return status;
  buffer_ = static_cast<char*>(dma.alloc(kBuffer, 64, dma.ctx));
  input_ = static_cast<char*>(dma.alloc(kInputBuffers * kInputBuffer, 64, dma.ctx));
  if (buffer_ == nullptr || input_ == nullptr) return klib::Error::kNoMemory;
  for (uint16_t i = 0; i < kInputBuffers; ++i) {
    if (!post_input(input_ + i * kInputBuffer)) return klib::Error::kDeviceFailed;
  }
  rx_.publish();
  // Written buffers are reclaimed by polling in write(): no transmit interrupts; input ones
  // only for a reader that asks (input_interrupts).
  tx_.suppress_interrupts();
  rx_.suppress_interrupts();
  return {};
}

klib::Status VirtioConsole::init(VirtioTransport& transport, const DmaAllocator& dma) {
  t_ = &transport;
  uint64_t features = 0;
  klib::Status status = virtio::negotiate(transport, kFeatureMultiport, &features);
  const uint8_t base_status = virtio::negotiated_status(transport);
  const bool multiport = features & kFeatureMultiport;
  if (multiport) {
    uint32_t max_ports = 0;  // max_nr_ports (§5.3.4), little endian at offset 4
    for (uint32_t i = 0; i < 4; ++i) max_ports |= uint32_t(transport.config8(4 + i)) << (8 * i);
    nports_ = max_ports < kMaxPorts ? (max_ports == 0 ? 1 : max_ports) : kMaxPorts;
  }
  // Queues: port 0's receive and transmit (0, 1), the control queues (2, 3), port n's (2n+2, 2n+3).
  if (status) status = ports_[0].init(this, 0, dma);
  if (status && multiport) {
    status = setup_queue(2, control_rx_, dma);
    if (status) status = setup_queue(3, control_tx_, dma);
    control_ = static_cast<char*>(dma.alloc((kControlBuffers + 1) * kControlBuffer, 64, dma.ctx));
    if (status && control_ == nullptr) status = klib::Error::kNoMemory;
    if (status) {
      for (uint16_t i = 0; i < kControlBuffers && i < control_rx_.size(); ++i) {
        (void)control_rx_.add(phys(control_ + i * kControlBuffer), kControlBuffer, true);
      }
      control_rx_.publish();
      control_rx_.suppress_interrupts();
      control_tx_.suppress_interrupts();
    }
  }
  for (uint32_t n = 1; status && n < nports_; ++n) status = ports_[n].init(this, uint16_t(2 * n + 2), dma);
  if (!status) {
    transport.set_status(virtio::kFailed);
    return status;
  }
  transport.set_status(base_status | virtio::kDriverOk);
  open_[0] = !multiport;  // without MULTIPORT port 0 is open from DRIVER_OK on
  if (multiport) {
    (void)send_control(0, kDeviceReady, 1);
    handle_control();
    if (!open_[0]) {
      transport.set_status(virtio::kFailed);
      return klib::Error::kDeviceFailed;  // a device without port 0: nothing for the console
    }
  }
  // The receive buffers are announced after DRIVER_OK (and, with MULTIPORT, the port's
  // opening): QEMU ignores a notification before (the port is not open yet), and a character
  // device it found with no room (a client that wrote before the driver was ready) is read
  // again only after one.
  for (uint32_t n = 0; n < nports_; ++n) {
    if (open_[n]) t_->notify(ports_[n].rxq_);
  }
  return {};
}

// One control message to the device, waited for (bounded, like a write).
bool VirtioConsole::send_control(uint32_t id, uint16_t event, uint16_t value) {
  char* message = control_ + kControlBuffers * kControlBuffer;
  const Control c{id, event, value};
  memcpy(message, &c, sizeof c);
  if (control_tx_.add(phys(message), sizeof c, false) == Virtqueue::kNoDesc) return false;
  control_tx_.publish();
  if (control_tx_.device_wants_notify()) t_->notify(3);
  uint16_t used_id;
  uint32_t ignored;
  for (uint32_t polls = 0; polls < kMaxPolls; ++polls) {
    if (control_tx_.pop_used(&used_id, &ignored)) return true;
  }
  return false;
}

// The device's announcements until it has none left: a port it adds that this driver uses is
// made ready and opened (PORT_READY, PORT_OPEN: the host's side then delivers input to it); the
// rest (CONSOLE_PORT, the host's PORT_OPEN, PORT_NAME, RESIZE) needs nothing from us.
void VirtioConsole::handle_control() {
  for (uint32_t idle = 0; idle < kControlPolls;) {
    uint16_t id;
    uint32_t length;
    if (!control_rx_.pop_used(&id, &length)) {
      ++idle;
      continue;
    }
    idle = 0;
    const uint64_t a = control_rx_.descriptors()[id].address;
    if (a < phys(control_) || a >= phys(control_) + kControlBuffers * kControlBuffer) continue;  // not ours
    char* buffer = reinterpret_cast<char*>(static_cast<uintptr_t>(a));
    Control c{};
    if (length >= sizeof c) memcpy(&c, buffer, sizeof c);
    (void)control_rx_.add(a, kControlBuffer, true);  // back to the device before it answers again
    control_rx_.publish();
    if (length >= sizeof c && c.event == kDeviceAdd && c.id < nports_ && !open_[c.id]) {
      open_[c.id] = send_control(c.id, kPortReady, 1) && send_control(c.id, kPortOpen, 1);
    }
  }
}

bool VirtioConsolePort::post_input(char* buffer) {
  return rx_.add(phys(buffer), kInputBuffer, true) != Virtqueue::kNoDesc;
}

size_t VirtioConsolePort::write(const char* data, size_t length) {
  size_t done = 0;
  while (done < length) {
    uint16_t id;
    uint32_t ignored;
    if (stalled_) {  // the last buffer never came back: it may come now
      if (!tx_.pop_used(&id, &ignored)) return done;
      stalled_ = false;
    }
    const size_t n = length - done < kBuffer ? length - done : kBuffer;
    memcpy(buffer_, data + done, n);
    if (tx_.add(phys(buffer_), uint32_t(n), false) == Virtqueue::kNoDesc) return done;
    tx_.publish();
    if (tx_.device_wants_notify()) device_->t_->notify(uint16_t(rxq_ + 1));
    uint32_t polls = 0;
    while (!tx_.pop_used(&id, &ignored)) {
      if (++polls == kMaxPolls) {
        stalled_ = true;
        ++timeouts_;
        return done;
      }
    }
    done += n;
    written_ += n;
  }
  return done;
}

bool VirtioConsolePort::try_get(char* c) {
  for (;;) {
    if (in_ == nullptr) {
      uint16_t id;
      uint32_t length;
      if (!rx_.pop_used(&id, &length)) return false;
      // The descriptor still holds the buffer's address (pop_used frees it, it does not clear it).
      const uint64_t a = rx_.descriptors()[id].address;
      if (a < phys(input_) || a >= phys(input_) + kInputBuffers * kInputBuffer) continue;  // not ours
      in_ = reinterpret_cast<char*>(static_cast<uintptr_t>(a));
      in_length_ = length < kInputBuffer ? length : kInputBuffer;
      in_next_ = 0;
    }
    const bool got = in_next_ < in_length_;
    if (got) *c = in_[in_next_++];
    if (in_next_ == in_length_) {  // read to its end (or empty): back to the device
      (void)post_input(in_);       // (a descriptor is free: this buffer's came back)
      rx_.publish();
      if (rx_.device_wants_notify()) device_->t_->notify(rxq_);
      in_ = nullptr;
    }
    if (got) return true;
  }
}

void VirtioConsolePort::input_interrupts(bool on) {
  if (!on) {
    rx_.suppress_interrupts();
  } else {
    (void)rx_.allow_interrupts();
  }
}

void VirtioConsolePort::ack_interrupt() { device_->t_->ack_interrupt(); }

ConsoleDevice* VirtioConsolePort::port(uint32_t n) { return device_->port(n); }

namespace {

klib::Result<ConsoleDevice*> start(Device& d, const StartContext& c) {
  klib::Result<VirtioTransport*> transport = virtio::make_transport(d, c);
  if (!transport) return transport.error();
  auto* console = c.make<VirtioConsole>();
  if (console == nullptr) return klib::Error::kNoMemory;
  if (const klib::Status s = console->init(*transport.value(), c.memory); !s) return s.error();
  return static_cast<ConsoleDevice*>(console->port(0));
}

}  // namespace

// virtio device type 3 on any transport (legacy or modern PCI, virtio-mmio).
TORO_DRIVER(virtio_console) = {
    .name = "virtiocon",
    .label = "VirtIOConsole",
    .device_class = DeviceClass::kConsole,
    .virtio_type = 3,
};
TORO_DRIVER_START(virtio_console, start)

}  // namespace drivers
