// Chipset interrupt routing on the host: PIIX route registers, q35's swizzle, microvm's
// virtio-mmio slots, and the I/O APIC that serves the input.
#include <drivers/irq_routing.h>
#include <gtest/gtest.h>

#include "sim_pci.h"

namespace {

using drivers::Device;
using drivers::InterruptPlatform;
using drivers::PciDevice;
using drivers::Transport;
using klib::Error;

const arch::CpuList::IoApic kOneIoApic[] = {{0xFEC00000, 0}};
const arch::CpuList::IoApic kTwoIoApics[] = {{0xFEC00000, 0}, {0xFEC10000, 24}};

PciDevice function(uint8_t bus, uint8_t dev, uint8_t pin, uint8_t line = 0) {
  PciDevice d{};
  d.bus = bus;
  d.dev = dev;
  d.irq_pin = pin;
  d.irq_line = line;
  return d;
}

Device on_pci(const PciDevice& d) { return {nullptr, Transport::kPci, false, &d, 0}; }
Device on_mmio(uint64_t base) { return {nullptr, Transport::kVirtioMmio, false, nullptr, base}; }

TEST(IrqRouting, PiixFollowsItsRouteRegisters) {
  drivers::test::SimBus sim;
  sim.add(0, 0, 0, 0x8086, 0x1237);
  drivers::test::SimFunction& piix = sim.add(0, 1, 0, 0x8086, 0x7000);
  piix.regs[0x60 / 4] = 0x0B0A800B;  // PIRQA -> 11, B -> disabled, C -> 10, D -> 11
  PciDevice h = function(0, 0, 0);
  h.vendor = 0x8086;
  h.device = 0x1237;
  const InterruptPlatform p{&sim, &h, kOneIoApic};
  // Slot 3 INTA -> PIRQ (3 + 1 - 2) & 3 = C -> IRQ 10; slot 4 INTA -> D -> 11 whatever the line says.
  const PciDevice slot3 = function(0, 3, 1, 11), slot4 = function(0, 4, 1, 10);
  klib::Result<drivers::IrqRoute> r = drivers::route_interrupt(p, on_pci(slot3));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().gsi, 10u);
  EXPECT_EQ(r.value().ioapic, 0xFEC00000u);
  EXPECT_EQ(r.value().pin, 10u);
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(slot4)).value().gsi, 11u);
  // Slot 2 INTA -> B, disabled: enabled on the firmware's line.
  const PciDevice slot2 = function(0, 2, 1, 10);
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(slot2)).value().gsi, 10u);
  EXPECT_EQ(piix.regs[0x60 / 4], 0x0B0A0A0Bu);
  // No pin, or behind a bridge: not known.
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 3, 0))).error(), Error::kNoDevice);
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(1, 3, 1, 11))).error(), Error::kNoDevice);
}

TEST(IrqRouting, Q35SwizzlesSlotsOntoInputs20To23) {
  PciDevice h = function(0, 0, 0);
  h.vendor = 0x8086;
  h.device = 0x29C0;
  const InterruptPlatform p{nullptr, &h, kOneIoApic};
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 2, 1))).value().gsi, 22u);  // 20 + (2 + 1 - 1) % 4
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 3, 1))).value().gsi, 23u);
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 4, 1))).value().pin, 20u);
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 4, 2))).value().gsi, 21u);            // INTB
  EXPECT_EQ(drivers::route_interrupt(p, on_pci(function(0, 25, 1))).error(), Error::kNoDevice);  // past the _PRT
  // An I/O APIC list that does not reach input 22.
  const arch::CpuList::IoApic high[] = {{0xFEC10000, 24}};
  const InterruptPlatform q{nullptr, &h, high};
  EXPECT_EQ(drivers::route_interrupt(q, on_pci(function(0, 2, 1))).error(), Error::kNoDevice);
}

TEST(IrqRouting, UnknownChipsetsPoll) {
  PciDevice h = function(0, 0, 0);
  h.vendor = 0x1022;  // not Intel
  h.device = 0x1450;
  EXPECT_EQ(drivers::route_interrupt({nullptr, &h, kOneIoApic}, on_pci(function(0, 3, 1))).error(), Error::kNoDevice);
  h.vendor = 0x8086;
  h.device = 0x3EC2;  // an Intel host bridge without known routing
  EXPECT_EQ(drivers::route_interrupt({nullptr, &h, kOneIoApic}, on_pci(function(0, 3, 1))).error(), Error::kNoDevice);
  EXPECT_EQ(drivers::route_interrupt({nullptr, nullptr, kOneIoApic}, on_pci(function(0, 3, 1))).error(),
            Error::kNoDevice);
}

TEST(IrqRouting, MicrovmSlotsOnTheSecondIoApic) {
  const InterruptPlatform p{nullptr, nullptr, kTwoIoApics};
  klib::Result<drivers::IrqRoute> r = drivers::route_interrupt(p, on_mmio(0xFEB00000 + 23 * 0x200));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().gsi, 47u);  // measured with QEMU 7.2
  EXPECT_EQ(r.value().ioapic, 0xFEC10000u);
  EXPECT_EQ(r.value().pin, 23u);
  EXPECT_EQ(drivers::route_interrupt(p, on_mmio(0xFEB00000)).value().gsi, 24u);
  EXPECT_EQ(drivers::route_interrupt(p, on_mmio(0xFEB00000 + 24 * 0x200)).error(), Error::kNoDevice);
  EXPECT_EQ(drivers::route_interrupt(p, on_mmio(0xD0000000)).error(), Error::kNoDevice);
  // microvm,ioapic2=off: no interrupt arrived on 5 + i in our measurements, so it polls.
  EXPECT_EQ(drivers::route_interrupt({nullptr, nullptr, kOneIoApic}, on_mmio(0xFEB00000)).error(), Error::kNoDevice);
}

// Legacy ISA devices (the ATA channels): the IRQ's own input, edge-triggered and active high,
// unless the MADT overrides it; on any chipset.
TEST(IrqRouting, IsaIrqsFollowTheMadtsOverrides) {
  const drivers::Driver ata0{
      .name = "ATA0", .label = "ATA0", .device_class = drivers::DeviceClass::kBlock, .isa_port = 0x1F0, .isa_irq = 14};
  const drivers::Driver ata1{
      .name = "ATA1", .label = "ATA1", .device_class = drivers::DeviceClass::kBlock, .isa_port = 0x170, .isa_irq = 15};
  const Device primary{&ata0, Transport::kIsa, false, nullptr, 0};
  const Device secondary{&ata1, Transport::kIsa, false, nullptr, 0};
  // QEMU pc's MADT: IRQ 0 -> GSI 2, and the PCI IRQs 5, 9, 10, 11 level-triggered, active high.
  const arch::CpuList::IsaOverride qemu[] = {{0, 2, 0}, {5, 5, 0xD}, {9, 9, 0xD}, {10, 10, 0xD}, {11, 11, 0xD}};
  const InterruptPlatform p{nullptr, nullptr, kOneIoApic, qemu};
  klib::Result<drivers::IrqRoute> r = drivers::route_interrupt(p, primary);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().gsi, 14u);
  EXPECT_EQ(r.value().ioapic, 0xFEC00000u);
  EXPECT_EQ(r.value().pin, 14u);
  EXPECT_FALSE(r.value().level);
  EXPECT_FALSE(r.value().active_low);
  EXPECT_EQ(drivers::route_interrupt(p, secondary).value().gsi, 15u);
  // Without any override (Bochs lists only IRQ 0's): the same.
  EXPECT_EQ(drivers::route_interrupt({nullptr, nullptr, kOneIoApic}, secondary).value().pin, 15u);
  // An override moves the IRQ and sets its trigger and polarity (bits 2-3: 3 level; bits 0-1: 3 low).
  const arch::CpuList::IsaOverride moved[] = {{14, 30, 0xF}, {15, 15, 0x5}};
  const InterruptPlatform q{nullptr, nullptr, kTwoIoApics, moved};
  r = drivers::route_interrupt(q, primary);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().gsi, 30u);
  EXPECT_EQ(r.value().ioapic, 0xFEC10000u);
  EXPECT_EQ(r.value().pin, 6u);
  EXPECT_TRUE(r.value().level);
  EXPECT_TRUE(r.value().active_low);
  r = drivers::route_interrupt(q, secondary);  // explicitly edge, active high
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().level);
  EXPECT_FALSE(r.value().active_low);
  // Polarity 1 (high) with trigger 3 (level), as QEMU gives the PCI IRQs.
  const arch::CpuList::IsaOverride level_high[] = {{14, 14, 0xD}};
  r = drivers::route_interrupt({nullptr, nullptr, kOneIoApic, level_high}, primary);
  EXPECT_TRUE(r.value().level);
  EXPECT_FALSE(r.value().active_low);
  // No I/O APIC serving the input, or no IRQ at all: not known.
  const arch::CpuList::IoApic high[] = {{0xFEC10000, 24}};
  EXPECT_EQ(drivers::route_interrupt({nullptr, nullptr, high}, primary).error(), Error::kNoDevice);
  const drivers::Driver no_irq{
      .name = "x", .label = "x", .device_class = drivers::DeviceClass::kBlock, .isa_port = 0x1E8};
  EXPECT_EQ(drivers::route_interrupt(p, {&no_irq, Transport::kIsa, false, nullptr, 0}).error(), Error::kNoDevice);
  // A PCI device's route stays level-triggered, active high.
  PciDevice h = function(0, 0, 0);
  h.vendor = 0x8086;
  h.device = 0x29C0;
  const InterruptPlatform q35{nullptr, &h, kOneIoApic, qemu};
  r = drivers::route_interrupt(q35, on_pci(function(0, 2, 1)));
  EXPECT_TRUE(r.value().level);
  EXPECT_FALSE(r.value().active_low);
}

}  // namespace
