// Devices found at boot: the PCI bus, scanned and with unassigned BARs placed (drivers/pci).
//
//   kernel::devices_init();                        // boot sequence, once
//   const drivers::PciBus& bus = kernel::pci_bus();
#pragma once

#include <drivers/pci/pci.h>
#include <drivers/pci/port_config.h>

namespace kernel {

void devices_init();
const drivers::PciBus& pci_bus();
drivers::ConfigSpace& pci_config();

}  // namespace kernel
