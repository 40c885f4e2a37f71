#include <kernel/debug_log.h>
#include <toro/debug.h>

namespace toro::detail {
void debug_write(const char* fmt, const klib::Arg* args, size_t count) { kernel::debug_write(fmt, args, count); }
}  // namespace toro::detail

void DumpDebugRing() { kernel::debug_dump(); }

void SetDebugRing(PChar Base, LongInt NewSize) {
  if (NewSize > 0) kernel::debug_set_ring(Base, size_t(NewSize));
}
