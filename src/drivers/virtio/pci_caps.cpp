#include <drivers/pci/pci.h>
#include <drivers/virtio/transport.h>

namespace drivers {

// Walks the PCI capability list (PCI 3.0 §6.7) for virtio's vendor-specific capabilities
// (virtio 1.2 §4.1.4): cap_vndr 0x09, cfg_type at +3, BAR at +4, offset at +8, length at +12,
// and for the notify capability the multiplier at +16.
bool find_virtio_caps(ConfigSpace& cfg, const PciDevice& d, VirtioPciCaps* out) {
  *out = VirtioPciCaps{};
  uint8_t ptr = 0;
  for (int guard = 0; guard < 48 && (ptr = next_capability(cfg, d, 0x09, ptr)) != 0; ++guard) {  // a loop ends too
    const uint8_t type = uint8_t(cfg.read32(d.bus, d.dev, d.fn, ptr) >> 24);
    const uint8_t bar = uint8_t(cfg.read32(d.bus, d.dev, d.fn, uint8_t(ptr + 4)) & 0xFF);
    const uint32_t offset = cfg.read32(d.bus, d.dev, d.fn, uint8_t(ptr + 8));
    if (bar >= 6 || d.bar[bar].size == 0 || d.bar[bar].io || d.bar[bar].base == 0) continue;
    const uint64_t at = d.bar[bar].base + offset;
    if (type == 1) out->common = at;
    if (type == 2) {
      out->notify = at;
      out->notify_multiplier = cfg.read32(d.bus, d.dev, d.fn, uint8_t(ptr + 16));
    }
    if (type == 3) out->isr = at;
    if (type == 4) out->device = at;
  }
  return out->complete();
}

}  // namespace drivers
