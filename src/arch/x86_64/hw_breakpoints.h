// The four debug-register breakpoints (Intel SDM vol. 3 §18.2): which address each of DR0-DR3
// holds and the DR7 value that arms them, computed by portable code (host-tested); the kernel
// loads the result into the debug registers of every core. Used by the gdb stub for Z1-Z4, the
// only breakpoints that work where int3 cannot run in ring 0.
//
//   arch::HwBreakpoints bp;
//   if (bp.insert(arch::HwKind::kWrite, 0x1008, 8) == arch::HwResult::kOk) load(bp.address, bp.dr7);
//   int slot = bp.slot_hit(dr6);          // which one fired (-1: none)
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch {

// DR7's R/W field: 00 execute, 01 write, 11 read or write (10 is I/O, unused here). A read-only
// watchpoint does not exist on x86.
enum class HwKind : uint8_t { kExecute = 0, kWrite = 1, kAccess = 3 };

enum class HwResult : uint8_t {
  kOk,
  kNoSlot,      // all four in use
  kBadLength,   // not 1, 2, 4 or 8, or an execute breakpoint longer than 1
  kMisaligned,  // the address is not a multiple of the length (the CPU ignores the low bits)
  kNotFound,    // remove: no such breakpoint
};

struct HwBreakpoints {
  static constexpr int kSlots = 4;
  uint64_t address[kSlots] = {};
  uint64_t dr7 = 0;

  HwResult insert(HwKind kind, uint64_t addr, size_t length);
  HwResult remove(HwKind kind, uint64_t addr, size_t length);
  bool in_use(int slot) const { return (dr7 >> (2 * slot)) & 1; }
  // The lowest armed slot whose B0-B3 bit is set in DR6, or -1.
  int slot_hit(uint64_t dr6) const;
  HwKind kind(int slot) const { return HwKind((dr7 >> (16 + 4 * slot)) & 3); }
};

}  // namespace arch
