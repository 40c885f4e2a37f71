#include <arch/x86_64/cpus.h>

#include <cstring>

namespace arch {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof(T));
  return v;
}

const uint8_t* bytes(PhysReader read, void* ctx, uint64_t address, size_t length) {
  if (address == 0 || address + length < address) return nullptr;
  return static_cast<const uint8_t*>(read(address, length, ctx));
}

void add_cpu(CpuList* out, uint32_t apic_id) {
  for (uint32_t i = 0; i < out->count; ++i) {
    if (out->apic_id[i] == apic_id) return;  // listed twice (xAPIC and x2APIC entries)
  }
  if (out->count == kMaxCpus) {
    out->truncated = true;
    return;
  }
  out->apic_id[out->count++] = apic_id;
}

// A valid RSDP at `address`: signature, the ACPI 1.0 checksum over 20 bytes and, for revision
// >= 2, the extended checksum over its length (ACPI 6.5 §5.2.5.3).
bool rsdp_at(PhysReader read, void* ctx, uint64_t address, uint64_t* rsdt, uint64_t* xsdt) {
  const uint8_t* p = bytes(read, ctx, address, 36);
  if (p == nullptr || memcmp(p, "RSD PTR ", 8) != 0 || !checksum_ok(p, 20)) return false;
  *rsdt = load<uint32_t>(p + 16);
  *xsdt = 0;
  if (p[15] >= 2) {
    const uint32_t length = load<uint32_t>(p + 20);
    if (length >= 36 && length <= 64 && checksum_ok(p, length)) *xsdt = load<uint64_t>(p + 24);
  }
  return true;
}

bool scan_rsdp(PhysReader read, void* ctx, uint64_t start, uint64_t end, uint64_t* rsdt, uint64_t* xsdt) {
  for (uint64_t a = start; a + 36 <= end; a += 16) {
    if (rsdp_at(read, ctx, a, rsdt, xsdt)) return true;
  }
  return false;
}

uint64_t ebda_base(PhysReader read, void* ctx) {
  const uint8_t* p = bytes(read, ctx, 0x40E, 2);
  return p == nullptr ? 0 : uint64_t(load<uint16_t>(p)) << 4;
}

// A whole ACPI table with a valid header checksum, or nullptr.
const uint8_t* table_at(PhysReader read, void* ctx, uint64_t address, uint32_t* length) {
  const uint8_t* h = bytes(read, ctx, address, 36);
  if (h == nullptr) return nullptr;
  *length = load<uint32_t>(h + 4);
  if (*length < 36 || *length > (1u << 20)) return nullptr;
  const uint8_t* t = bytes(read, ctx, address, *length);
  return t != nullptr && checksum_ok(t, *length) ? t : nullptr;
}

}  // namespace

bool checksum_ok(const uint8_t* p, size_t length) {
  uint8_t sum = 0;
  for (size_t i = 0; i < length; ++i) sum = uint8_t(sum + p[i]);
  return sum == 0;
}

bool parse_madt(const uint8_t* madt, size_t length, CpuList* out) {
  if (length < 44 || memcmp(madt, "APIC", 4) != 0) return false;
  size_t off = 44;  // header (36) + local APIC address (4) + flags (4)
  while (off + 2 <= length) {
    const uint8_t type = madt[off];
    const uint8_t len = madt[off + 1];
    if (len < 2 || off + len > length) break;
    // Flags: bit 0 enabled, bit 1 online capable (may be enabled later: counted, it can be
    // started). Processor Local APIC: type 0, 8 bytes; Local x2APIC: type 9, 16 bytes.
    if (type == 1 && len >= 12) {  // I/O APIC: id, reserved, address, GSI base
      if (out->ioapic_base == 0) out->ioapic_base = load<uint32_t>(madt + off + 4);
      if (out->ioapic_count < 4) {
        out->ioapics[out->ioapic_count++] = {load<uint32_t>(madt + off + 4), load<uint32_t>(madt + off + 8)};
      }
    } else if (type == 2 && len >= 10) {  // Interrupt Source Override: bus, IRQ, GSI, flags
      if (madt[off + 2] == 0 && out->isa_override_count < 16) {
        out->isa_overrides[out->isa_override_count++] = {madt[off + 3], load<uint32_t>(madt + off + 4),
                                                         load<uint16_t>(madt + off + 8)};
      }
    } else if (type == 0 && len >= 8) {
      if (load<uint32_t>(madt + off + 4) & 3) add_cpu(out, madt[off + 3]);
    } else if (type == 9 && len >= 16) {
      if (load<uint32_t>(madt + off + 8) & 3) add_cpu(out, load<uint32_t>(madt + off + 4));
    }
    off += len;
  }
  return out->count > 0;
}

bool find_cpus_acpi(uint64_t rsdp_hint, PhysReader read, void* ctx, CpuList* out) {
  uint64_t rsdt = 0, xsdt = 0;
  bool found = rsdp_hint != 0 && rsdp_at(read, ctx, rsdp_hint, &rsdt, &xsdt);
  if (!found) {
    const uint64_t ebda = ebda_base(read, ctx);
    found = (ebda >= 0x80000 && ebda < 0xA0000 && scan_rsdp(read, ctx, ebda, ebda + 1024, &rsdt, &xsdt)) ||
            scan_rsdp(read, ctx, 0xE0000, 0x100000, &rsdt, &xsdt);
  }
  if (!found) return false;
  const bool wide = xsdt != 0;
  uint32_t length = 0;
  const uint8_t* root = table_at(read, ctx, wide ? xsdt : rsdt, &length);
  if (root == nullptr) return false;
  const size_t entry = wide ? 8 : 4;
  for (size_t off = 36; off + entry <= length; off += entry) {
    const uint64_t address = wide ? load<uint64_t>(root + off) : load<uint32_t>(root + off);
    uint32_t table_length = 0;
    const uint8_t* t = table_at(read, ctx, address, &table_length);
    if (t != nullptr && memcmp(t, "APIC", 4) == 0) {
      CpuList list;
      if (!parse_madt(t, table_length, &list)) return false;
      list.source = "ACPI MADT";
      *out = list;
      return true;
    }
  }
  return false;
}

bool find_cpus_mp(PhysReader read, void* ctx, CpuList* out) {
  const uint64_t ebda = ebda_base(read, ctx);
  const uint64_t areas[3][2] = {{ebda, ebda + 1024}, {0x9FC00, 0xA0000}, {0xF0000, 0x100000}};
  for (const auto& area : areas) {
    if (area[0] == 0) continue;
    for (uint64_t a = area[0]; a + 16 <= area[1]; a += 16) {
      const uint8_t* fp = bytes(read, ctx, a, 16);
      if (fp == nullptr || memcmp(fp, "_MP_", 4) != 0 || !checksum_ok(fp, 16)) continue;
      const uint64_t config = load<uint32_t>(fp + 4);
      const uint8_t* h = bytes(read, ctx, config, 44);
      if (h == nullptr || memcmp(h, "PCMP", 4) != 0) return false;
      const uint16_t length = load<uint16_t>(h + 4), count = load<uint16_t>(h + 34);
      const uint8_t* t = bytes(read, ctx, config, length);
      if (t == nullptr || length < 44 || !checksum_ok(t, length)) return false;
      CpuList list;
      size_t off = 44;
      for (uint16_t i = 0; i < count && off < length; ++i) {
        const uint8_t type = t[off];
        if (type == 0) {  // processor entry, 20 bytes: APIC id at +1, flags at +3 (bit 0 enabled)
          if (off + 20 > length) break;
          if (t[off + 3] & 1) add_cpu(&list, t[off + 1]);
          off += 20;
        } else if (type <= 4) {
          off += 8;
        } else {
          break;  // unknown entry type: its size is unknown
        }
      }
      if (list.count == 0) return false;
      list.source = "MP table";
      *out = list;
      return true;
    }
  }
  return false;
}

bool find_cpus(uint64_t rsdp_hint, PhysReader read, void* ctx, CpuList* out) {
  return find_cpus_acpi(rsdp_hint, read, ctx, out) || find_cpus_mp(read, ctx, out);
}

}  // namespace arch
