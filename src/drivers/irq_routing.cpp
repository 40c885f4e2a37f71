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

// ACPI 6.5 §5.2.12.5: an override's MPS INTI flags; "conforms to the bus" is ISA's edge, high.
int isa_gsi(const InterruptPlatform& p, uint8_t irq, bool* level, bool* active_low) {
  if (irq == 0 || irq > 15) return -1;
  *level = false;
  *active_low = false;
  for (const arch::CpuList::IsaOverride& o : p.isa_overrides) {
    if (o.irq != irq) continue;
    *active_low = (o.flags & 3) == 3;
    *level = ((o.flags >> 2) & 3) == 3;
    return int(o.gsi);
  }
  return irq;
}

}  // namespace

klib::Result<IrqRoute> route_interrupt(const InterruptPlatform& p, const Device& d) {
  bool level = true, active_low = false;
  const int gsi = d.transport == Transport::kIsa
                      ? (d.driver != nullptr ? isa_gsi(p, d.driver->isa_irq, &level, &active_low) : -1)
                  : d.pci != nullptr                      ? pci_gsi(p, *d.pci)
                  : d.transport == Transport::kVirtioMmio ? mmio_gsi(p, d.mmio_base)
                                                          : -1;
  if (gsi < 0) return klib::Error::kNoDevice;
  for (const arch::CpuList::IoApic& a : p.ioapics) {
    if (uint32_t(gsi) >= a.gsi_base && uint32_t(gsi) < a.gsi_base + 24) {
      return IrqRoute{uint32_t(gsi), a.base, uint32_t(gsi) - a.gsi_base, level, active_low};
    }
  }
  return klib::Error::kNoDevice;
}

}  // namespace drivers
