// MSI-X (drivers/pci/msix.h) and the virtio transports' side of it (set_queue_vector, the legacy
// layout's moved device configuration), and virtio-net's receive interrupts turned off by the
// interrupt and on by rearm() (NAPI's rule).
#include <drivers/net/virtio_net.h>
#include <drivers/pci/msix.h>
#include <drivers/virtio/transport.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "sim_pci.h"
#include "sim_virtio.h"

namespace {

using drivers::test::SimBus;
using drivers::test::SimFunction;

// A register window backed by bytes; `forced16` makes 16-bit reads of an offset return a value
// of its own (a device that refuses a vector reads back 0xFFFF, virtio's NO_VECTOR).
class ByteIo final : public drivers::Io {
 public:
  uint8_t bytes[256] = {};
  std::map<uint32_t, uint16_t> forced16;
  int writes = 0, reads8 = 0;
  uint8_t read8(uint32_t o) override { return ++reads8, bytes[o]; }
  uint16_t read16(uint32_t o) override {
    if (auto it = forced16.find(o); it != forced16.end()) return it->second;
    uint16_t v;
    memcpy(&v, bytes + o, 2);
    return v;
  }
  uint32_t read32(uint32_t o) override {
    uint32_t v;
    memcpy(&v, bytes + o, 4);
    return v;
  }
  void write8(uint32_t o, uint8_t v) override { bytes[o] = v, ++writes; }
  void write16(uint32_t o, uint16_t v) override { memcpy(bytes + o, &v, 2), ++writes; }
  void write32(uint32_t o, uint32_t v) override { memcpy(bytes + o, &v, 4), ++writes; }
};

// A virtio-net function: capability list at 0x40 (a vendor capability) then 0x50 (MSI-X, 3
// entries, table at offset 0x800 of BAR 1, a 4 KiB memory BAR).
drivers::PciDevice msix_device(SimBus& sim, SimFunction** f) {
  *f = &sim.add(0, 3, 0, 0x1AF4, 0x1000);
  SimFunction& fn = **f;
  fn.regs[1] = 0x00100007;  // capability list
  fn.regs[0x34 / 4] = 0x40;
  fn.regs[0x40 / 4] = 0x09u | 0x50u << 8;               // vendor-specific, next 0x50
  fn.regs[0x50 / 4] = 0x11u | 0x00u << 8 | (2u << 16);  // MSI-X, last, table size 3
  fn.regs[0x54 / 4] = 0x800u | 1u;                      // table: BAR 1 + 0x800
  drivers::PciDevice d{};
  d.bus = 0, d.dev = 3, d.fn = 0;
  d.bar[1] = {0xFEBD1000, 0x1000, false, false, false};
  return d;
}

TEST(Msix, FindsTheCapabilityAndItsTable) {
  SimBus sim;
  SimFunction* f;
  drivers::PciDevice d = msix_device(sim, &f);
  drivers::Msix m;
  ASSERT_TRUE(drivers::find_msix(sim, d, &m));
  EXPECT_EQ(m.cap, 0x50);
  EXPECT_EQ(m.entries, 3);
  EXPECT_EQ(m.table, 0xFEBD1800u);
  // A table in an I/O BAR, an unassigned BAR, past the BAR's end, or a BIR of 7: none.
  d.bar[1].io = true;
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  d.bar[1] = {0, 0x1000, false, false, false};
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  d.bar[1] = {0xFEBD1000, 0x800, false, false, false};  // the table starts at the BAR's end
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  d.bar[1] = {0xFEBD1000, 0x1000, false, false, false};
  f->regs[0x54 / 4] = 0x800u | 7u;
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  // No MSI-X capability in the list, a list that loops, or no list at all.
  f->regs[0x54 / 4] = 0x800u | 1u;
  f->regs[0x50 / 4] = 0x05u;  // MSI, not MSI-X
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  f->regs[0x50 / 4] = 0x05u | 0x40u << 8;
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
  f->regs[1] = 0x00000007;
  EXPECT_FALSE(drivers::find_msix(sim, d, &m));
}

TEST(Msix, RoutesAnEntryToACoreAndEnables) {
  SimBus sim;
  SimFunction* f;
  drivers::PciDevice d = msix_device(sim, &f);
  drivers::Msix m;
  ASSERT_TRUE(drivers::find_msix(sim, d, &m));
  ByteIo table;
  table.bytes[16 + 12] = 1;  // entries start masked
  drivers::msix_route(table, 1, 3, 0x41);
  uint32_t address, high, data, control;
  memcpy(&address, table.bytes + 16, 4);
  memcpy(&high, table.bytes + 20, 4);
  memcpy(&data, table.bytes + 24, 4);
  memcpy(&control, table.bytes + 28, 4);
  EXPECT_EQ(address, 0xFEE03000u);  // the local APIC, destination APIC id 3
  EXPECT_EQ(high, 0u);
  EXPECT_EQ(data, 0x41u);         // the vector, fixed delivery, edge
  EXPECT_EQ(control, 0u);         // unmasked
  EXPECT_EQ(table.bytes[0], 0);   // entry 0 untouched
  f->regs[0x50 / 4] |= 1u << 30;  // function masked
  drivers::msix_enable(sim, d, m, true);
  EXPECT_EQ(f->regs[0x50 / 4] >> 30, 2u);  // enabled, function unmasked
  EXPECT_EQ(f->regs[0x50 / 4] & 0xFFFF, 0x0011u);
  drivers::msix_enable(sim, d, m, false);
  EXPECT_EQ(f->regs[0x50 / 4] >> 30, 0u);
}

// The legacy layout: MSI-X vectors at 20 (configuration) and 22 (the selected queue), the
// device configuration at 24 once MSI-X is on, and no ISR read to acknowledge.
TEST(VirtioMsix, LegacyTransportMovesTheConfigurationAndSetsVectors) {
  ByteIo io;
  drivers::LegacyPciTransport t(io);
  io.bytes[20] = 0x52, io.bytes[24] = 0x99;
  EXPECT_EQ(t.config8(0), 0x52);
  int reads = io.reads8;
  t.ack_interrupt();  // INTx: the ISR status is read (which lowers the line)
  EXPECT_EQ(io.reads8, reads + 1);
  EXPECT_FALSE(t.set_queue_vector(0, 0));  // not before use_msix
  ASSERT_TRUE(t.use_msix(true));
  EXPECT_EQ(t.config8(0), 0x99);
  uint16_t v;
  memcpy(&v, io.bytes + 20, 2);
  EXPECT_EQ(v, 0xFFFF);  // no configuration-change interrupts
  EXPECT_TRUE(t.set_queue_vector(1, 0));
  EXPECT_EQ(io.bytes[14], 1);  // queue 1 selected
  memcpy(&v, io.bytes + 22, 2);
  EXPECT_EQ(v, 0);
  const int writes = io.writes;
  reads = io.reads8;
  t.ack_interrupt();  // nothing to read (no ISR status) or write with MSI-X
  EXPECT_EQ(io.writes, writes);
  EXPECT_EQ(io.reads8, reads);
  io.forced16[22] = 0xFFFF;  // the device refuses
  EXPECT_FALSE(t.set_queue_vector(0, 0));
  t.use_msix(false);
  io.bytes[20] = 0x52;  // on the device, offset 20 is the configuration again (the mock keeps the vector)
  EXPECT_EQ(t.config8(0), 0x52);
}

TEST(VirtioMsix, ModernTransportSetsVectorsInTheCommonConfiguration) {
  ByteIo common, notify, isr, device;
  drivers::ModernPciTransport t(common, notify, isr, device, 4);
  ASSERT_TRUE(t.use_msix(true));
  uint16_t v;
  memcpy(&v, common.bytes + 0x10, 2);
  EXPECT_EQ(v, 0xFFFF);
  EXPECT_TRUE(t.set_queue_vector(1, 2));
  memcpy(&v, common.bytes + 0x16, 2);
  EXPECT_EQ(v, 1);
  memcpy(&v, common.bytes + 0x1A, 2);
  EXPECT_EQ(v, 2);
  common.forced16[0x1A] = 0xFFFF;
  EXPECT_FALSE(t.set_queue_vector(0, 0));
}

// virtio-net over a transport whose device refuses vectors: route_msix says no and the
// transport is back on INTx (its configuration where INTx has it).
class RefusingTransport final : public drivers::VirtioTransport {
 public:
  bool msix = false, refuse = false;
  uint16_t vectors[2] = {0xFFFF, 0xFFFF};
  uint64_t queue_phys[2] = {};
  void reset() override {}
  uint8_t status() override { return 0; }
  void set_status(uint8_t) override {}
  uint64_t device_features() override { return drivers::virtio_net::kFeatureMac; }
  void set_driver_features(uint64_t) override {}
  uint16_t queue_size(uint16_t q) override { return q < 2 ? 16 : 0; }
  bool set_queue(uint16_t q, uint16_t, uint64_t phys) override {
    queue_phys[q] = phys;
    return true;
  }
  void notify(uint16_t) override {}
  uint8_t config8(uint32_t) override { return 0; }
  void ack_interrupt() override {}
  bool use_msix(bool on) override {
    msix = on;
    return true;
  }
  bool set_queue_vector(uint16_t q, uint16_t entry) override {
    if (refuse || !msix) return false;
    vectors[q] = entry;
    return true;
  }
  const char* name() const override { return "test"; }
};

TEST(VirtioMsix, NetRoutesBothQueuesOrFallsBack) {
  drivers::test::Memory m;
  RefusingTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {drivers::test::Memory::alloc, &m}));
  EXPECT_TRUE(nic.route_msix(0));
  EXPECT_TRUE(t.msix);
  EXPECT_EQ(t.vectors[0], 0);
  EXPECT_EQ(t.vectors[1], 0);
  drivers::VirtioNet other;
  RefusingTransport r;
  r.refuse = true;
  ASSERT_TRUE(other.init(r, {drivers::test::Memory::alloc, &m}));
  EXPECT_FALSE(other.route_msix(0));
  EXPECT_FALSE(r.msix);  // back on INTx
}

// NAPI's rule: the interrupt turns receive interrupts off (VIRTQ_AVAIL_F_NO_INTERRUPT), the
// packet thread's rearm() turns them on and says whether a frame came meanwhile.
TEST(VirtioMsix, InterruptTurnsReceiveInterruptsOffUntilRearm) {
  drivers::test::Memory m;
  RefusingTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {drivers::test::Memory::alloc, &m}));
  auto* rx_avail_flags = reinterpret_cast<uint16_t*>(t.queue_phys[0] + 16 * 16);
  auto* rx_used = reinterpret_cast<uint8_t*>(t.queue_phys[0] + 4096);
  EXPECT_EQ(*rx_avail_flags, 0);
  nic.ack_interrupt();
  EXPECT_EQ(*rx_avail_flags, 1);
  EXPECT_FALSE(nic.rearm());  // nothing arrived
  EXPECT_EQ(*rx_avail_flags, 0);
  nic.ack_interrupt();
  // A frame arrives while interrupts are off: rearm turns them on and reports it.
  const uint32_t id = 0, len = 10 + 60;
  memcpy(rx_used + 4, &id, 4);
  memcpy(rx_used + 8, &len, 4);
  const uint16_t idx = 1;
  memcpy(rx_used + 2, &idx, 2);
  EXPECT_TRUE(nic.rearm());
  EXPECT_EQ(*rx_avail_flags, 0);
  size_t frames = 0;
  auto count = [](void* ctx, const uint8_t*, size_t) { ++*static_cast<size_t*>(ctx); };
  EXPECT_EQ(nic.poll(count, &frames, 64), 1u);
  EXPECT_FALSE(nic.rearm());  // taken: the thread may sleep
}

}  // namespace
