#include <drivers/virtio/transport.h>

namespace drivers {

bool LegacyPciTransport::set_queue(uint16_t q, uint16_t size, uint64_t phys) {
  io_.write16(14, q);
  if (io_.read16(12) != size || (phys & 4095) != 0 || (phys >> 12) > 0xFFFFFFFFull) return false;
  io_.write32(8, uint32_t(phys >> 12));  // queue page frame number
  return true;
}

// MSI-X vector registers (§4.1.4.8): config_msix_vector at 20, queue_msix_vector at 22 (for the
// selected queue); a vector the device cannot use reads back as NO_VECTOR.
constexpr uint16_t kNoVector = 0xFFFF;

bool LegacyPciTransport::use_msix(bool on) {
  msix_ = on;
  if (on) io_.write16(20, kNoVector);  // no configuration-change interrupts
  return true;
}

bool LegacyPciTransport::set_queue_vector(uint16_t q, uint16_t entry) {
  if (!msix_) return false;
  io_.write16(14, q);
  io_.write16(22, entry);
  return io_.read16(22) == entry;
}

bool LegacyMmioTransport::probe(uint32_t* device_id) {
  if (io_.read32(0x000) != 0x74726976 || io_.read32(0x004) != 1) return false;  // "virt", legacy
  *device_id = io_.read32(0x008);
  io_.write32(0x028, 4096);  // guest page size: queue PFNs count 4 KiB pages
  return *device_id != 0;
}

bool LegacyMmioTransport::set_queue(uint16_t q, uint16_t size, uint64_t phys) {
  io_.write32(0x30, q);
  if (io_.read32(0x34) < size || (phys & 4095) != 0) return false;
  io_.write32(0x38, size);
  io_.write32(0x3C, 4096);  // used ring alignment
  io_.write32(0x40, uint32_t(phys >> 12));
  return true;
}

void ModernPciTransport::reset() {
  common_.write8(0x14, 0);
  for (int i = 0; i < 1000000 && common_.read8(0x14) != 0; ++i) {
  }  // §4.1.4.3.2: reset completes when status reads back 0
}

uint64_t ModernPciTransport::device_features() {
  common_.write32(0x00, 0);
  const uint64_t low = common_.read32(0x04);
  common_.write32(0x00, 1);
  return low | uint64_t(common_.read32(0x04)) << 32;
}

void ModernPciTransport::set_driver_features(uint64_t f) {
  common_.write32(0x08, 0);
  common_.write32(0x0C, uint32_t(f));
  common_.write32(0x08, 1);
  common_.write32(0x0C, uint32_t(f >> 32));
}

bool ModernPciTransport::set_queue(uint16_t q, uint16_t size, uint64_t phys) {
  common_.write16(0x16, q);
  if (common_.read16(0x18) < size || q >= kMaxQueues) return false;
  common_.write16(0x18, size);
  // The queue's three parts where the legacy layout puts them (Virtqueue keeps that layout).
  const uint64_t avail = phys + 16u * size;
  const uint64_t used = phys + ((16u * size + 6 + 2u * size + 4095) & ~uint64_t(4095));
  common_.write32(0x20, uint32_t(phys));
  common_.write32(0x24, uint32_t(phys >> 32));
  common_.write32(0x28, uint32_t(avail));
  common_.write32(0x2C, uint32_t(avail >> 32));
  common_.write32(0x30, uint32_t(used));
  common_.write32(0x34, uint32_t(used >> 32));
  notify_offset_[q] = common_.read16(0x1E);
  common_.write16(0x1C, 1);  // queue_enable
  return true;
}

void ModernPciTransport::notify(uint16_t q) {
  notify_.write16(uint32_t(notify_offset_[q < kMaxQueues ? q : 0]) * multiplier_, q);
}

namespace virtio {

klib::Status negotiate(VirtioTransport& t, uint64_t wanted, uint64_t* accepted) {
  t.reset();
  t.set_status(kAcknowledge);
  t.set_status(kAcknowledge | kDriver);
  if (t.modern()) wanted |= kFeatureVersion1;
  *accepted = t.device_features() & wanted;
  t.set_driver_features(*accepted);
  if (!t.modern()) return {};
  t.set_status(negotiated_status(t));
  if (!(*accepted & kFeatureVersion1) || !(t.status() & kFeaturesOk)) return klib::Error::kDeviceFailed;
  return {};
}

}  // namespace virtio

// The common configuration's msix_config (0x10) and queue_msix_vector (0x1A, for the selected queue).
bool ModernPciTransport::use_msix(bool on) {
  msix_ = on;
  if (on) common_.write16(0x10, kNoVector);
  return true;
}

bool ModernPciTransport::set_queue_vector(uint16_t q, uint16_t entry) {
  if (!msix_) return false;
  common_.write16(0x16, q);
  common_.write16(0x1A, entry);
  return common_.read16(0x1A) == entry;
}

}  // namespace drivers
