// Virtio transports (Virtual I/O Device spec 1.2 §4), apart from the devices that use them:
// legacy PCI (I/O BAR 0, §4.1.4.8) and legacy MMIO (§4.2.4, what QEMU's microvm gives by
// default). A device driver (virtio_net) talks only to this interface.
//
//   drivers::LegacyPciTransport t(io);
//   drivers::VirtioNet net;  net.init(t, dma);
#pragma once

#include <drivers/io.h>
#include <drivers/virtio/virtqueue.h>
#include <lib/result.h>

#include <cstdint>

namespace drivers {

namespace virtio {
// Device status bits (§2.1).
constexpr uint8_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128;
constexpr uint64_t kFeatureVersion1 = 1ull << 32;  // §6: a modern (1.x) device
}  // namespace virtio

class VirtioTransport {
 public:
  virtual void reset() = 0;
  virtual uint8_t status() = 0;
  virtual void set_status(uint8_t s) = 0;
  virtual uint64_t device_features() = 0;  // legacy transports: the low 32 bits only
  virtual void set_driver_features(uint64_t f) = 0;
  // Virtio 1.x: FEATURES_OK handshake, VERSION_1, 12-byte net header. Legacy: none of that.
  virtual bool modern() const { return false; }
  virtual uint16_t queue_size(uint16_t q) = 0;  // 0: no such queue
  // Hands a queue's memory (Virtqueue::bytes(size), 4096-aligned, identity mapped) to the device.
  virtual bool set_queue(uint16_t q, uint16_t size, uint64_t phys) = 0;
  virtual void notify(uint16_t q) = 0;
  virtual uint8_t config8(uint32_t offset) = 0;  // device-specific configuration
  virtual void ack_interrupt() = 0;
  // MSI-X (PCI transports, once the kernel enabled it): queue `q` interrupts through table
  // entry `entry`, configuration changes through none; from then on there is no ISR status to
  // read (ack_interrupt() does nothing) and the legacy layout's device configuration moves
  // (§4.1.4.8). False if the device refused the entry or the transport has no MSI-X: the
  // driver then calls use_msix(false) to go back to INTx.
  virtual bool use_msix(bool on) {
    (void)on;
    return false;
  }
  virtual bool set_queue_vector(uint16_t q, uint16_t entry) {
    (void)q;
    (void)entry;
    return false;
  }
  virtual const char* name() const = 0;

 protected:
  ~VirtioTransport() = default;
};

namespace virtio {
// §3.1.1 steps 1-6 (legacy: no FEATURES_OK step, §3.1.2): reset, ACKNOWLEDGE and DRIVER, then
// the features of `wanted` the device offers (VERSION_1 too on a modern transport, where it is
// required) into *accepted, and FEATURES_OK on a modern transport. kDeviceFailed when the
// device refuses; the driver then sets FAILED. Every virtio driver starts here.
klib::Status negotiate(VirtioTransport& t, uint64_t wanted, uint64_t* accepted);
// The status bits negotiate() left set: what a driver adds DRIVER_OK to once its queues are up.
inline uint8_t negotiated_status(VirtioTransport& t) {
  return uint8_t(kAcknowledge | kDriver | (t.modern() ? kFeaturesOk : 0));
}
}  // namespace virtio

class LegacyPciTransport final : public VirtioTransport {
 public:
  explicit LegacyPciTransport(Io& io) : io_(io) {}
  void reset() override { io_.write8(18, 0); }
  uint8_t status() override { return io_.read8(18); }
  void set_status(uint8_t s) override { io_.write8(18, s); }
  uint64_t device_features() override { return io_.read32(0); }
  void set_driver_features(uint64_t f) override { io_.write32(4, uint32_t(f)); }
  uint16_t queue_size(uint16_t q) override {
    io_.write16(14, q);
    return io_.read16(12);
  }
  [[gnu::cold]] bool set_queue(uint16_t q, uint16_t size, uint64_t phys) override;  // once per queue: for size
  void notify(uint16_t q) override { io_.write16(16, q); }
  // Device configuration at 20, or at 24 with MSI-X on (its two vector registers come first).
  uint8_t config8(uint32_t offset) override { return io_.read8((msix_ ? 24 : 20) + offset); }
  void ack_interrupt() override {
    if (!msix_) (void)io_.read8(19);  // ISR status: read clears (lowers the line)
  }
  [[gnu::cold]] bool use_msix(bool on) override;  // once: for size
  [[gnu::cold]] bool set_queue_vector(uint16_t q, uint16_t entry) override;
  const char* name() const override { return "virtio-pci (legacy)"; }

 private:
  Io& io_;
  bool msix_ = false;
};

class LegacyMmioTransport final : public VirtioTransport {
 public:
  explicit LegacyMmioTransport(Io& io) : io_(io) {}
  // Magic "virt", version 1 (legacy), a device id; false otherwise.
  bool probe(uint32_t* device_id);
  void reset() override { io_.write32(0x70, 0); }
  uint8_t status() override { return uint8_t(io_.read32(0x70)); }
  void set_status(uint8_t s) override { io_.write32(0x70, s); }
  uint64_t device_features() override {
    io_.write32(0x14, 0);
    return io_.read32(0x10);
  }
  void set_driver_features(uint64_t f) override {
    io_.write32(0x24, 0);
    io_.write32(0x20, uint32_t(f));
  }
  uint16_t queue_size(uint16_t q) override {
    io_.write32(0x30, q);
    return uint16_t(io_.read32(0x34));
  }
  [[gnu::cold]] bool set_queue(uint16_t q, uint16_t size, uint64_t phys) override;  // once per queue: for size
  void notify(uint16_t q) override { io_.write32(0x50, q); }
  uint8_t config8(uint32_t offset) override { return io_.read8(0x100 + offset); }
  void ack_interrupt() override { io_.write32(0x64, io_.read32(0x60)); }  // InterruptACK what is pending
  const char* name() const override { return "virtio-mmio (legacy)"; }

 private:
  Io& io_;
};

// Where a modern (virtio 1.x) PCI device's structures are (§4.1.4: vendor-specific
// capabilities 0x09 of type 1 common, 2 notify, 3 ISR, 4 device configuration).
struct VirtioPciCaps {
  uint64_t common = 0, notify = 0, isr = 0, device = 0;
  uint32_t notify_multiplier = 0;
  bool complete() const { return common && notify && isr && device; }
};

class ConfigSpace;
struct PciDevice;
// Fills `out` from the device's capabilities; false unless all four structures were found in
// assigned memory BARs.
bool find_virtio_caps(ConfigSpace& cfg, const PciDevice& d, VirtioPciCaps* out);

class ModernPciTransport final : public VirtioTransport {
 public:
  ModernPciTransport(Io& common, Io& notify, Io& isr, Io& device, uint32_t notify_multiplier)
      : common_(common), notify_(notify), isr_(isr), device_(device), multiplier_(notify_multiplier) {}
  bool modern() const override { return true; }
  void reset() override;
  uint8_t status() override { return common_.read8(0x14); }
  void set_status(uint8_t s) override { common_.write8(0x14, s); }
  uint64_t device_features() override;
  void set_driver_features(uint64_t f) override;
  uint16_t queue_size(uint16_t q) override {
    common_.write16(0x16, q);
    return common_.read16(0x18);
  }
  [[gnu::cold]] bool set_queue(uint16_t q, uint16_t size, uint64_t phys) override;  // once per queue: for size
  void notify(uint16_t q) override;
  uint8_t config8(uint32_t offset) override { return device_.read8(offset); }
  void ack_interrupt() override {
    if (!msix_) (void)isr_.read8(0);
  }
  [[gnu::cold]] bool use_msix(bool on) override;  // once: for size
  [[gnu::cold]] bool set_queue_vector(uint16_t q, uint16_t entry) override;
  const char* name() const override { return "virtio-pci (modern)"; }

 private:
  Io& common_;
  Io& notify_;
  Io& isr_;
  Io& device_;
  uint32_t multiplier_;
  // A queue's notification offset (§4.1.4.4), for the first kMaxQueues queues (virtio-console
  // with MULTIPORT's ports 0 and 1 uses six; the others one or two).
  static constexpr uint16_t kMaxQueues = 6;
  uint16_t notify_offset_[kMaxQueues] = {};
  bool msix_ = false;
};

}  // namespace drivers
