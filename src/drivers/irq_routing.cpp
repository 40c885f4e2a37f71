#include <drivers/irq_routing.h>
#include <drivers/virtio/bus.h>

namespace drivers {
namespace {

int pci_gsi(const InterruptPlatform& p, const PciDevice& d) {
  if (d.irq_pin == 0 || d.bus != 0 || p.host_bridge == nullptr || p.host_bridge->vendor != 0x8086) return -1;
  if (p.host_bridge->device == 0x1237) return piix_irq(*p.pci_config, d);
  if (p.host_bridge->device == 0x29C0 && d.dev < 25) return 20 + (d.dev + d.irq_pin - 1) % 4;
  return -1;
}

int mmio_gsi(const InterruptPlatform& p, uint64_t base) {
  using namespace virtio;
  if (base < kMicrovmMmioBase || base >= kMicrovmMmioBase + kMicrovmMmioSlots * kMicrovmMmioStride) return -1;
  // Measured: transport 23 on GSI 47 with QEMU 7.2. Without the second I/O APIC
  // (microvm,ioapic2=off) the inputs would be 5 + i, but no interrupt arrived there in our
  // measurements: that configuration polls.
  return p.ioapics.size() > 1 ? 24 + int((base - kMicrovmMmioBase) / kMicrovmMmioStride) : -1;
}

}  // namespace

klib::Result<IrqRoute> route_interrupt(const InterruptPlatform& p, const Device& d) {
  const int gsi = d.pci != nullptr                        ? pci_gsi(p, *d.pci)
                  : d.transport == Transport::kVirtioMmio ? mmio_gsi(p, d.mmio_base)
                                                          : -1;
  if (gsi < 0) return klib::Error::kNoDevice;
  for (const arch::CpuList::IoApic& a : p.ioapics) {
    if (uint32_t(gsi) >= a.gsi_base && uint32_t(gsi) < a.gsi_base + 24) {
      return IrqRoute{uint32_t(gsi), a.base, uint32_t(gsi) - a.gsi_base};
    }
  }
  return klib::Error::kNoDevice;
}

}  // namespace drivers
