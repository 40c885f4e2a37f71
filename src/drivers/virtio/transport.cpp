#include <drivers/virtio/transport.h>

namespace drivers {

bool LegacyPciTransport::set_queue(uint16_t q, uint16_t size, uint64_t phys) {
  io_.write16(14, q);
  if (io_.read16(12) != size || (phys & 4095) != 0 || (phys >> 12) > 0xFFFFFFFFull) return false;
  io_.write32(8, uint32_t(phys >> 12));  // queue page frame number
  return true;
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

}  // namespace drivers
