#include <drivers/pci/pci.h>
#include <gtest/gtest.h>

#include "sim_pci.h"

namespace {

using drivers::test::SimBus;
using drivers::test::SimFunction;

TEST(Pci, ScansAllBusesAndMultiFunctionDevices) {
  SimBus sim;
  sim.add(0, 0, 0, 0x8086, 0x1237);
  sim.add(0, 3, 0, 0x8086, 0x100E);
  sim.add(0, 5, 0, 0x1234, 0x0001, true);
  sim.add(0, 5, 2, 0x1234, 0x0002);
  sim.add(7, 1, 0, 0x1AF4, 0x1000);
  sim.add(0, 6, 3, 0x1111, 0x2222);  // fn 3 of a single-function device: not scanned
  drivers::PciBus bus;
  bus.scan(sim);
  ASSERT_EQ(bus.size(), 5u);
  EXPECT_NE(bus.find(0x1234, 0x0002), nullptr);
  EXPECT_NE(bus.find(0x1AF4, 0x1000), nullptr);
  EXPECT_EQ(bus.find(0x1111, 0x2222), nullptr);
  EXPECT_EQ(bus.find(0x8086, 0x100E)->class_code, 0x02);
}

TEST(Pci, SizesBarsAndAssignsTheUnassignedOnes) {
  SimBus sim;
  SimFunction& e1000 = sim.add(0, 3, 0, 0x8086, 0x100E);
  e1000.bar_mask[0] = 0xFFFE0000;  // 128 KiB memory BAR, already assigned by firmware
  e1000.regs[4] = 0xFEB80000;
  e1000.bar_mask[1] = 0xFFFFFFC1;  // 64-byte I/O BAR at 0 (unassigned)
  e1000.regs[5] = 0x1;
  SimFunction& virtio = sim.add(0, 4, 0, 0x1AF4, 0x1000);
  virtio.bar_mask[0] = 0xFFFFFFE1;  // 32-byte I/O BAR, unassigned (what qboot leaves)
  virtio.regs[4] = 0x1;
  virtio.bar_mask[4] = 0xFFFFC000;  // 16 KiB 64-bit prefetchable memory BAR, unassigned
  virtio.regs[8] = 0xC;
  virtio.bar_mask[5] = 0xFFFFFFFF;
  drivers::PciBus bus;
  bus.scan(sim);
  const drivers::PciDevice* e = bus.find(0x8086, 0x100E);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->bar[0].size, 0x20000u);
  EXPECT_EQ(e->bar[0].base, 0xFEB80000u);
  EXPECT_TRUE(e->bar[1].io);
  EXPECT_EQ(e->bar[1].size, 64u);
  const drivers::PciDevice* v = bus.find(0x1AF4, 0x1000);
  EXPECT_TRUE(v->bar[4].is64);
  EXPECT_EQ(v->bar[4].size, 0x4000u);
  EXPECT_EQ(bus.unassigned(), 3u);

  drivers::PciWindows w;
  EXPECT_EQ(bus.assign_unassigned(sim, w), 3);
  EXPECT_EQ(bus.unassigned(), 0u);
  e = bus.find(0x8086, 0x100E);
  v = bus.find(0x1AF4, 0x1000);
  EXPECT_EQ(e->bar[1].base % 64, 0u);
  EXPECT_GE(e->bar[1].base, 0xC000u);
  EXPECT_EQ(v->bar[0].base % 32, 0u);
  EXPECT_NE(v->bar[0].base, e->bar[1].base);
  EXPECT_EQ(v->bar[4].base % 0x4000, 0u);
  EXPECT_GE(v->bar[4].base, 0xC0000000u);
  EXPECT_EQ(sim.read32(0, 4, 0, 0x10), uint32_t(v->bar[0].base) | 1);  // written to the device
  EXPECT_EQ(sim.read32(0, 4, 0, 0x04) & 0x7, 0x3u);                    // decoding on; bus mastering is the driver's
  // A rescan sees the assignment.
  drivers::PciBus again;
  again.scan(sim);
  EXPECT_EQ(again.unassigned(), 0u);
  EXPECT_EQ(again.find(0x1AF4, 0x1000)->bar[0].base, v->bar[0].base);
}

TEST(Pci, BarsThatDoNotFitStayUnassigned) {
  SimBus sim;
  SimFunction& f = sim.add(0, 1, 0, 0x1234, 0x5678);
  f.bar_mask[0] = 0xF0000000;  // 256 MiB
  drivers::PciBus bus;
  bus.scan(sim);
  drivers::PciWindows tiny;
  tiny.mem_base = 0xFE000000;
  EXPECT_EQ(bus.assign_unassigned(sim, tiny), 0);
  EXPECT_EQ(bus.unassigned(), 1u);
  EXPECT_EQ(sim.read32(0, 1, 0, 0x04) & 0x3, 0u);  // nothing decodes at address 0
}

}  // namespace

#include <drivers/virtio/transport.h>

namespace {

TEST(VirtioPciCaps, FindsTheFourStructuresInTheCapabilityList) {
  SimBus sim;
  SimFunction& f = sim.add(0, 3, 0, 0x1AF4, 0x1041);
  f.bar_mask[4] = 0xFFFFC000;  // 16 KiB 64-bit memory BAR
  f.regs[8] = 0xFEBF0004;
  f.bar_mask[5] = 0xFFFFFFFF;
  f.regs[1] = 0x00100000;  // status: capability list
  f.regs[0x34 / 4] = 0x40;
  auto cap = [&](uint8_t at, uint8_t next, uint8_t type, uint32_t offset) {
    f.regs[at / 4] = 0x09u | uint32_t(next) << 8 | 16u << 16 | uint32_t(type) << 24;
    f.regs[at / 4 + 1] = 4;  // BAR 4
    f.regs[at / 4 + 2] = offset;
    f.regs[at / 4 + 3] = 0x1000;
  };
  cap(0x40, 0x50, 1, 0x0000);
  cap(0x50, 0x60, 3, 0x1000);
  cap(0x60, 0x74, 4, 0x2000);
  cap(0x74, 0x00, 2, 0x3000);
  f.regs[0x84 / 4] = 4;  // notify_off_multiplier
  drivers::PciBus bus;
  bus.scan(sim);
  const drivers::PciDevice* d = bus.find(0x1AF4, 0x1041);
  ASSERT_NE(d, nullptr);
  drivers::VirtioPciCaps caps;
  ASSERT_TRUE(drivers::find_virtio_caps(sim, *d, &caps));
  EXPECT_EQ(caps.common, 0xFEBF0000u);
  EXPECT_EQ(caps.isr, 0xFEBF1000u);
  EXPECT_EQ(caps.device, 0xFEBF2000u);
  EXPECT_EQ(caps.notify, 0xFEBF3000u);
  EXPECT_EQ(caps.notify_multiplier, 4u);
  // A list that loops on itself still ends, and an incomplete set is refused.
  f.regs[0x74 / 4] = 0x09u | 0x40u << 8 | 16u << 16 | 2u << 24;
  f.regs[0x60 / 4] = 0;  // device-config capability gone
  f.regs[0x50 / 4] = 0x09u | 0x74u << 8 | 16u << 16 | 3u << 24;
  EXPECT_FALSE(drivers::find_virtio_caps(sim, *d, &caps));
}

// PIIX3 interrupt routing: the PIRQ route register decides, through the board's swizzle; a
// disabled route is enabled on the firmware's line.
TEST(Pci, PiixRoutingFollowsThePirqRegisters) {
  SimBus sim;
  sim.add(0, 0, 0, 0x8086, 0x1237);
  SimFunction& piix = sim.add(0, 1, 0, 0x8086, 0x7000);
  piix.regs[0x60 / 4] = 0x0B0A800B;  // PIRQA -> 11, B -> disabled, C -> 10, D -> 11
  drivers::PciDevice d{};
  d.bus = 0;
  d.irq_pin = 1;  // INTA
  d.irq_line = 10;
  d.dev = 3;  // PIRQ (3 + 1 - 2) & 3 = C
  EXPECT_EQ(drivers::piix_irq(sim, d), 10);
  d.dev = 4;  // D: 11 although the line register says 10
  EXPECT_EQ(drivers::piix_irq(sim, d), 11);
  d.dev = 1;  // A
  d.irq_pin = 1;
  EXPECT_EQ(drivers::piix_irq(sim, d), 11);
  d.dev = 2;  // B: disabled -> enabled on the line's IRQ
  EXPECT_EQ(drivers::piix_irq(sim, d), 10);
  EXPECT_EQ(piix.regs[0x60 / 4], 0x0B0A0A0Bu);
  d.irq_pin = 0;  // no pin
  EXPECT_EQ(drivers::piix_irq(sim, d), -1);
  d.irq_pin = 2;  // INTB of device 2: (2 + 2 - 2) & 3 = C
  EXPECT_EQ(drivers::piix_irq(sim, d), 10);
  d.bus = 1;
  EXPECT_EQ(drivers::piix_irq(sim, d), -1);
}

}  // namespace
