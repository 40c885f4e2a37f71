#include <arch/x86_64/spinlock.h>
#include <drivers/rtc/cmos_rtc.h>
#include <drivers/serial/uart16550.h>
#include <kernel/console.h>
#include <kernel/percpu.h>

#include <atomic>

namespace kernel {
namespace {

drivers::Uart16550 g_com1(drivers::kCom1);
arch::SpinLock g_console_lock;
std::atomic<int> g_owner{-1};  // core holding the lock; a fault report on that core re-enters
bool g_panic_mode = false;

void put(void*, char c) { g_com1.put(c); }
void now(klib::DateTime* out) { drivers::cmos_read_time(out); }

}  // namespace

void console_init() { g_com1.init(); }

klib::Sink console_sink() { return klib::Sink{put, nullptr, now}; }

void console_write(const char* fmt, const klib::Arg* args, size_t count) {
  if (g_panic_mode) {
    klib::format(console_sink(), fmt, args, count);
    return;
  }
  arch::InterruptGuard no_interrupts;
  const int me = int(current_core());
  if (g_owner.load(std::memory_order_relaxed) == me) {
    // This core already holds the lock: a fault or panic inside a console write. Waiting would
    // deadlock; the interrupted line gets the report in the middle.
    klib::format(console_sink(), fmt, args, count);
    return;
  }
  g_console_lock.lock();
  g_owner.store(me, std::memory_order_relaxed);
  klib::format(console_sink(), fmt, args, count);
  g_owner.store(-1, std::memory_order_relaxed);
  g_console_lock.unlock();
}

void console_flush() { g_com1.flush(); }

void console_enter_panic_mode() { g_panic_mode = true; }

}  // namespace kernel
