#include <kernel/console.h>
#include <kernel/devices.h>

namespace kernel {
namespace {
drivers::PortConfigSpace g_config;
drivers::PciBus g_bus;
}  // namespace

void devices_init() {
  printk("Detecting Pci devices ...\n");
  g_bus.scan(g_config);
  const int assigned = g_bus.assign_unassigned(g_config, drivers::PciWindows());
  for (size_t i = 0; i < g_bus.size(); ++i) {
    const drivers::PciDevice& d = g_bus[i];
    printk("PCI %d:%d.%d %h:%h class %d.%d irq %d", d.bus, d.dev, d.fn, d.vendor, d.device, d.class_code, d.subclass,
           d.irq_line);
    for (int b = 0; b < 6; ++b) {
      if (d.bar[b].size != 0) printk(", bar%d %p %h", b, d.bar[b].io ? "io" : "mem", d.bar[b].base);
    }
    printk("\n");
  }
  if (assigned > 0) printk("PCI: assigned %d BARs the firmware left unassigned\n", assigned);
  if (g_bus.unassigned() > 0) printk("PCI: %d BARs could not be assigned\n", g_bus.unassigned());
  if (g_bus.truncated()) printk("PCI: more than %d functions; the rest are ignored\n", drivers::PciBus::kMaxDevices);
}

const drivers::PciBus& pci_bus() { return g_bus; }
drivers::ConfigSpace& pci_config() { return g_config; }

}  // namespace kernel
