// Frame-pointer stack walk (the kernel and apps are built with -fno-omit-frame-pointer).
// Portable: the caller says which addresses are safe to read, so a corrupt chain stops the walk
// instead of faulting inside the fault report.
//
//   uint64_t pcs[16];
//   size_t n = klib::walk_frames(frame.rbp, pcs, 16, is_mapped_stack, nullptr);
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

// Returns true if [address, address + length) may be read.
using ReadableFn = bool (*)(uint64_t address, size_t length, void* ctx);

// Follows the RBP chain from `rbp` ([rbp] = caller's rbp, [rbp + 8] = return address) and stores
// up to `max` return addresses in `out`. Stops at rbp 0, a misaligned or unreadable frame, a
// return address of 0, or a chain that does not move towards higher addresses (a loop).
size_t walk_frames(uint64_t rbp, uint64_t* out, size_t max, ReadableFn readable, void* ctx);

}  // namespace klib

namespace klib {

// True if the 7 bytes before a candidate return address end with a CALL instruction (E8 rel32,
// or FF /2 through a register, a displacement or RIP). Used on the word at RSP when a fault hits
// a function whose frame is already torn down (after `leave`), so the caller still shows up.
bool follows_call_instruction(const uint8_t* seven_bytes_before);

}  // namespace klib
