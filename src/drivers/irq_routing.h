// Chipset interrupt routing: which I/O APIC input a device's interrupt line reaches, from the
// chipset's rules, the device's place and the MADT's I/O APICs, all passed in (no globals), so
// every rule is host-tested (tests/unit/drivers/irq_routing_test.cpp).
//  - i440FX/PIIX3 (QEMU pc, Bochs): the PIIX's PIRQ route registers decide (drivers::piix_irq),
//    an ISA IRQ = the input of the same number; level-triggered, active high (QEMU's DSDT).
//  - q35 (ICH9) in APIC mode: bus-0 slot s, pin p (INTA = 1) goes through link E-H to input
//    20 + (s + p - 1) % 4 (QEMU's q35 _PRT for slots 0-24).
//  - microvm: virtio-mmio transport i on GSI 24 + i, the second I/O APIC's inputs.
//  - a legacy ISA device (an ATA channel, IRQ 14/15): the MADT's interrupt source override for
//    its IRQ if there is one (GSI, polarity, trigger), else the input of the same number,
//    edge-triggered, active high (ACPI 6.5 §5.2.12.5). Any chipset.
//
//   drivers::InterruptPlatform p{&config, host_bridge, ioapics};
//   klib::Result<drivers::IrqRoute> r = drivers::route_interrupt(p, device);
//   if (r) arch::ioapic_route(r.value().ioapic, r.value().pin, vector, apic_id, r.value().level, r.value().active_low);
#pragma once

#include <arch/x86_64/cpus.h>
#include <drivers/device.h>
#include <drivers/pci/pci.h>
#include <lib/result.h>

#include <span>

namespace drivers {

struct InterruptPlatform {
  ConfigSpace* pci_config;       // the PIIX's route registers (read, and written to enable a route)
  const PciDevice* host_bridge;  // function 0:0.0 (i440FX 8086:1237, q35 8086:29C0), nullptr if none
  // The MADT's I/O APICs; a machine whose MADT lists none passes the usual one (0xFEC00000, GSI 0).
  std::span<const arch::CpuList::IoApic> ioapics;
  // The MADT's interrupt source overrides of ISA IRQs (none: every ISA IRQ on its own input).
  std::span<const arch::CpuList::IsaOverride> isa_overrides = {};
};

struct IrqRoute {
  uint32_t gsi;       // global system interrupt (ACPI): the I/O APIC input across all I/O APICs
  uint64_t ioapic;    // the I/O APIC serving it
  uint32_t pin;       // and its input there
  bool level = true;  // PCI and virtio: level-triggered, active high; ISA: edge unless overridden
  bool active_low = false;
};

// kNoDevice if the chipset's routing of `d` is not known (no pin, not on bus 0, an unknown
// host bridge, an MMIO window outside microvm's slots, microvm without its second I/O APIC, an
// ISA device without an IRQ) or no I/O APIC serves the input.
klib::Result<IrqRoute> route_interrupt(const InterruptPlatform& p, const Device& d);

}  // namespace drivers
