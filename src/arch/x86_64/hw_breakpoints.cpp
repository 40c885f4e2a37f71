// DR7 layout (SDM vol. 3 §18.2.4, figure 18-1): L0-L3 in bits 0, 2, 4, 6 (local enable; the
// kernel reloads the registers on every core, so the global bits are not needed); R/W0-3 in bits
// 16+4n..17+4n; LEN0-3 in bits 18+4n..19+4n with 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8 (64-bit).
#include <arch/x86_64/hw_breakpoints.h>

namespace arch {
namespace {

int length_code(size_t length) {
  switch (length) {
    case 1:
      return 0;
    case 2:
      return 1;
    case 4:
      return 3;
    case 8:
      return 2;
    default:
      return -1;
  }
}

uint64_t slot_bits(int slot, HwKind kind, int len) {
  return (uint64_t(1) << (2 * slot)) | (uint64_t(kind) << (16 + 4 * slot)) | (uint64_t(len) << (18 + 4 * slot));
}

uint64_t slot_mask(int slot) { return (uint64_t(3) << (2 * slot)) | (uint64_t(15) << (16 + 4 * slot)); }

}  // namespace

HwResult HwBreakpoints::insert(HwKind kind, uint64_t addr, size_t length) {
  const int len = length_code(length);
  if (len < 0 || (kind == HwKind::kExecute && length != 1)) return HwResult::kBadLength;
  if (addr % length != 0) return HwResult::kMisaligned;
  for (int slot = 0; slot < kSlots; ++slot) {
    if (in_use(slot)) continue;
    address[slot] = addr;
    dr7 = (dr7 & ~slot_mask(slot)) | slot_bits(slot, kind, len);
    return HwResult::kOk;
  }
  return HwResult::kNoSlot;
}

HwResult HwBreakpoints::remove(HwKind kind, uint64_t addr, size_t length) {
  const int len = length_code(length);
  if (len < 0) return HwResult::kNotFound;
  for (int slot = 0; slot < kSlots; ++slot) {
    if (in_use(slot) && address[slot] == addr && (dr7 & slot_mask(slot)) == slot_bits(slot, kind, len)) {
      dr7 &= ~slot_mask(slot);
      address[slot] = 0;
      return HwResult::kOk;
    }
  }
  return HwResult::kNotFound;
}

int HwBreakpoints::slot_hit(uint64_t dr6) const {
  for (int slot = 0; slot < kSlots; ++slot) {
    if (in_use(slot) && ((dr6 >> slot) & 1)) return slot;
  }
  return -1;
}

}  // namespace arch
