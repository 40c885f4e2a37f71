// `console=virtio` (kernel/console.h): the console moves to the first virtio-console. Cold code
// (run once at boot), apart from console.cpp's output path.
#include <drivers/console/virtio_console.h>
#include <kernel/console.h>
#include <kernel/devices.h>

namespace kernel {

void console_to_virtio() {
  klib::Result<drivers::Device*> d =
      claim_device(drivers::DeviceClass::kConsole, "virtiocon", drivers::NameRule::kPrefix);
  klib::Result<void*> started = d ? start_device(*d.value(), drivers::start_console_device) : d.error();
  if (!started) {
    printk("Console: no virtio-console (%p): staying on COM1\n", klib::error_text(started.error()));
    return;
  }
  printk("Console: moving to VirtIOConsole\n");
  console_set_device(static_cast<drivers::ConsoleDevice*>(started.value()));
  printk("Console: VirtIOConsole, port 0 (console=virtio)\n");
}

}  // namespace kernel
