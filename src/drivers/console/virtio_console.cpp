#include <drivers/console/virtio_console.h>
#include <drivers/device.h>
#include <drivers/virtio/bus.h>

#include <cstring>

namespace drivers {

using namespace virtio_console;

namespace {
uint64_t phys(const void* p) { return reinterpret_cast<uintptr_t>(p); }  // identity mapped
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

klib::Status VirtioConsole::init(VirtioTransport& transport, const DmaAllocator& dma) {
  t_ = &transport;
  klib::Status status = virtio::negotiate(transport, 0, &features_);  // one port: MULTIPORT not taken
  const uint8_t base_status = virtio::negotiated_status(transport);
  if (status) status = setup_queue(0, rx_, dma);  // port 0's receive queue
  if (status) status = setup_queue(1, tx_, dma);  // port 0's transmit queue
  if (status) {
    buffer_ = static_cast<char*>(dma.alloc(kBuffer, 64, dma.ctx));
    input_ = static_cast<char*>(dma.alloc(kInputBuffers * kInputBuffer, 64, dma.ctx));
    if (buffer_ == nullptr || input_ == nullptr) status = klib::Error::kNoMemory;
  }
  for (uint16_t i = 0; status && i < kInputBuffers; ++i) {
    if (!post_input(input_ + i * kInputBuffer)) status = klib::Error::kDeviceFailed;
  }
  if (!status) {
    transport.set_status(virtio::kFailed);
    return status;
  }
  // Written buffers are reclaimed by polling in write(): no transmit interrupts; input ones
  // only for a reader that asks (input_interrupts).
  tx_.suppress_interrupts();
  rx_.suppress_interrupts();
  rx_.publish();
  transport.set_status(base_status | virtio::kDriverOk);
  // The receive buffers are announced after DRIVER_OK: QEMU ignores a notification before it
  // (port 0 is not open yet), and a character device it found with no room (a client that
  // wrote before the driver was ready) is read again only after one.
  t_->notify(0);
  return {};
}

bool VirtioConsole::post_input(char* buffer) { return rx_.add(phys(buffer), kInputBuffer, true) != Virtqueue::kNoDesc; }

bool VirtioConsole::try_get(char* c) {
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
      if (rx_.device_wants_notify()) t_->notify(0);
      in_ = nullptr;
    }
    if (got) return true;
  }
}

void VirtioConsole::input_interrupts(bool on) {
  if (!on) {
    rx_.suppress_interrupts();
  } else {
    (void)rx_.allow_interrupts();
  }
}

size_t VirtioConsole::write(const char* data, size_t length) {
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
    if (tx_.device_wants_notify()) t_->notify(1);
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

namespace {

klib::Result<ConsoleDevice*> start(Device& d, const StartContext& c) {
  klib::Result<VirtioTransport*> transport = virtio::make_transport(d, c);
  if (!transport) return transport.error();
  auto* console = c.make<VirtioConsole>();
  if (console == nullptr) return klib::Error::kNoMemory;
  if (const klib::Status s = console->init(*transport.value(), c.memory); !s) return s.error();
  return static_cast<ConsoleDevice*>(console);
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
