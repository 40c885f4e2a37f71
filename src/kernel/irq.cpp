#include <arch/x86_64/apic.h>
#include <arch/x86_64/spinlock.h>
#include <kernel/irq.h>

namespace kernel {
namespace {
constexpr int kMaxHandlers = 32;
struct Entry {
  IrqHandler handler;
  void* ctx;
};
Entry g_handlers[kMaxHandlers];
int g_count = 0;
arch::SpinLock g_lock;  // registration may come from any core; dispatch reads a published entry
}  // namespace

uint8_t register_irq(IrqHandler handler, void* ctx) {
  arch::IrqSaveGuard guard(g_lock);
  if (g_count == kMaxHandlers) return 0;
  g_handlers[g_count] = {handler, ctx};
  // The entry is complete before the vector is handed out (and routed): the lock's release
  // orders it for the core that will take the interrupt.
  return uint8_t(arch::kVectorDeviceBase + g_count++);
}

bool dispatch_irq(uint8_t vector) {
  const int i = int(vector) - arch::kVectorDeviceBase;
  if (i < 0 || i >= kMaxHandlers || g_handlers[i].handler == nullptr) return false;
  g_handlers[i].handler(g_handlers[i].ctx);
  return true;
}

}  // namespace kernel
