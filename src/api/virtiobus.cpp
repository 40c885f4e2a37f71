// Toro's VirtIOBus (toro/virtiobus.h) over sched::Channel: the channels of every ordered pair
// of cores, set up at the first call; a receiver with nothing to read sleeps (its core halts
// when idle) and the sender wakes it (an IPI when that core is halted).
#include <arch/x86_64/spinlock.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <sched/channel.h>
#include <sched/scheduler.h>
#include <toro/virtiobus.h>

#include <atomic>
#include <new>

namespace {

using Channel = sched::Channel<64>;  // 64 slots of 64 bytes: 4 KiB a pair

// One ordered pair: the channel, in the receiver's memory, and the receiver's sleep.
struct alignas(64) Pair {
  Channel channel;
  // The thread sleeping in a receive on this channel, and the flag its sender sets (see wait_for).
  std::atomic<sched::Thread*> waiter{nullptr};
  std::atomic<bool> signal{false};
};

std::atomic<Pair**> g_pairs{nullptr};  // [from * cores + to], published once set up
uint32_t g_cores = 0;
arch::SpinLock g_setup_lock;

// The table, set up by the first caller (the others wait on the lock, then see it).
Pair** pairs() {
  if (Pair** p = g_pairs.load(std::memory_order_acquire)) return p;
  arch::IrqSaveGuard lock(g_setup_lock);
  if (Pair** p = g_pairs.load(std::memory_order_relaxed)) return p;
  const uint32_t cores = sched::core_count();
  auto** table = static_cast<Pair**>(kernel::allocate(sizeof(Pair*) * cores * cores, 64));
  if (table == nullptr) return nullptr;
  for (uint32_t from = 0; from < cores; ++from) {
    for (uint32_t to = 0; to < cores; ++to) {
      table[from * cores + to] = nullptr;
      if (from == to) continue;
      void* memory = kernel::allocate_for(to, sizeof(Pair), 64);  // the receiver's memory
      if (memory == nullptr) return nullptr;                      // (what was taken stays: rare)
      table[from * cores + to] = new (memory) Pair();
    }
  }
  for (uint32_t to = 0; to < cores; ++to) {
    for (uint32_t from = 0; from < cores; ++from) {
      if (from != to) kernel::printk("VirtIOBus: Core[%d]->Core[%d] queue has been initiated\n", from, to);
    }
  }
  g_cores = cores;
  // release: the pairs' construction and g_cores before any core that sees the table uses it.
  g_pairs.store(table, std::memory_order_release);
  return table;
}

LongInt find(DWORD from, DWORD to, Pair** out) {
  Pair** table = pairs();
  if (table == nullptr) return VIRTIOBUS_E_NO_MEMORY;
  if (from >= g_cores || to >= g_cores || !sched::core_running(from) || !sched::core_running(to)) {
    return VIRTIOBUS_E_BAD_CORE;
  }
  if (from == to) return VIRTIOBUS_E_SELF;
  *out = table[from * g_cores + to];
  return 0;
}

void yield() { sched::yield(); }

// Sleeps until the pair's channel holds something or `deadline_ms` passes (0: none), without
// losing a wake-up: the receiver publishes itself as the waiter and then looks at the channel,
// the sender publishes the message and then looks for a waiter (both seq_cst, Dekker-style):
// one of the two sees the other. A sender that sees the waiter sets `signal` and resumes it,
// which sched::sleep_unless does not miss (see there). False when the time ran out.
bool wait_for(Pair& p, uint64_t deadline_ms) {
  sched::Thread* self = sched::current();
  while (p.channel.empty()) {
    p.signal.store(false, std::memory_order_seq_cst);
    p.waiter.store(self, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the waiter before the look (see above)
    if (!p.channel.empty()) break;
    uint64_t ms = 1000;
    if (deadline_ms != 0) {
      const uint64_t now = sched::now_ms();
      if (now >= deadline_ms) {
        p.waiter.store(nullptr, std::memory_order_relaxed);
        return false;
      }
      if (deadline_ms - now < ms) ms = deadline_ms - now;
    }
    sched::sleep_unless(p.signal, ms);
  }
  p.waiter.store(nullptr, std::memory_order_relaxed);
  return true;
}

LongInt receive(DWORD core, void* buffer, DWORD capacity, LongInt timeout_ms, bool block) {
  Pair* p = nullptr;
  if (const LongInt e = find(core, DWORD(kernel::current_core()), &p); e != 0) return e;
  const uint64_t deadline = timeout_ms < 0 ? 0 : sched::now_ms() + uint64_t(timeout_ms) + (timeout_ms == 0);
  if (block && !wait_for(*p, deadline)) return VIRTIOBUS_E_TIMEOUT;
  const sched::ChannelRecv r = p->channel.poll(buffer, capacity, yield);
  switch (r.error) {
    case sched::ChannelError::kOk:
      return LongInt(r.length);
    case sched::ChannelError::kBufferTooSmall:
      return VIRTIOBUS_E_TOO_SMALL;
    default:
      return VIRTIOBUS_E_EMPTY;
  }
}

void say(const char* call, DWORD core, LongInt error) { kernel::printk("%p: core %d: error %d\n", call, core, error); }

}  // namespace

LongInt SendToCore(DWORD Core, const void* Buffer, DWORD Len) {
  Pair* p = nullptr;
  if (const LongInt e = find(DWORD(kernel::current_core()), Core, &p); e != 0) return e;
  if (Len > VIRTIOBUS_MAX_MESSAGE) return VIRTIOBUS_E_TOO_LARGE;
  if (Buffer == nullptr && Len != 0) return VIRTIOBUS_E_TOO_SMALL;
  p->channel.send(Buffer, Len, yield);  // waits (yielding) while the receiver drains a full ring
  // seq_cst: the message (its tail store) before the look for a waiter; see wait_for.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sched::Thread* w = p->waiter.load(std::memory_order_seq_cst)) {
    p->signal.store(true, std::memory_order_seq_cst);
    sched::resume(w);  // an IPI if its core is halted
  }
  return 0;
}

LongInt RecvFromCore(DWORD Core, void* Buffer, DWORD Capacity, LongInt TimeoutMs) {
  return receive(Core, Buffer, Capacity, TimeoutMs, true);
}

LongInt PollFromCore(DWORD Core, void* Buffer, DWORD Capacity) { return receive(Core, Buffer, Capacity, 0, false); }

void SendTo(DWORD Core, const void* Buffer, DWORD Len) {
  if (const LongInt e = SendToCore(Core, Buffer, Len); e != 0) say("SendTo", Core, e);
}

void RecvFrom(DWORD Core, void* Buffer) {
  if (const LongInt e = RecvFromCore(Core, Buffer, VIRTIOBUS_MAX_MESSAGE, -1); e < 0) say("RecvFrom", Core, e);
}
