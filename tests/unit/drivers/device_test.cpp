// The device model on the host: which driver takes which PCI function or virtio device (the
// build's real drivers and made-up ones), the registry's name rules and claims, the virtio
// transport factory over register mocks, and start_device's dispatch to the driver.
#include <drivers/device.h>
#include <drivers/virtio/bus.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "sim_pci.h"

namespace {

using drivers::Device;
using drivers::DeviceClass;
using drivers::DeviceRegistry;
using drivers::Driver;
using drivers::NameRule;
using drivers::PciDevice;
using drivers::Transport;
using klib::Error;

PciDevice pci(uint16_t vendor, uint16_t device, uint16_t subsystem = 0) {
  PciDevice d{};
  d.vendor = vendor;
  d.device = device;
  d.subsystem_device = subsystem;
  return d;
}

const Driver* find_driver(const char* name) {
  for (const Driver* const* d = drivers::registered_drivers; *d != nullptr; ++d) {
    if (strcmp((*d)->name, name) == 0) return *d;
  }
  return nullptr;
}

TEST(DeviceMatch, TheBuildsDriversTakeTheirPciFunctions) {
  const Driver* e1000 = find_driver("e1000");
  const Driver* virtionet = find_driver("virtionet");
  ASSERT_NE(e1000, nullptr);
  ASSERT_NE(virtionet, nullptr);
  EXPECT_STREQ(e1000->label, "e1000");
  EXPECT_STREQ(virtionet->label, "VirtIONet");
  Transport t;

  PciDevice e = pci(0x8086, 0x100E);
  e.bar[0] = {0xFEB80000, 0x20000, false, false, false};
  EXPECT_EQ(drivers::match_pci(e, drivers::registered_drivers, &t), e1000);
  EXPECT_EQ(t, Transport::kPci);
  e.bar[0].base = 0;  // its registers nowhere: not usable
  EXPECT_EQ(drivers::match_pci(e, drivers::registered_drivers, &t), nullptr);

  // Transitional virtio-net: the legacy interface in I/O BAR 0, type in the subsystem ID.
  PciDevice legacy = pci(0x1AF4, 0x1000, 1);
  legacy.bar[0] = {0xC040, 0x20, true, false, false};
  EXPECT_EQ(drivers::match_pci(legacy, drivers::registered_drivers, &t), virtionet);
  EXPECT_EQ(t, Transport::kVirtioLegacyPci);
  legacy.bar[0].base = 0;
  EXPECT_EQ(drivers::match_pci(legacy, drivers::registered_drivers, &t), nullptr);

  // Modern virtio-net (1AF4:1041): usable whatever BAR 0 is; the capabilities decide at start.
  EXPECT_EQ(drivers::match_pci(pci(0x1AF4, 0x1041), drivers::registered_drivers, &t), virtionet);
  EXPECT_EQ(t, Transport::kVirtioModernPci);

  // virtio-blk: transitional 1AF4:1001 (type 2 in the subsystem ID) and modern 1AF4:1042.
  const Driver* virtioblk = find_driver("virtioblk");
  ASSERT_NE(virtioblk, nullptr);
  EXPECT_STREQ(virtioblk->label, "VirtIOBlk");
  EXPECT_EQ(virtioblk->device_class, DeviceClass::kBlock);
  PciDevice block = pci(0x1AF4, 0x1001, 2);
  block.bar[0] = {0xC080, 0x40, true, false, false};
  EXPECT_EQ(drivers::match_pci(block, drivers::registered_drivers, &t), virtioblk);
  EXPECT_EQ(t, Transport::kVirtioLegacyPci);
  EXPECT_EQ(drivers::match_pci(pci(0x1AF4, 0x1042), drivers::registered_drivers, &t), virtioblk);
  EXPECT_EQ(t, Transport::kVirtioModernPci);
  EXPECT_EQ(drivers::match_virtio(2, drivers::registered_drivers), virtioblk);

  // virtio-console: transitional 1AF4:1003 (type 3) and modern 1AF4:1043.
  const Driver* virtiocon = find_driver("virtiocon");
  ASSERT_NE(virtiocon, nullptr);
  EXPECT_EQ(virtiocon->device_class, DeviceClass::kConsole);
  PciDevice console = pci(0x1AF4, 0x1003, 3);
  console.bar[0] = {0xC0C0, 0x40, true, false, false};
  EXPECT_EQ(drivers::match_pci(console, drivers::registered_drivers, &t), virtiocon);
  EXPECT_EQ(t, Transport::kVirtioLegacyPci);
  EXPECT_EQ(drivers::match_pci(pci(0x1AF4, 0x1043), drivers::registered_drivers, &t), virtiocon);
  EXPECT_EQ(drivers::match_virtio(3, drivers::registered_drivers), virtiocon);

  // Other virtio types (the entropy device, 4), and devices nobody drives, stay unbound.
  PciDevice rng = pci(0x1AF4, 0x1005, 4);
  rng.bar[0] = {0xC0C0, 0x40, true, false, false};
  EXPECT_EQ(drivers::match_pci(rng, drivers::registered_drivers, &t), nullptr);
  EXPECT_EQ(drivers::match_pci(pci(0x8086, 0x1237), drivers::registered_drivers, &t), nullptr);
  EXPECT_EQ(drivers::match_pci(pci(0x1AF4, 0x1110), drivers::registered_drivers, &t), nullptr);  // ivshmem: not virtio

  EXPECT_EQ(drivers::match_virtio(1, drivers::registered_drivers), virtionet);
  EXPECT_EQ(drivers::match_virtio(4, drivers::registered_drivers), nullptr);
  EXPECT_EQ(drivers::match_virtio(0, drivers::registered_drivers), nullptr);
}

TEST(DeviceMatch, ByClassAndTheFirstDriverWins) {
  const Driver ide{
      .name = "ATA", .label = "ATA", .device_class = DeviceClass::kNetwork, .class_code = 1, .subclass = 1};
  const Driver any_storage{.name = "disk", .label = "disk", .device_class = DeviceClass::kNetwork, .class_code = 1};
  const Driver picky{.name = "picky",
                     .label = "picky",
                     .device_class = DeviceClass::kNetwork,
                     .vendor = 0x8086,
                     .usable = [](const PciDevice& d) { return d.irq_pin != 0; }};
  const Driver* const list[] = {&picky, &ide, &any_storage, nullptr};
  Transport t;
  PciDevice d = pci(0x8086, 0x7010);
  d.class_code = 1;
  d.subclass = 1;
  EXPECT_EQ(drivers::match_pci(d, list, &t), &ide);  // picky passes: no interrupt pin
  d.irq_pin = 1;
  EXPECT_EQ(drivers::match_pci(d, list, &t), &picky);
  d = pci(0x1234, 0x5678);
  d.class_code = 1;
  d.subclass = 6;  // SATA
  EXPECT_EQ(drivers::match_pci(d, list, &t), &any_storage);
  d.class_code = 2;
  EXPECT_EQ(drivers::match_pci(d, list, &t), nullptr);
}

// Toro's rules: DedicateNetwork wants the exact name, DedicateBlockDriver and
// DedicateNetworkSocket the first name that starts with the one asked for.
TEST(DeviceRegistry, NameRules) {
  EXPECT_TRUE(drivers::name_matches("virtionet", "virtionet", NameRule::kExact));
  EXPECT_FALSE(drivers::name_matches("virtionet", "virtio", NameRule::kExact));
  EXPECT_FALSE(drivers::name_matches("virtio", "virtionet", NameRule::kExact));
  EXPECT_FALSE(drivers::name_matches("e1000", "E1000", NameRule::kExact));
  EXPECT_TRUE(drivers::name_matches("virtionet", "virtio", NameRule::kPrefix));
  EXPECT_TRUE(drivers::name_matches("virtiovsocket", "virtiovsock", NameRule::kPrefix));
  EXPECT_TRUE(drivers::name_matches("ATA0", "ATA0", NameRule::kPrefix));
  EXPECT_FALSE(drivers::name_matches("ATA0", "ATA1", NameRule::kPrefix));
  EXPECT_FALSE(drivers::name_matches("ATA", "ATA0", NameRule::kPrefix));
  EXPECT_TRUE(drivers::name_matches("ATA1", "", NameRule::kPrefix));  // StrCmp of 0 bytes
  EXPECT_FALSE(drivers::name_matches("ATA1", "", NameRule::kExact));
}

struct DeviceRegistryOfThree : ::testing::Test {
  const Driver e1000{.name = "e1000", .label = "e1000", .device_class = DeviceClass::kNetwork};
  const Driver virtionet{.name = "virtionet", .label = "VirtIONet", .device_class = DeviceClass::kNetwork};
  DeviceRegistry r;
  Device* first_virtio = nullptr;
  Device* second_virtio = nullptr;
  void SetUp() override {
    ASSERT_TRUE(r.add({&e1000, Transport::kPci, false, nullptr, 0}).ok());
    first_virtio = r.add({&virtionet, Transport::kVirtioMmio, false, nullptr, 0xFEB00000}).value();
    second_virtio = r.add({&virtionet, Transport::kVirtioMmio, false, nullptr, 0xFEB00200}).value();
  }
};

TEST_F(DeviceRegistryOfThree, ClaimsTheFirstFreeDeviceOfThatName) {
  klib::Result<Device*> a = r.claim(DeviceClass::kNetwork, "virtionet", NameRule::kExact);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value(), first_virtio);
  EXPECT_TRUE(first_virtio->claimed);
  // The first one is dedicated already: the next call gets the second card.
  klib::Result<Device*> b = r.claim(DeviceClass::kNetwork, "virtionet", NameRule::kExact);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value(), second_virtio);
  // Both dedicated: busy, not "no such device".
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "virtionet", NameRule::kExact).error(), Error::kBusy);
  // A card given back (its bring-up failed) is free again.
  r.release(*first_virtio);
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "virtionet", NameRule::kExact).value_or(nullptr), first_virtio);
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "e1000", NameRule::kExact).value_or(nullptr), &r[0]);
}

TEST_F(DeviceRegistryOfThree, UnknownNamesAndTheNameRule) {
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "ne2000", NameRule::kExact).error(), Error::kNoDevice);
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "virtio", NameRule::kExact).error(), Error::kNoDevice);
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "virtio", NameRule::kPrefix).value_or(nullptr), first_virtio);
  EXPECT_EQ(r.claim(DeviceClass::kNetwork, "", NameRule::kPrefix).value_or(nullptr), &r[0]);
}

TEST(DeviceRegistry, FullTableIsALimit) {
  const Driver d{.name = "x", .label = "x", .device_class = DeviceClass::kNetwork};
  DeviceRegistry r;
  for (size_t i = 0; i < DeviceRegistry::kMaxDevices; ++i)
    ASSERT_TRUE(r.add({&d, Transport::kPci, false, nullptr, 0}).ok());
  EXPECT_EQ(r.add({&d, Transport::kPci, false, nullptr, 0}).error(), Error::kLimit);
  EXPECT_EQ(r.size(), DeviceRegistry::kMaxDevices);
}

TEST(VirtioMmio, KernelParameters) {
  uint64_t base = 0;
  EXPECT_TRUE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512@0xfeb00e00:12", &base));
  EXPECT_EQ(base, 0xFEB00E00u);
  EXPECT_TRUE(drivers::virtio::parse_mmio_param("virtio_mmio.device=4K@0XFEB00A00:5", &base));
  EXPECT_EQ(base, 0xFEB00A00u);
  EXPECT_TRUE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512@0xd0000000", &base));  // no IRQ
  EXPECT_EQ(base, 0xD0000000u);
  EXPECT_FALSE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512@0x0:5", &base));
  EXPECT_FALSE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512@feb00e00:12", &base));
  EXPECT_FALSE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512@0xfeb0ze00:12", &base));
  EXPECT_FALSE(drivers::virtio::parse_mmio_param("virtio_mmio.device=512", &base));
  EXPECT_FALSE(drivers::virtio::parse_mmio_param("virtionet", &base));
}

// Register windows for the transport factory: each records where it was opened, and answers
// reads from a map (a legacy virtio-mmio header when asked to).
class WindowIo final : public drivers::Io {
 public:
  WindowIo(uint64_t base, bool port) : base(base), port(port) {}
  uint64_t base;
  bool port;
  std::map<uint32_t, uint32_t> regs;
  uint8_t read8(uint32_t o) override { return uint8_t(regs[o]); }
  uint16_t read16(uint32_t o) override { return uint16_t(regs[o]); }
  uint32_t read32(uint32_t o) override { return regs[o]; }
  void write8(uint32_t o, uint8_t v) override { regs[o] = v; }
  void write16(uint32_t o, uint16_t v) override { regs[o] = v; }
  void write32(uint32_t o, uint32_t v) override { regs[o] = v; }
};

struct Factory : ::testing::Test {
  drivers::test::SimBus sim;
  std::vector<void*> blocks;
  std::vector<WindowIo*> windows;
  bool out_of_memory = false;
  bool mmio_device = true;  // what an MMIO window holds: a legacy virtio-net, or nothing
  drivers::StartContext context{{alloc, this}, 64u << 20, &sim, open};

  static void* alloc(size_t size, size_t align, void* self) {
    auto* f = static_cast<Factory*>(self);
    if (f->out_of_memory) return nullptr;
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    f->blocks.push_back(p);
    return p;
  }
  static drivers::Io* open(const drivers::StartContext& c, uint64_t base, bool port) {
    auto* f = static_cast<Factory*>(c.memory.ctx);
    if (f->out_of_memory) return nullptr;
    auto* w = new WindowIo(base, port);
    if (f->mmio_device) {
      w->regs[0x000] = 0x74726976;  // "virt"
      w->regs[0x004] = 1;           // legacy
      w->regs[0x008] = 1;           // network
    }
    f->windows.push_back(w);
    return w;
  }
  void TearDown() override {
    for (void* p : blocks) free(p);
    for (WindowIo* w : windows) delete w;
  }
};

TEST_F(Factory, LegacyPciOpensIoBarZeroAndEnablesTheFunction) {
  sim.add(0, 4, 0, 0x1AF4, 0x1000);
  PciDevice p = pci(0x1AF4, 0x1000, 1);
  p.dev = 4;
  p.bar[0] = {0xC040, 0x20, true, false, false};
  const Device d{nullptr, Transport::kVirtioLegacyPci, false, &p, 0};
  klib::Result<drivers::VirtioTransport*> t = drivers::virtio::make_transport(d, context);
  ASSERT_TRUE(t.ok());
  EXPECT_STREQ(t.value()->name(), "virtio-pci (legacy)");
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_TRUE(windows[0]->port);
  EXPECT_EQ(windows[0]->base, 0xC040u);
  EXPECT_EQ(sim.read32(0, 4, 0, 0x04) & 0x7, 0x7u);  // I/O, memory, bus master
}

TEST_F(Factory, MmioProbesTheWindow) {
  const Device d{nullptr, Transport::kVirtioMmio, false, nullptr, 0xFEB00000};
  klib::Result<drivers::VirtioTransport*> t = drivers::virtio::make_transport(d, context);
  ASSERT_TRUE(t.ok());
  EXPECT_STREQ(t.value()->name(), "virtio-mmio (legacy)");
  EXPECT_FALSE(windows[0]->port);
  EXPECT_EQ(windows[0]->base, 0xFEB00000u);
  EXPECT_EQ(windows[0]->regs[0x028], 4096u);  // guest page size set by the probe
  mmio_device = false;
  EXPECT_EQ(drivers::virtio::make_transport(d, context).error(), Error::kDeviceFailed);
  out_of_memory = true;
  EXPECT_EQ(drivers::virtio::make_transport(d, context).error(), Error::kNoMemory);
}

TEST_F(Factory, ModernPciNeedsItsFourCapabilities) {
  drivers::test::SimFunction& f = sim.add(0, 3, 0, 0x1AF4, 0x1041);
  f.bar_mask[4] = 0xFFFFC000;
  f.regs[8] = 0xFEBF0004;
  f.bar_mask[5] = 0xFFFFFFFF;
  drivers::PciBus bus;
  bus.scan(sim);
  const Device d{nullptr, Transport::kVirtioModernPci, false, &bus[0], 0};
  EXPECT_EQ(drivers::virtio::make_transport(d, context).error(), Error::kDeviceFailed);  // no capability list
  f.regs[1] |= 0x00100000;
  f.regs[0x34 / 4] = 0x40;
  const uint8_t types[] = {1, 3, 4, 2};
  for (uint8_t i = 0; i < 4; ++i) {
    const uint8_t at = uint8_t(0x40 + 0x14 * i);
    f.regs[at / 4] = 0x09u | uint32_t(i == 3 ? 0 : at + 0x14) << 8 | 20u << 16 | uint32_t(types[i]) << 24;
    f.regs[at / 4 + 1] = 4;
    f.regs[at / 4 + 2] = 0x1000u * i;
    f.regs[at / 4 + 4] = 4;  // the notify capability's multiplier
  }
  klib::Result<drivers::VirtioTransport*> t = drivers::virtio::make_transport(d, context);
  ASSERT_TRUE(t.ok());
  EXPECT_STREQ(t.value()->name(), "virtio-pci (modern)");
  ASSERT_EQ(windows.size(), 4u);  // common, notify, ISR, device configuration
  EXPECT_EQ(windows[0]->base, 0xFEBF0000u);
  EXPECT_EQ(windows[1]->base, 0xFEBF3000u);
}

TEST_F(Factory, StartDeviceRunsTheDevicesDriver) {
  const Device unknown{nullptr, Transport::kPci, false, nullptr, 0};
  Device copy = unknown;
  EXPECT_EQ(drivers::start_device(copy, context).error(), Error::kNoDevice);
  // virtionet over an MMIO window whose device offers no queues: the driver gives up.
  Device net{find_driver("virtionet"), Transport::kVirtioMmio, false, nullptr, 0xFEB00000};
  EXPECT_EQ(drivers::start_device(net, context).error(), Error::kDeviceFailed);
  EXPECT_EQ(windows.size(), 1u);
  out_of_memory = true;
  EXPECT_EQ(drivers::start_device(net, context).error(), Error::kNoMemory);
  // e1000: enabled on its bus, then no memory for its registers' window.
  sim.add(0, 3, 0, 0x8086, 0x100E);
  PciDevice p = pci(0x8086, 0x100E);
  p.dev = 3;
  Device e{find_driver("e1000"), Transport::kPci, false, &p, 0};
  EXPECT_EQ(drivers::start_device(e, context).error(), Error::kNoMemory);
  EXPECT_EQ(sim.read32(0, 3, 0, 0x04) & 0x7, 0x7u);
}

}  // namespace
