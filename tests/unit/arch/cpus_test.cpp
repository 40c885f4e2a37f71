#include <arch/x86_64/cpus.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

// A fake physical address space: the first 2 MiB.
struct Phys {
  std::vector<uint8_t> mem = std::vector<uint8_t>(2 << 20);
  static const void* read(uint64_t address, size_t length, void* ctx) {
    auto* p = static_cast<Phys*>(ctx);
    if (address + length > p->mem.size()) return nullptr;
    return p->mem.data() + address;
  }
  template <typename T>
  void put(uint64_t a, T v) {
    memcpy(&mem[a], &v, sizeof(T));
  }
  void fix_checksum(uint64_t start, size_t length, size_t at) {
    mem[start + at] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i) sum = uint8_t(sum + mem[start + i]);
    mem[start + at] = uint8_t(-sum);
  }
  void table_header(uint64_t a, const char* sig, uint32_t length) {
    memcpy(&mem[a], sig, 4);
    put<uint32_t>(a + 4, length);
  }
};

// RSDP (revision 2) at `rsdp` -> XSDT at 0x100000 -> MADT at 0x101000 with the given entries.
void build_acpi(Phys& p, uint64_t rsdp, const std::vector<std::vector<uint8_t>>& entries) {
  memcpy(&p.mem[rsdp], "RSD PTR ", 8);
  p.mem[rsdp + 15] = 2;
  p.put<uint32_t>(rsdp + 16, 0);
  p.put<uint32_t>(rsdp + 20, 36);
  p.put<uint64_t>(rsdp + 24, 0x100000);
  p.fix_checksum(rsdp, 20, 8);
  p.fix_checksum(rsdp, 36, 32);
  p.table_header(0x100000, "XSDT", 36 + 8);
  p.put<uint64_t>(0x100000 + 36, 0x101000);
  p.fix_checksum(0x100000, 44, 9);
  uint32_t length = 44;
  for (const auto& e : entries) {
    memcpy(&p.mem[0x101000 + length], e.data(), e.size());
    length += uint32_t(e.size());
  }
  p.table_header(0x101000, "APIC", length);
  p.fix_checksum(0x101000, length, 9);
}

std::vector<uint8_t> lapic(uint8_t id, uint32_t flags) { return {0, 8, id, id, uint8_t(flags), 0, 0, 0}; }
std::vector<uint8_t> x2apic(uint32_t id, uint32_t flags) {
  std::vector<uint8_t> e(16, 0);
  e[0] = 9;
  e[1] = 16;
  memcpy(&e[4], &id, 4);
  memcpy(&e[8], &flags, 4);
  return e;
}

TEST(Cpus, MadtInTheBiosAreaCountsEnabledProcessors) {
  Phys p;
  build_acpi(p, 0xF5A50,
             {lapic(0, 1), lapic(2, 1), lapic(4, 0), lapic(6, 2), {1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0}});
  arch::CpuList cpus;
  ASSERT_TRUE(arch::find_cpus(0, Phys::read, &p, &cpus));
  EXPECT_STREQ(cpus.source, "ACPI MADT");
  ASSERT_EQ(cpus.count, 3u);  // id 4 is disabled; id 6 is online-capable
  EXPECT_EQ(cpus.apic_id[0], 0u);
  EXPECT_EQ(cpus.apic_id[1], 2u);
  EXPECT_EQ(cpus.apic_id[2], 6u);
  EXPECT_EQ(cpus.ioapic_base, 0xFEC00000u);
}

// Interrupt Source Overrides (type 2, 10 bytes): bus, source IRQ, GSI, MPS INTI flags; only
// the ISA bus's are kept.
TEST(Cpus, MadtInterruptSourceOverrides) {
  Phys p;
  build_acpi(p, 0xF5A50,
             {lapic(0, 1),
              {1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0},
              {2, 10, 0, 0, 2, 0, 0, 0, 0, 0},       // IRQ 0 -> GSI 2
              {2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0},    // IRQ 9: level, active high
              {2, 10, 1, 14, 20, 0, 0, 0, 0x0F, 0},  // another bus: not ISA, ignored
              {2, 10, 0, 15, 0x1E, 0x01, 0, 0, 0x0F, 0}});
  arch::CpuList cpus;
  ASSERT_TRUE(arch::find_cpus(0, Phys::read, &p, &cpus));
  ASSERT_EQ(cpus.isa_override_count, 3u);
  EXPECT_EQ(cpus.isa_overrides[0].irq, 0);
  EXPECT_EQ(cpus.isa_overrides[0].gsi, 2u);
  EXPECT_EQ(cpus.isa_overrides[0].flags, 0);
  EXPECT_EQ(cpus.isa_overrides[1].irq, 9);
  EXPECT_EQ(cpus.isa_overrides[1].gsi, 9u);
  EXPECT_EQ(cpus.isa_overrides[1].flags, 0x0D);
  EXPECT_EQ(cpus.isa_overrides[2].irq, 15);
  EXPECT_EQ(cpus.isa_overrides[2].gsi, 0x11Eu);
  EXPECT_EQ(cpus.isa_overrides[2].flags, 0x0F);
  EXPECT_EQ(cpus.count, 1u);
  EXPECT_EQ(cpus.ioapic_count, 1u);
}

TEST(Cpus, RsdpHintAndX2ApicEntries) {
  Phys p;
  build_acpi(p, 0x7000, {lapic(0, 1), x2apic(300, 1), x2apic(0, 1)});
  arch::CpuList cpus;
  EXPECT_FALSE(arch::find_cpus_acpi(0, Phys::read, &p, &cpus));  // not in the scanned areas
  ASSERT_TRUE(arch::find_cpus_acpi(0x7000, Phys::read, &p, &cpus));
  ASSERT_EQ(cpus.count, 2u);  // APIC id 0 listed twice counts once
  EXPECT_EQ(cpus.apic_id[1], 300u);
}

TEST(Cpus, BadChecksumsAreIgnored) {
  Phys p;
  build_acpi(p, 0xF5A50, {lapic(0, 1), lapic(1, 1)});
  p.mem[0x101000 + 44] ^= 0xFF;  // corrupt the MADT after its checksum was computed
  arch::CpuList cpus;
  EXPECT_FALSE(arch::find_cpus_acpi(0, Phys::read, &p, &cpus));
  Phys q;
  build_acpi(q, 0xF5A50, {lapic(0, 1)});
  q.mem[0xF5A50 + 9] ^= 1;  // corrupt the RSDP
  EXPECT_FALSE(arch::find_cpus_acpi(0, Phys::read, &q, &cpus));
}

TEST(Cpus, TruncatedMadtEntryStopsTheWalk) {
  const uint8_t madt[52] = {'A', 'P', 'I', 'C', 52, 0, 0, 0};
  std::vector<uint8_t> t(madt, madt + 52);
  t[44] = 0;
  t[45] = 200;  // length past the table
  arch::CpuList cpus;
  EXPECT_FALSE(arch::parse_madt(t.data(), t.size(), &cpus));
  EXPECT_EQ(cpus.count, 0u);
}

TEST(Cpus, MpTableFallback) {
  Phys p;
  const uint64_t fp = 0xF0010, cfg = 0xF1000;
  memcpy(&p.mem[fp], "_MP_", 4);
  p.put<uint32_t>(fp + 4, uint32_t(cfg));
  p.mem[fp + 8] = 1;
  p.fix_checksum(fp, 16, 10);
  memcpy(&p.mem[cfg], "PCMP", 4);
  const uint16_t length = 44 + 20 * 3 + 8;
  p.put<uint16_t>(cfg + 4, length);
  p.put<uint16_t>(cfg + 34, 4);
  uint64_t e = cfg + 44;
  for (uint8_t id : {0, 1, 7}) {
    p.mem[e] = 0;
    p.mem[e + 1] = id;
    p.mem[e + 3] = id == 7 ? 0 : 1;  // id 7 disabled
    e += 20;
  }
  p.mem[e] = 1;  // a bus entry
  p.fix_checksum(cfg, length, 7);
  arch::CpuList cpus;
  ASSERT_TRUE(arch::find_cpus(0, Phys::read, &p, &cpus));
  EXPECT_STREQ(cpus.source, "MP table");
  EXPECT_EQ(cpus.count, 2u);
}

TEST(Cpus, NothingFound) {
  Phys p;
  arch::CpuList cpus;
  EXPECT_FALSE(arch::find_cpus(0, Phys::read, &p, &cpus));
  EXPECT_EQ(cpus.count, 0u);
}

}  // namespace
