#include <drivers/pci/pci.h>

namespace drivers {
namespace {

constexpr uint8_t kCommand = 0x04, kClass = 0x08, kHeader = 0x0C, kBar0 = 0x10, kSubsystem = 0x2C, kIrq = 0x3C;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

void PciBus::add_function(ConfigSpace& cfg, uint8_t bus, uint8_t dev, uint8_t fn) {
  if (count_ == kMaxDevices) {
    truncated_ = true;
    return;
  }
  const uint32_t id = cfg.read32(bus, dev, fn, 0);
  PciDevice& d = devices_[count_++];
  d = PciDevice{};
  d.bus = bus;
  d.dev = dev;
  d.fn = fn;
  d.vendor = uint16_t(id);
  d.device = uint16_t(id >> 16);
  const uint32_t cls = cfg.read32(bus, dev, fn, kClass);
  d.class_code = uint8_t(cls >> 24);
  d.subclass = uint8_t(cls >> 16);
  d.prog_if = uint8_t(cls >> 8);
  d.header_type = uint8_t(cfg.read32(bus, dev, fn, kHeader) >> 16) & 0x7F;
  const uint32_t irq = cfg.read32(bus, dev, fn, kIrq);
  d.irq_line = uint8_t(irq);
  d.irq_pin = uint8_t(irq >> 8);
  if (d.header_type != 0) return;  // bridges: no BARs of interest here
  d.subsystem_device = uint16_t(cfg.read32(bus, dev, fn, kSubsystem) >> 16);
  // Size each BAR: write all ones, read back the writable bits, restore (decoding off meanwhile).
  const uint32_t command = cfg.read32(bus, dev, fn, kCommand) & 0xFFFF;  // not the status bits (RW1C)
  cfg.write32(bus, dev, fn, kCommand, command & ~uint32_t(0x3));
  for (int i = 0; i < 6; ++i) {
    const uint8_t off = uint8_t(kBar0 + 4 * i);
    const uint32_t orig = cfg.read32(bus, dev, fn, off);
    cfg.write32(bus, dev, fn, off, 0xFFFFFFFF);
    const uint32_t mask = cfg.read32(bus, dev, fn, off);
    cfg.write32(bus, dev, fn, off, orig);
    if (mask == 0 || mask == 0xFFFFFFFF) continue;  // not implemented (or no device)
    PciBar& b = d.bar[i];
    if (orig & 1) {
      b.io = true;
      b.base = orig & ~uint32_t(0x3);
      b.size = (~(mask & ~uint32_t(0x3)) + 1) & 0xFFFF;
    } else {
      b.prefetchable = orig & 0x8;
      b.is64 = ((orig >> 1) & 0x3) == 2;
      uint64_t base = orig & ~uint32_t(0xF);
      uint64_t size_mask = mask & ~uint32_t(0xF);
      if (b.is64 && i < 5) {
        const uint8_t hi_off = uint8_t(off + 4);
        const uint32_t orig_hi = cfg.read32(bus, dev, fn, hi_off);
        cfg.write32(bus, dev, fn, hi_off, 0xFFFFFFFF);
        const uint32_t mask_hi = cfg.read32(bus, dev, fn, hi_off);
        cfg.write32(bus, dev, fn, hi_off, orig_hi);
        base |= uint64_t(orig_hi) << 32;
        size_mask |= uint64_t(mask_hi) << 32;
      } else {
        size_mask |= 0xFFFFFFFF00000000ull;
      }
      b.base = base;
      b.size = ~size_mask + 1;
    }
    if (b.is64) ++i;  // the upper half is not a BAR of its own
  }
  cfg.write32(bus, dev, fn, kCommand, command);
}

void PciBus::scan(ConfigSpace& cfg) {
  count_ = 0;
  truncated_ = false;
  for (int bus = 0; bus < 256; ++bus) {
    for (uint8_t dev = 0; dev < 32; ++dev) {
      const uint32_t id = cfg.read32(uint8_t(bus), dev, 0, 0);
      if (uint16_t(id) == 0xFFFF) continue;
      add_function(cfg, uint8_t(bus), dev, 0);
      const bool multi = (cfg.read32(uint8_t(bus), dev, 0, kHeader) >> 16) & 0x80;
      for (uint8_t fn = 1; multi && fn < 8; ++fn) {
        if (uint16_t(cfg.read32(uint8_t(bus), dev, fn, 0)) != 0xFFFF) add_function(cfg, uint8_t(bus), dev, fn);
      }
    }
  }
}

int PciBus::assign_unassigned(ConfigSpace& cfg, const PciWindows& w) {
  // Start above everything already assigned inside the windows.
  uint64_t io_next = w.io_base, mem_next = w.mem_base;
  for (size_t k = 0; k < count_; ++k) {
    for (const PciBar& b : devices_[k].bar) {
      if (b.size == 0 || b.base == 0) continue;
      if (b.io && b.base >= w.io_base && b.base + b.size <= w.io_end && b.base + b.size > io_next) {
        io_next = b.base + b.size;
      }
      if (!b.io && b.base >= w.mem_base && b.base + b.size <= w.mem_end && b.base + b.size > mem_next) {
        mem_next = b.base + b.size;
      }
    }
  }
  int assigned = 0;
  for (size_t k = 0; k < count_; ++k) {
    PciDevice& d = devices_[k];
    // Behind a bridge a BAR must lie inside the bridge's window, which this does not manage:
    // only bus 0 (everything QEMU and Bochs put there) is assigned.
    if (d.bus != 0) continue;
    bool changed = false;
    for (int i = 0; i < 6; ++i) {
      PciBar& b = d.bar[i];
      if (b.size == 0 || b.base != 0) continue;
      const uint8_t off = uint8_t(kBar0 + 4 * i);
      if (b.io) {
        const uint64_t at = align_up(io_next, b.size);
        if (at + b.size > w.io_end) continue;
        cfg.write32(d.bus, d.dev, d.fn, off, uint32_t(at) | 1);
        b.base = at;
        io_next = at + b.size;
      } else {
        const uint64_t at = align_up(mem_next, b.size);
        if (at + b.size > w.mem_end) continue;
        cfg.write32(d.bus, d.dev, d.fn, off, uint32_t(at) | (b.is64 ? 0x4 : 0) | (b.prefetchable ? 0x8 : 0));
        if (b.is64) cfg.write32(d.bus, d.dev, d.fn, uint8_t(off + 4), uint32_t(at >> 32));
        b.base = at;
        mem_next = at + b.size;
      }
      ++assigned;
      changed = true;
    }
    if (changed) {
      // Decode only what is fully placed: a BAR left at 0 would decode over low RAM. Bus
      // mastering is the driver's to turn on (pci_enable).
      bool io_ok = true, mem_ok = true, any_io = false, any_mem = false;
      for (const PciBar& b : d.bar) {
        if (b.size == 0) continue;
        (b.io ? any_io : any_mem) = true;
        if (b.base == 0) (b.io ? io_ok : mem_ok) = false;
      }
      const uint32_t command = cfg.read32(d.bus, d.dev, d.fn, kCommand) & 0xFFFF;
      cfg.write32(d.bus, d.dev, d.fn, kCommand,
                  command | ((any_io && io_ok) ? 0x1 : 0) | ((any_mem && mem_ok) ? 0x2 : 0));
    }
  }
  return assigned;
}

size_t PciBus::unassigned() const {
  size_t n = 0;
  for (size_t k = 0; k < count_; ++k) {
    for (const PciBar& b : devices_[k].bar) n += (b.size != 0 && b.base == 0) ? 1 : 0;
  }
  return n;
}

const PciDevice* PciBus::find(uint16_t vendor, uint16_t device, size_t nth) const {
  for (size_t k = 0; k < count_; ++k) {
    if (devices_[k].vendor == vendor && devices_[k].device == device && nth-- == 0) return &devices_[k];
  }
  return nullptr;
}

void pci_enable(ConfigSpace& cfg, const PciDevice& d) {
  const uint32_t command = cfg.read32(d.bus, d.dev, d.fn, kCommand);
  cfg.write32(d.bus, d.dev, d.fn, kCommand, (command & 0xFFFF) | 0x7);  // I/O, memory, bus master
}

uint8_t next_capability(ConfigSpace& cfg, const PciDevice& d, uint8_t id, uint8_t after) {
  if (!((cfg.read32(d.bus, d.dev, d.fn, 0x04) >> 16) & 0x10)) return 0;  // no capability list
  uint8_t ptr =
      uint8_t((after == 0 ? cfg.read32(d.bus, d.dev, d.fn, 0x34) : cfg.read32(d.bus, d.dev, d.fn, after) >> 8) & 0xFC);
  for (int guard = 0; ptr >= 0x40 && guard < 48; ++guard) {
    const uint32_t head = cfg.read32(d.bus, d.dev, d.fn, ptr);
    if ((head & 0xFF) == id) return ptr;
    ptr = uint8_t((head >> 8) & 0xFC);
  }
  return 0;
}

int piix_irq(ConfigSpace& cfg, const PciDevice& d) {
  if (d.irq_pin == 0 || d.irq_pin > 4 || d.bus != 0) return -1;
  constexpr uint8_t kPiixDev = 1, kPirqRouteControl = 0x60;
  const unsigned pirq = (d.dev + d.irq_pin - 2) & 3;
  const uint32_t routes = cfg.read32(0, kPiixDev, 0, kPirqRouteControl);
  const uint8_t route = uint8_t(routes >> (8 * pirq));
  const auto usable = [](unsigned irq) { return irq >= 3 && irq <= 15 && irq != 8 && irq != 13; };
  if (!(route & 0x80) && usable(route & 0x0F)) return route & 0x0F;
  if (!usable(d.irq_line)) return -1;
  const uint32_t shift = 8 * pirq;
  cfg.write32(0, kPiixDev, 0, kPirqRouteControl, (routes & ~(0xFFu << shift)) | (uint32_t(d.irq_line) << shift));
  return d.irq_line;
}

}  // namespace drivers
