#include <arch/x86_64/boot_info.h>
#include <arch/x86_64/boot_protocol.h>
#include <lib/sort.h>

#include <cstring>

namespace arch {
namespace {

template <typename T>
T load(const void* p, size_t offset) {
  T v;
  memcpy(&v, static_cast<const char*>(p) + offset, sizeof(T));
  return v;
}

const void* phys(uint64_t address) { return reinterpret_cast<const void*>(static_cast<uintptr_t>(address)); }

void copy_cmdline(const char* src, BootInfo* out) {
  size_t i = 0;
  if (src != nullptr) {
    for (; i < BootInfo::kMaxCmdline && src[i] != 0; ++i) out->cmdline[i] = src[i];
    out->cmdline_truncated = src[i] != 0;
  }
  out->cmdline[i] = 0;
}

}  // namespace

bool MemoryMap::add(uint64_t base, uint64_t length, uint32_t type) {
  if (length == 0) return false;
  if (base + length < base) length = ~uint64_t(0) - base;  // clamp a wrapping region
  if (count_ == kMaxRegions) {
    overflowed_ = true;
    return false;
  }
  regions_[count_++] = {base, length, type};
  return true;
}

void MemoryMap::sanitize() {
  const auto by_base = [](const MemoryRegion& a, const MemoryRegion& b) { return a.base < b.base; };
  klib::insertion_sort(regions_, count_, by_base);
  // Cut usable regions against every non-usable one they overlap.
  for (size_t i = 0; i < count_; ++i) {
    if (!regions_[i].usable()) continue;
    for (size_t k = 0; k < count_; ++k) {
      if (regions_[k].usable()) continue;
      MemoryRegion& u = regions_[i];
      const MemoryRegion& r = regions_[k];
      if (r.end() <= u.base || r.base >= u.end()) continue;
      if (r.base <= u.base && r.end() >= u.end()) {
        u.length = 0;  // swallowed
      } else if (r.base <= u.base) {
        u.length = u.end() - r.end();
        u.base = r.end();
      } else if (r.end() >= u.end()) {
        u.length = r.base - u.base;
      } else {
        // r splits u: keep the low part here, append the high part.
        const uint64_t high_base = r.end(), high_len = u.end() - r.end();
        u.length = r.base - u.base;
        add(high_base, high_len, u.type);
      }
    }
  }
  // Drop empty regions, re-sort (a split may have appended) and merge touching equal types.
  size_t n = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (regions_[i].length != 0) regions_[n++] = regions_[i];
  }
  count_ = n;
  klib::insertion_sort(regions_, count_, by_base);
  n = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (n > 0 && regions_[n - 1].type == regions_[i].type && regions_[n - 1].end() >= regions_[i].base) {
      const uint64_t end = regions_[i].end() > regions_[n - 1].end() ? regions_[i].end() : regions_[n - 1].end();
      regions_[n - 1].length = end - regions_[n - 1].base;
    } else {
      regions_[n++] = regions_[i];
    }
  }
  count_ = n;
}

uint64_t MemoryMap::usable_bytes() const {
  uint64_t total = 0;
  for (const auto& r : *this) {
    if (r.usable()) total += r.length;
  }
  return total;
}

uint64_t MemoryMap::highest_usable_end() const {
  uint64_t end = 0;
  for (const auto& r : *this) {
    if (r.usable() && r.end() > end) end = r.end();
  }
  return end;
}

const char* boot_protocol_name(BootProtocol p) {
  switch (p) {
    case BootProtocol::kPvh:
      return "PVH";
    case BootProtocol::kMultiboot2:
      return "multiboot2";
    case BootProtocol::kBochs:
      return "Bochs boot sector";
    default:
      return "unknown";
  }
}

bool parse_e820(const void* entries, uint32_t count, uint32_t entry_size, MemoryMap* out) {
  if (entries == nullptr || entry_size < 20) return false;
  for (uint32_t i = 0; i < count; ++i) {
    const void* e = static_cast<const char*>(entries) + size_t(i) * entry_size;
    out->add(load<uint64_t>(e, 0), load<uint64_t>(e, 8), load<uint32_t>(e, 16));
  }
  return true;
}

// PVH start of day: struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h).
// +0 magic 0x336ec578, +4 version, +24 cmdline_paddr, +32 rsdp_paddr, +40 memmap_paddr,
// +48 memmap_entries (version >= 1); memmap entries are {addr u64, size u64, type u32, pad u32}.
bool parse_pvh(const void* start_info, BootInfo* out) {
  if (start_info == nullptr || load<uint32_t>(start_info, 0) != 0x336EC578) return false;
  out->protocol = BootProtocol::kPvh;
  const uint32_t version = load<uint32_t>(start_info, 4);
  const uint64_t cmdline = load<uint64_t>(start_info, 24);
  copy_cmdline(cmdline ? static_cast<const char*>(phys(cmdline)) : nullptr, out);
  out->rsdp = load<uint64_t>(start_info, 32);
  if (version >= 1) {
    const uint64_t memmap = load<uint64_t>(start_info, 40);
    const uint32_t entries = load<uint32_t>(start_info, 48);
    if (memmap != 0) parse_e820(phys(memmap), entries, 24, &out->memory);
  }
  return true;
}

// Multiboot2 boot information (multiboot2 spec §3.6): u32 total_size, u32 reserved, then 8-byte
// aligned tags {u32 type, u32 size}. Type 1 = command line, 6 = memory map, 14/15 = ACPI RSDP.
bool parse_multiboot2(const void* info, BootInfo* out) {
  if (info == nullptr) return false;
  const uint32_t total = load<uint32_t>(info, 0);
  if (total < 16 || total > (1u << 20)) return false;
  out->protocol = BootProtocol::kMultiboot2;
  size_t off = 8;
  while (off + 8 <= total) {
    const uint32_t type = load<uint32_t>(info, off);
    const uint32_t size = load<uint32_t>(info, off + 4);
    if (type == 0 || size < 8 || off + size > total) break;
    const char* tag = static_cast<const char*>(info) + off;
    if (type == 1) {
      copy_cmdline(tag + 8, out);
    } else if (type == 6 && size >= 16) {
      const uint32_t entry_size = load<uint32_t>(tag, 8);
      if (entry_size >= 20) parse_e820(tag + 16, (size - 16) / entry_size, entry_size, &out->memory);
    } else if ((type == 14 || type == 15) && out->rsdp == 0) {
      out->rsdp = uint64_t(reinterpret_cast<uintptr_t>(tag + 8));
    }
    off += (size + 7) & ~size_t(7);
  }
  return true;
}

bool parse_boot_info(uint32_t magic, const void* info, BootInfo* out) {
  bool ok = false;
  switch (magic) {
    case BOOT_MAGIC_PVH:
      ok = parse_pvh(info, out);
      break;
    case BOOT_MAGIC_MULTIBOOT2:
      ok = parse_multiboot2(info, out);
      break;
    case BOOT_MAGIC_BOCHS: {
      if (info == nullptr) break;
      const uint32_t count = load<uint32_t>(info, 0);
      if (count > BOCHS_E820_MAX) break;
      out->protocol = BootProtocol::kBochs;
      // The boot sector's command line (at most BOCHS_CMDLINE_SIZE - 1 characters), or none.
      const uint32_t cmdline = load<uint32_t>(info, 4);
      copy_cmdline(cmdline ? static_cast<const char*>(phys(cmdline)) : nullptr, out);
      ok = parse_e820(static_cast<const char*>(info) + 8, count, 24, &out->memory);
      break;
    }
    default:
      break;
  }
  if (!ok) {
    out->protocol = BootProtocol::kUnknown;
    out->memory = MemoryMap();
    return false;
  }
  out->memory.sanitize();
  return true;
}

}  // namespace arch
