#include <lib/backtrace.h>

namespace klib {

size_t walk_frames(uint64_t rbp, uint64_t* out, size_t max, ReadableFn readable, void* ctx) {
  size_t n = 0;
  while (n < max && rbp != 0 && (rbp & 7) == 0 && readable(rbp, 16, ctx)) {
    const auto* frame = reinterpret_cast<const uint64_t*>(rbp);
    const uint64_t next = frame[0];
    const uint64_t ret = frame[1];
    if (ret == 0) break;
    out[n++] = ret;
    if (next <= rbp) break;  // stacks grow down: callers live at higher addresses
    rbp = next;
  }
  return n;
}

}  // namespace klib

namespace klib {

bool follows_call_instruction(const uint8_t* b) {
  // b[6] is the last byte before the return address.
  if (b[2] == 0xE8) return true;                                             // call rel32
  if (b[5] == 0xFF && (b[6] & 0xF8) == 0xD0) return true;                    // call *%reg
  if (b[4] == 0xFF && (b[5] & 0xF8) == 0x50) return true;                    // call *disp8(%reg)
  if (b[1] == 0xFF && ((b[2] & 0xF8) == 0x90 || b[2] == 0x15)) return true;  // disp32 / RIP
  return false;
}

}  // namespace klib
