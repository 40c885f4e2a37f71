#include <arch/x86_64/spinlock.h>
#include <drivers/rtc/cmos_rtc.h>
#include <drivers/serial/uart16550.h>
#include <kernel/console.h>

namespace kernel {
namespace {

drivers::Uart16550 g_com1(drivers::kCom1);
arch::SpinLock g_console_lock;
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
  arch::IrqSaveGuard guard(g_console_lock);
  klib::format(console_sink(), fmt, args, count);
}

void console_flush() { g_com1.flush(); }

void console_enter_panic_mode() { g_panic_mode = true; }

}  // namespace kernel
