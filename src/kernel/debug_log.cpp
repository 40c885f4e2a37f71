// Per-core debug rings and their dump (see debug_log.h; the ring's protocol: lib/debug_ring.cpp).
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/spinlock.h>
#include <drivers/console/virtio_console.h>
#include <drivers/rtc/cmos_rtc.h>
#include <drivers/serial/uart16550.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/debug_log.h>
#include <kernel/gdb_stub.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <lib/debug_ring.h>

#include <atomic>
#include <cstring>

namespace kernel {
namespace {

struct alignas(64) CoreRing {
  klib::DebugRing ring;
  bool tried_default = false;  // owner only: the default buffer was asked for (once)
  bool owns_buffer = false;    // the buffer came from the heap (freed when SetDebugRing replaces it)
};

CoreRing g_rings[arch::kMaxCpus];
drivers::Uart16550 g_debug_uart(kDebugPort);
bool g_uart_ready = false;  // under g_dump_lock
// `debug=virtio`: the rings go to a virtio-console instead of COM2: port 1 of the console's
// (console=virtio, a device with MULTIPORT and a second port), or else the first one free when
// the first debug line is written.
std::atomic<bool> g_device_looked{false};
drivers::ConsoleDevice* g_device = nullptr;  // set once, before any dump can use it (see attach_device)
// The dump's bytes go to the virtio-console a line (or kPiece bytes) per write.
constexpr size_t kPiece = 256;
char g_piece[kPiece];  // under g_dump_lock
size_t g_piece_used = 0;

// Serialises the drainers (the dump, a ring's move) and the device; never taken by the write path.
arch::SpinLock g_dump_lock;
std::atomic<int> g_dump_owner{-1};  // a fault during a dump must not wait for itself

void put_ring(void* ring, char c) { static_cast<klib::DebugRing*>(ring)->put(c); }
void put_uart(void*, char c) { g_debug_uart.put(c); }
void flush_piece() {
  if (g_piece_used != 0) (void)g_device->write(g_piece, g_piece_used);
  g_piece_used = 0;
}
void put_device(void*, char c) {
  g_piece[g_piece_used++] = c;
  if (c == '\n' || g_piece_used == kPiece) flush_piece();
}

void now(klib::DateTime* out) { drivers::cmos_read_time(out); }

// Runs `fn` as the only drainer; false if this core is already inside (a fault in a dump).
template <typename Fn>
bool as_drainer(Fn fn) {
  arch::InterruptGuard no_interrupts;
  const int me = int(current_core());
  if (g_dump_owner.load(std::memory_order_relaxed) == me) return false;
  g_dump_lock.lock();
  g_dump_owner.store(me, std::memory_order_relaxed);
  fn();
  g_dump_owner.store(-1, std::memory_order_relaxed);
  g_dump_lock.unlock();
  return true;
}

bool move_ring(CoreRing& r, char* base, size_t size, bool owned) {
  char* old = r.ring.base();
  bool moved = false;
  as_drainer([&] { moved = r.ring.move_to(base, size); });
  if (!moved) return false;
  if (r.owns_buffer) release(old);
  r.owns_buffer = owned;
  return true;
}

// Once, on the first debug line written with interrupts on: with `debug=virtio`, claims and starts
// the next free virtio-console. The pointer is published before any dump reads it: the dump
// runs under g_dump_lock, taken after this store by as_drainer (the lock orders it).
[[gnu::cold]] void attach_device() {
  const char* where = kernel_params().value("debug");
  if (where == nullptr || strcmp(where, "virtio") != 0) return;
  drivers::ConsoleDevice* console = console_device();
  drivers::ConsoleDevice* device = console != nullptr ? console->port(1) : nullptr;
  const bool second_port = device != nullptr;
  if (device == nullptr) {
    klib::Result<drivers::ConsoleDevice*> started = start_free_virtio_console(nullptr);
    if (!started) {
      printk("DebugRing: no virtio-console for debug=virtio (%p): the rings go to COM2\n",
             klib::error_text(started.error()));
      return;
    }
    device = started.value();
  }
  as_drainer([&] { g_device = device; });
  printk("DebugRing: the rings go to VirtIOConsole%p (debug=virtio)\n", second_port ? ", port 1" : "");
}

}  // namespace

void debug_write(const char* fmt, const klib::Arg* args, size_t count) {
  // Not from an interrupt handler or a fault (interrupts off): starting a device takes locks and
  // memory; a later line on a thread does it.
  if (arch::interrupts_enabled() && !g_device_looked.exchange(true, std::memory_order_acq_rel)) attach_device();
  arch::InterruptGuard no_interrupts;  // an interrupt handler's line must not land inside ours
  const uint32_t core = current_core();
  CoreRing& r = g_rings[core];
  if (!r.tried_default) {
    r.tried_default = true;
    // Relaxed: the dump reads the rings under g_dump_lock and each ring's bytes through its head.
    arch::g_before_poweroff.store(debug_dump, std::memory_order_relaxed);
    if (r.ring.base() == nullptr) {
      char* buffer = static_cast<char*>(allocate(kDefaultDebugRingSize, 64));
      if (buffer != nullptr && !move_ring(r, buffer, kDefaultDebugRingSize, true)) release(buffer);
    }
  }
  const klib::Sink sink{put_ring, &r.ring, now};
  const klib::Arg prefix[] = {klib::make_arg(core), klib::make_arg(current_thread_id()), klib::Arg()};
  klib::format(sink, "[\t] CPU%d Thread#%h ", prefix, 2);
  klib::format(sink, fmt, args, count);
}

void debug_dump() {
  as_drainer([] {
    if (g_device == nullptr && gdb_stub_on_com2()) return;  // COM2 carries gdb's protocol: the rings stay in memory
    if (g_device != nullptr) {
      const klib::Sink sink{put_device, nullptr, now};
      for (CoreRing& r : g_rings) r.ring.drain(sink);
      flush_piece();
      return;
    }
    if (!g_uart_ready) {
      g_debug_uart.init();
      g_uart_ready = true;
    }
    const klib::Sink sink{put_uart, nullptr, now};
    for (CoreRing& r : g_rings) r.ring.drain(sink);
    g_debug_uart.flush();
  });
}

bool debug_set_ring(char* base, size_t size) {
  arch::InterruptGuard no_interrupts;
  CoreRing& r = g_rings[current_core()];
  r.tried_default = true;  // no default buffer replaces this one later
  arch::g_before_poweroff.store(debug_dump, std::memory_order_relaxed);
  return move_ring(r, base, size, false);
}

}  // namespace kernel
