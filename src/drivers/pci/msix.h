// MSI-X (PCI Local Bus 3.0 §6.8.2): a device's interrupt as a memory write straight to a core's
// local APIC, without the I/O APIC, a shared line or a status register to read. The capability
// (id 0x11) says how many table entries there are and where the table is (a memory BAR and an
// offset); an entry is an address (the local APIC's, with the destination APIC id), a data word
// (the vector, fixed delivery, edge) and a mask bit.
//
//   drivers::Msix m;
//   if (drivers::find_msix(cfg, dev, &m)) {
//     drivers::MmioIo table(m.table);
//     drivers::msix_route(table, 0, apic_id, vector);   // entry 0, unmasked
//     drivers::msix_enable(cfg, dev, m, true);
//   }
#pragma once

#include <drivers/io.h>
#include <drivers/pci/pci.h>

#include <cstdint>

namespace drivers {

struct Msix {
  uint8_t cap = 0;       // the capability's offset in configuration space
  uint16_t entries = 0;  // table size
  uint64_t table = 0;    // the table's address (its BAR's base + offset)
};

// The device's MSI-X capability, if it has one whose table lies in an assigned memory BAR.
bool find_msix(ConfigSpace& cfg, const PciDevice& d, Msix* out);
// Entry `entry` of the table behind `table` delivers `vector` to local APIC `apic` (fixed
// delivery, physical destination, edge-triggered), unmasked.
void msix_route(Io& table, uint16_t entry, uint32_t apic, uint8_t vector);
// MSI-X enable (and the function mask cleared) or disable; with MSI-X on, the device's INTx
// line is no longer used.
void msix_enable(ConfigSpace& cfg, const PciDevice& d, const Msix& m, bool on);

}  // namespace drivers
