// PCI (PCI Local Bus Specification 3.0): configuration mechanism #1, a scan of every bus,
// device and function, BAR sizing, and assignment of BARs the firmware left unassigned (qboot
// leaves them at 0; toolchain.md "PCI under qboot"). Portable over a ConfigSpace, so the scan
// and the assignment are host-tested on a simulated bus.
//
//   drivers::PortConfigSpace cfg;                     // 0xCF8/0xCFC
//   drivers::PciBus bus;
//   bus.scan(cfg);
//   bus.assign_unassigned(cfg, windows);
//   if (const auto* d = bus.find(0x8086, 0x100E)) { ... d->bar[0] ... }
#pragma once

#include <cstddef>
#include <cstdint>

namespace drivers {

class ConfigSpace {
 public:
  virtual uint32_t read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset) = 0;
  virtual void write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset, uint32_t value) = 0;

 protected:
  ~ConfigSpace() = default;
};

struct PciBar {
  uint64_t base = 0;
  uint64_t size = 0;  // 0: not implemented
  bool io = false;
  bool is64 = false;  // takes this BAR and the next
  bool prefetchable = false;
};

struct PciDevice {
  uint8_t bus, dev, fn;
  uint16_t vendor, device;
  uint8_t class_code, subclass, prog_if, header_type;
  uint8_t irq_line, irq_pin;  // legacy INTx: line as the firmware set it, pin 1-4 = INTA-D
  uint16_t subsystem_device;  // virtio legacy: the device type
  PciBar bar[6];
};

// Where unassigned BARs may go (kept clear of RAM and of BARs already assigned).
struct PciWindows {
  uint32_t io_base = 0xC000, io_end = 0x10000;
  uint64_t mem_base = 0xC0000000, mem_end = 0xFEC00000;  // below the I/O APIC and LAPIC
};

class PciBus {
 public:
  static constexpr size_t kMaxDevices = 64;

  // Finds every function on buses 0-255 (functions 1-7 only of multi-function devices) and
  // sizes its BARs (saving and restoring them).
  void scan(ConfigSpace& cfg);
  // Gives every implemented BAR at address 0 a naturally aligned place in `w` above the BARs
  // already there, and enables I/O, memory decoding and bus mastering. Returns the number of
  // BARs assigned; BARs that do not fit stay 0 and are reported by unassigned().
  int assign_unassigned(ConfigSpace& cfg, const PciWindows& w);
  size_t unassigned() const;

  size_t size() const { return count_; }
  const PciDevice& operator[](size_t i) const { return devices_[i]; }
  const PciDevice* find(uint16_t vendor, uint16_t device, size_t nth = 0) const;
  bool truncated() const { return truncated_; }

 private:
  void add_function(ConfigSpace& cfg, uint8_t bus, uint8_t dev, uint8_t fn);
  PciDevice devices_[kMaxDevices] = {};
  size_t count_ = 0;
  bool truncated_ = false;
};

// Enables bus mastering (DMA) and memory/I-O decoding of a device.
void pci_enable(ConfigSpace& cfg, const PciDevice& d);

// i440FX/PIIX3 (QEMU `pc`, Bochs): the ISA IRQ that INTx of device `d` on bus 0 reaches. The
// PIIX3 at 0:1.0 routes PIRQA-D to IRQs through its route control registers 0x60-0x63 (bit 7:
// disabled; PIIX3 datasheet §2.2.17); device `dev`'s pin p drives PIRQ (dev + p - 2) mod 4 (the
// swizzle of QEMU's and Bochs' boards). The interrupt-line register is only what the firmware
// wrote, and qboot has been seen writing a line its routing does not match (a card in slot 4:
// line 10, no interrupt ever), so the routing register decides; a disabled route is enabled
// on the line register's IRQ. -1: no pin, not on bus 0, or no usable IRQ.
int piix_irq(ConfigSpace& cfg, const PciDevice& d);

// The device's next capability with id `id` (PCI 3.0 §6.7) after the one at offset `after`
// (0: from the start of the list): its offset in configuration space, 0 when there is none.
// A list that loops ends after 48 entries.
uint8_t next_capability(ConfigSpace& cfg, const PciDevice& d, uint8_t id, uint8_t after = 0);

}  // namespace drivers
