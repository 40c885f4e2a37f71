#include <arch/x86_64/apic.h>
#include <arch/x86_64/spinlock.h>
#include <kernel/irq.h>

#include <atomic>

namespace kernel {
namespace {
constexpr int kMaxVectors = 32;
constexpr int kMaxShared = 4;  // handlers on one vector: devices sharing a level-triggered line
struct Entry {
  IrqHandler handler;
  void* ctx;
};
struct Vector {
  Entry entries[kMaxShared];
  std::atomic<int> count;
};
constinit Vector g_vectors[kMaxVectors] = {};
int g_used = 0;
arch::SpinLock g_lock;  // registration may come from any core; dispatch reads published entries
}  // namespace

uint8_t register_irq(IrqHandler handler, void* ctx) {
  arch::IrqSaveGuard guard(g_lock);
  if (g_used == kMaxVectors) return 0;
  Vector& v = g_vectors[g_used];
  v.entries[0] = {handler, ctx};
  // The entry is complete before the vector is handed out (and routed): the release store (and
  // the lock's release) order it for the core that will take the interrupt.
  v.count.store(1, std::memory_order_release);
  return uint8_t(arch::kVectorDeviceBase + g_used++);
}

bool share_irq(uint8_t vector, IrqHandler handler, void* ctx) {
  const int i = int(vector) - arch::kVectorDeviceBase;
  arch::IrqSaveGuard guard(g_lock);
  if (i < 0 || i >= g_used) return false;
  Vector& v = g_vectors[i];
  const int n = v.count.load(std::memory_order_relaxed);
  if (n == kMaxShared) return false;
  v.entries[n] = {handler, ctx};
  // Published after the entry: a dispatch that sees the new count sees the whole entry.
  v.count.store(n + 1, std::memory_order_release);
  return true;
}

bool dispatch_irq(uint8_t vector) {
  const int i = int(vector) - arch::kVectorDeviceBase;
  if (i < 0 || i >= kMaxVectors) return false;
  const Vector& v = g_vectors[i];
  const int n = v.count.load(std::memory_order_acquire);
  // Every handler of the line runs: each driver reads and acknowledges its own device's cause
  // (a device with nothing pending does nothing), so a level-triggered line shared by two
  // devices of this core is quiet again after one pass.
  for (int k = 0; k < n; ++k) v.entries[k].handler(v.entries[k].ctx);
  return n != 0;
}

}  // namespace kernel
