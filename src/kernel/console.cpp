#include <arch/x86_64/spinlock.h>
#include <drivers/console/virtio_console.h>
#include <drivers/rtc/cmos_rtc.h>
#include <drivers/serial/uart16550.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/percpu.h>

#include <atomic>

namespace kernel {
namespace {

drivers::Uart16550 g_com1(drivers::kCom1);
arch::SpinLock g_console_lock;
std::atomic<int> g_owner{-1};  // core holding the lock; a fault report on that core re-enters
bool g_panic_mode = false;

// With `console=virtio`: the device, and a line's worth of bytes for it (each write is a
// notification, an exit to the hypervisor: a line at a time, not a byte). Under the console
// lock, or in panic mode (the other cores stopped).
drivers::ConsoleDevice* g_device = nullptr;
char g_line[256];
size_t g_line_length = 0;

void flush_line() {
  if (g_device != nullptr && g_line_length != 0) g_device->write(g_line, g_line_length);
  g_line_length = 0;
}

void put(void*, char c) {
  if (g_device == nullptr) {
    g_com1.put(c);
    return;
  }
  g_line[g_line_length++] = c;
  if (c == '\n' || g_line_length == sizeof g_line) flush_line();
}
void now(klib::DateTime* out) { drivers::cmos_read_time(out); }

}  // namespace

void console_init() { g_com1.init(); }

klib::Sink console_sink() { return klib::Sink{put, nullptr, now}; }

// Takes the console lock unless panic mode is on or this core holds it already (a fault or panic
// inside a console write: waiting would deadlock, so the interrupted line gets the report in the
// middle). True when this call took it: the caller then gives it back with release_console().
// Interrupts must be off.
bool acquire_console() {
  if (g_panic_mode) return false;
  const int me = int(current_core());
  if (g_owner.load(std::memory_order_relaxed) == me) return false;
  g_console_lock.lock();
  g_owner.store(me, std::memory_order_relaxed);
  return true;
}

void release_console(bool taken) {
  if (!taken) return;
  g_owner.store(-1, std::memory_order_relaxed);
  g_console_lock.unlock();
}

void console_write(const char* fmt, const klib::Arg* args, size_t count) {
  arch::InterruptGuard no_interrupts;
  const bool taken = acquire_console();
  klib::format(console_sink(), fmt, args, count);
  flush_line();
  release_console(taken);
}

void console_flush() {
  flush_line();
  g_com1.flush();
}

void console_enter_panic_mode() { g_panic_mode = true; }

drivers::ConsoleDevice* console_device() { return g_device; }

void console_set_device(drivers::ConsoleDevice* device) {
  arch::InterruptGuard no_interrupts;
  const bool taken = acquire_console();
  flush_line();
  g_device = device;
  release_console(taken);
}

}  // namespace kernel
