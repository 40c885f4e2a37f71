// The kernel console on COM1: Toro's WriteConsoleF engine behind a cross-core lock.
//
//   kernel::printk("Core#%d ... Running\n", 0);
//   kernel::console_flush();
#pragma once

#include <arch/x86_64/cpu.h>
#include <lib/format.h>
#include <lib/result.h>

#include <cstddef>
#include <type_traits>

namespace drivers {
class ConsoleDevice;
struct Device;
}  // namespace drivers

namespace kernel {

void console_init();
// Formats under the console lock with interrupts off (the whole line stays together).
void console_write(const char* fmt, const klib::Arg* args, size_t count);
// Waits until the UART has sent everything.
void console_flush();
// `console=virtio` (boot, once the devices are bound): the console moves from COM1 to the first
// virtio-console's port 0, with a line saying so on both; COM1 keeps it if there is none.
void console_to_virtio();
// Claims the first virtio-console no one has taken and starts it (port 0's face; `device`, if
// given, gets the bus device, for its interrupt): console=virtio, debug=virtio and gdb=virtio
// each take their own, in that order.
klib::Result<drivers::ConsoleDevice*> start_free_virtio_console(drivers::Device** device);
// The console's output goes to `device` from now on (nullptr: back to COM1), after what was
// buffered for the previous one.
void console_set_device(drivers::ConsoleDevice* device);
// The device the console writes to (nullptr: COM1): its other ports (MULTIPORT) carry the
// debug rings with `debug=virtio`.
drivers::ConsoleDevice* console_device();
// From now on writes skip the lock: the fault and panic paths may interrupt a holder of it.
void console_enter_panic_mode();
// Unlocked sink: for code that holds the console (ConsoleHold) or has stopped the other cores.
klib::Sink console_sink();

bool acquire_console();
void release_console(bool taken);
// Holds the console lock for several writes (a fault report), so that no other core's line lands
// among them; re-entrant on one core (printk inside it writes at once). Interrupts are off inside.
class ConsoleHold {
 public:
  ConsoleHold() : taken_(acquire_console()) {}
  ~ConsoleHold() { release_console(taken_); }
  ConsoleHold(const ConsoleHold&) = delete;
  ConsoleHold& operator=(const ConsoleHold&) = delete;

 private:
  arch::InterruptGuard no_interrupts_;  // constructed first: off before the lock is taken
  bool taken_;
};

template <typename... Args>
void printk(klib::FormatString<std::type_identity_t<Args>...> fmt, const Args&... args) {
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  console_write(fmt.str, packed, sizeof...(Args));
}

}  // namespace kernel
