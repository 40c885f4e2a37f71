// Toro's VirtIOBus (toro/virtiobus.h) over sched::Channel: the channels of every ordered pair
// of cores, set up at the first call; a receiver with nothing to read sleeps (its core halts
// when idle) and the sender wakes it (an IPI when that core is halted); a sender facing a full
// ring sleeps the same way until the receiver has made room.
#include <arch/x86_64/cpu.h>
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

// A thread of one side of a pair sleeping until the other side makes its condition true (data
// for the receiver, room for the sender), and the flag the other side sets (see sleep_until).
constexpr int kSpinLooks = 200;

struct Sleeper {
  std::atomic<sched::Thread*> thread{nullptr};
  std::atomic<bool> signal{false};
};

// One ordered pair: the channel and both sides' sleeps. After a short look (kSpinLooks), neither
// side spins: a receiver with nothing to read and a sender with no room both halt their core (so
// cores that outnumber the host's CPUs under emulation do not take turns burning them).
struct alignas(64) Pair {
  Channel channel;
  Sleeper reader;  // waits for a message, or the rest of one
  Sleeper writer;  // waits for room in a full ring
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
      // The caller's own memory: a core's heap is owner-only, and the other cores run by now
      // (allocate_for is for cores that do not run yet; taking from a running core's heap
      // raced its own allocations: a slab laid over one of its stack guard pages at -smp 8).
      void* memory = kernel::allocate(sizeof(Pair), 64);
      if (memory == nullptr) return nullptr;  // (what was taken stays: rare)
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

// Sleeps until ready() or `deadline_ms` passes (0: none), without losing a wake-up: the sleeper
// publishes itself and then looks at the condition, the other side changes the condition and
// then looks for a sleeper (poke; both seq_cst, Dekker-style): one of the two sees the other.
// A poke that sees the sleeper sets `signal` and resumes it, which sched::sleep_unless does not
// miss (see there). False when the time ran out.
template <typename Ready>
bool sleep_until(Sleeper& s, Ready&& ready, uint64_t deadline_ms) {
  // A short look first: when the other side is running, its message (or room) is usually a few
  // microseconds away, cheaper to wait for than a sleep and an IPI (exits under a hypervisor).
  for (int i = 0; i < kSpinLooks && !ready(); ++i) arch::cpu_relax();
  sched::Thread* self = sched::current();
  while (!ready()) {
    s.signal.store(false, std::memory_order_seq_cst);
    s.thread.store(self, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the sleeper before the look (see above)
    if (ready()) break;
    uint64_t ms = 1000;
    if (deadline_ms != 0) {
      const uint64_t now = sched::now_ms();
      if (now >= deadline_ms) {
        s.thread.store(nullptr, std::memory_order_relaxed);
        return false;
      }
      if (deadline_ms - now < ms) ms = deadline_ms - now;
    }
    sched::sleep_unless(s.signal, ms);
  }
  s.thread.store(nullptr, std::memory_order_relaxed);
  return true;
}

// After changing the condition (a slot written or freed, released by the channel's stores).
void poke(Sleeper& s) {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the change before the look; see sleep_until
  if (sched::Thread* w = s.thread.load(std::memory_order_seq_cst)) {
    s.signal.store(true, std::memory_order_seq_cst);
    sched::resume(w);  // an IPI if its core is halted
  }
}

bool wait_for_data(Pair& p, uint64_t deadline_ms) {
  return sleep_until(
      p.reader, [&p] { return !p.channel.empty(); }, deadline_ms);
}

LongInt receive(DWORD core, void* buffer, DWORD capacity, LongInt timeout_ms, bool block) {
  Pair* p = nullptr;
  if (const LongInt e = find(core, DWORD(kernel::current_core()), &p); e != 0) return e;
  const uint64_t deadline = timeout_ms < 0 ? 0 : sched::now_ms() + uint64_t(timeout_ms) + (timeout_ms == 0);
  if (block && !wait_for_data(*p, deadline)) return VIRTIOBUS_E_TIMEOUT;
  // The rest of a message longer than the ring: the sender may sleep on a full ring, so tell it
  // about the room made so far, then sleep until more comes.
  auto more = [p] {
    poke(p->writer);
    wait_for_data(*p, 0);
  };
  const sched::ChannelRecv r = p->channel.poll(buffer, capacity, more);
  poke(p->writer);  // the slots it freed
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
  // A full ring: the receiver must drain it, so wake it for what is there, then sleep for room.
  auto room = [p] {
    poke(p->reader);
    sleep_until(
        p->writer, [p] { return !p->channel.full(); }, 0);
  };
  p->channel.send(Buffer, Len, room);
  poke(p->reader);
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
