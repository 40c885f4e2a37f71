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
