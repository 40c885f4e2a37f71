// What the boot protocol told us: which protocol, the RAM map and the command line.
// Parsing is portable (host-tested on synthetic PVH / multiboot2 / E820 structures).
//
//   arch::BootInfo info;
//   arch::parse_boot_info(magic, reinterpret_cast<const void*>(uintptr_t(ebx)), &info);
//   for (auto& r : info.memory) if (r.usable()) ...
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch {

// E820 / PVH / multiboot2 share these region types (ACPI spec, "Address Range Types").
enum class MemoryType : uint32_t { kUsable = 1, kReserved = 2, kAcpiReclaimable = 3, kAcpiNvs = 4, kBad = 5 };

struct MemoryRegion {
  uint64_t base;
  uint64_t length;
  uint32_t type;
  bool usable() const { return type == uint32_t(MemoryType::kUsable); }
  uint64_t end() const { return base + length; }
};

class MemoryMap {
 public:
  static constexpr size_t kMaxRegions = 64;

  // Appends a region; false (and the region dropped) when the map is full or length is 0.
  bool add(uint64_t base, uint64_t length, uint32_t type);
  // Sorts by base, merges touching regions of the same type and cuts usable regions where they
  // overlap non-usable ones (firmware maps may overlap; non-usable wins).
  void sanitize();

  size_t size() const { return count_; }
  const MemoryRegion& operator[](size_t i) const { return regions_[i]; }
  const MemoryRegion* begin() const { return regions_; }
  const MemoryRegion* end() const { return regions_ + count_; }
  uint64_t usable_bytes() const;
  uint64_t highest_usable_end() const;
  bool overflowed() const { return overflowed_; }

 private:
  MemoryRegion regions_[kMaxRegions] = {};
  size_t count_ = 0;
  bool overflowed_ = false;
};

enum class BootProtocol { kUnknown, kPvh, kMultiboot2, kBochs };

struct BootInfo {
  static constexpr size_t kMaxCmdline = 2048;
  BootProtocol protocol = BootProtocol::kUnknown;
  MemoryMap memory;
  char cmdline[kMaxCmdline + 1] = {};  // copied: the loader's copy may be overwritten later
  bool cmdline_truncated = false;      // the loader's command line was longer than kMaxCmdline
  uint64_t rsdp = 0;                   // ACPI RSDP physical address if the loader gave one
};

const char* boot_protocol_name(BootProtocol p);

// Fills `out` from the registers the entry code saved (EAX magic, EBX info pointer).
// Returns false when the magic is unknown or the structure fails its checks; `out` then says
// kUnknown and has an empty map.
bool parse_boot_info(uint32_t magic, const void* info, BootInfo* out);

// The pieces, exposed for tests.
bool parse_pvh(const void* start_info, BootInfo* out);
bool parse_multiboot2(const void* info, BootInfo* out);
bool parse_e820(const void* entries, uint32_t count, uint32_t entry_size, MemoryMap* out);

}  // namespace arch
