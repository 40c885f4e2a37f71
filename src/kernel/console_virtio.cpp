// `console=virtio` (kernel/console.h): the console moves to the first virtio-console; and the
// claim of a free virtio-console that debug=virtio and gdb=virtio share. Cold code (run once),
// apart from console.cpp's output path.
#include <drivers/console/virtio_console.h>
#include <kernel/console.h>
#include <kernel/devices.h>

namespace kernel {

klib::Result<drivers::ConsoleDevice*> start_free_virtio_console(drivers::Device** device) {
  klib::Result<drivers::Device*> d =
      claim_device(drivers::DeviceClass::kConsole, "virtiocon", drivers::NameRule::kPrefix);
  klib::Result<void*> started = d ? start_device(*d.value(), drivers::start_console_device) : d.error();
  if (!started) return started.error();
  if (device != nullptr) *device = d.value();
  return static_cast<drivers::ConsoleDevice*>(started.value());
}

void console_to_virtio() {
  klib::Result<drivers::ConsoleDevice*> started = start_free_virtio_console(nullptr);
  if (!started) {
    printk("Console: no virtio-console (%p): staying on COM1\n", klib::error_text(started.error()));
    return;
  }
  printk("Console: moving to VirtIOConsole\n");
  console_set_device(started.value());
  printk("Console: VirtIOConsole, port 0 (console=virtio)\n");
}

}  // namespace kernel
