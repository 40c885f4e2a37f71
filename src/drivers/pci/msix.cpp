#include <drivers/pci/msix.h>

namespace drivers {

namespace {
constexpr uint8_t kCapMsix = 0x11;
constexpr uint32_t kEnable = 1u << 31, kFunctionMask = 1u << 30;  // Message Control bits 15 and 14, in the header dword
constexpr uint32_t kLapicBase = 0xFEE00000;
}  // namespace

bool find_msix(ConfigSpace& cfg, const PciDevice& d, Msix* out) {
  *out = Msix{};
  const uint8_t cap = next_capability(cfg, d, kCapMsix);
  if (cap == 0) return false;
  const uint32_t head = cfg.read32(d.bus, d.dev, d.fn, cap);
  const uint32_t where = cfg.read32(d.bus, d.dev, d.fn, uint8_t(cap + 4));
  const uint8_t bir = uint8_t(where & 7);
  if (bir >= 6 || d.bar[bir].size == 0 || d.bar[bir].io || d.bar[bir].base == 0) return false;
  const uint16_t entries = uint16_t(((head >> 16) & 0x7FF) + 1);
  const uint32_t offset = where & ~7u;
  if (uint64_t(offset) + 16u * entries > d.bar[bir].size) return false;  // a table outside its BAR
  *out = Msix{cap, entries, d.bar[bir].base + offset};
  return true;
}

void msix_route(Io& table, uint16_t entry, uint32_t apic, uint8_t vector) {
  const uint32_t at = 16u * entry;
  const uint32_t control = table.read32(at + 12);             // its other bits are reserved: kept
  table.write32(at + 12, control | 1);                        // masked while it changes
  table.write32(at + 0, kLapicBase | ((apic & 0xFF) << 12));  // xAPIC: 8-bit destination
  table.write32(at + 4, 0);
  table.write32(at + 8, vector);          // fixed delivery, edge
  table.write32(at + 12, control & ~1u);  // unmasked
}

void msix_enable(ConfigSpace& cfg, const PciDevice& d, const Msix& m, bool on) {
  const uint32_t head = cfg.read32(d.bus, d.dev, d.fn, m.cap);
  cfg.write32(d.bus, d.dev, d.fn, m.cap, on ? (head | kEnable) & ~kFunctionMask : head & ~kEnable);
}

}  // namespace drivers
