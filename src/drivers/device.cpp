#include <drivers/device.h>

namespace drivers {

bool virtio_pci_type(const PciDevice& d, Transport* transport, uint8_t* type) {
  if (d.vendor != 0x1AF4 || d.device < 0x1000 || d.device > 0x107F) return false;
  // virtio 1.2 §4.1.2.1: a transitional device's subsystem device ID is its device type; a
  // modern one's PCI device ID is 0x1040 + the type.
  if (d.device < 0x1040) {
    *transport = Transport::kVirtioLegacyPci;
    *type = uint8_t(d.subsystem_device);
  } else {
    *transport = Transport::kVirtioModernPci;
    *type = uint8_t(d.device - 0x1040);
  }
  return true;
}

const Driver* match_pci(const PciDevice& d, const Driver* const* drivers, Transport* transport) {
  uint8_t type;
  if (virtio_pci_type(d, transport, &type)) {
    if (*transport == Transport::kVirtioLegacyPci && !(d.bar[0].io && d.bar[0].base != 0)) return nullptr;
    return match_virtio(type, drivers);
  }
  *transport = Transport::kPci;
  for (; *drivers != nullptr; ++drivers) {
    const Driver* drv = *drivers;
    if (drv->virtio_type != 0 || drv->isa_port != 0 || (drv->vendor != Driver::kAny && drv->vendor != d.vendor) ||
        (drv->device != Driver::kAny && drv->device != d.device) ||
        (drv->class_code != Driver::kAnyClass && drv->class_code != d.class_code) ||
        (drv->subclass != Driver::kAnyClass && drv->subclass != d.subclass)) {
      continue;
    }
    if (drv->usable == nullptr || drv->usable(d)) return drv;
  }
  return nullptr;
}

}  // namespace drivers
