// Finding the CPUs before starting them: ACPI MADT (ACPI spec 6.5 §5.2.12), with the Intel
// MultiProcessor Specification 1.4 tables (§4) as fallback. Portable: the parsers take pointers,
// so host tests feed them synthetic tables; the kernel passes identity-mapped physical memory.
//
//   arch::CpuList cpus;
//   if (!arch::find_cpus(rsdp_from_boot_loader, &cpus)) cpus = arch::CpuList::single();
//   // cpus.count, cpus.apic_id[i], cpus.source
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch {

constexpr uint32_t kMaxCpus = 64;

struct CpuList {
  uint32_t count = 0;
  uint32_t apic_id[kMaxCpus] = {};
  const char* source = "none";  // "ACPI MADT", "MP table" or "none"
  bool truncated = false;       // more enabled CPUs than kMaxCpus
  uint64_t ioapic_base = 0;     // the first I/O APIC of the MADT (0: none listed)
  struct IoApic {
    uint64_t base;
    uint32_t gsi_base;  // its first input's global system interrupt number
  };
  IoApic ioapics[4] = {};
  uint32_t ioapic_count = 0;
  // The MADT's Interrupt Source Overrides (type 2) for the ISA bus: ISA IRQ `irq` reaches
  // global system interrupt `gsi` (not the input of its own number), and `flags` are its MPS
  // INTI flags (bits 0-1 polarity: 0 as the bus (ISA: high), 1 high, 3 low; bits 2-3 trigger:
  // 0 as the bus (ISA: edge), 1 edge, 3 level). An ISA IRQ without one is GSI = IRQ, edge, high.
  struct IsaOverride {
    uint8_t irq;
    uint32_t gsi;
    uint16_t flags;
  };
  IsaOverride isa_overrides[16] = {};
  uint32_t isa_override_count = 0;
};

// Reads physical memory; the kernel's reads identity-mapped memory, tests read a fake space.
using PhysReader = const void* (*)(uint64_t address, size_t length, void* ctx);

// RSDP: `hint` (from PVH or multiboot2) if non-zero, else the first KiB of the EBDA and
// 0xE0000-0xFFFFF. Then the XSDT (or RSDT) -> "APIC" table -> enabled processor entries.
bool find_cpus_acpi(uint64_t rsdp_hint, PhysReader read, void* ctx, CpuList* out);
// "_MP_" floating pointer in the EBDA, the last KiB of base memory or 0xF0000-0xFFFFF.
bool find_cpus_mp(PhysReader read, void* ctx, CpuList* out);
// ACPI first, then MP.
bool find_cpus(uint64_t rsdp_hint, PhysReader read, void* ctx, CpuList* out);

// Pieces, for tests.
bool parse_madt(const uint8_t* madt, size_t length, CpuList* out);
bool checksum_ok(const uint8_t* p, size_t length);

}  // namespace arch
