// A simulated PCI bus for the driver tests (pci_test, device_test, irq_routing_test):
// functions with a register file and BARs that answer the sizing protocol (writing all ones
// reads back the size mask).
//
//   drivers::test::SimBus sim;
//   sim.add(0, 3, 0, 0x8086, 0x100E).bar_mask[0] = 0xFFFE0000;
//   drivers::PciBus bus;  bus.scan(sim);
#pragma once

#include <drivers/pci/pci.h>

#include <map>
#include <tuple>

namespace drivers::test {

// A simulated PCI bus: functions with a register file and BARs that answer the sizing
// protocol (writing all ones reads back the size mask).
struct SimFunction {
  uint32_t regs[64] = {};
  uint32_t bar_mask[6] = {};  // writable bits of each BAR (0: not implemented)
};

class SimBus : public drivers::ConfigSpace {
 public:
  std::map<std::tuple<int, int, int>, SimFunction> functions;
  int writes = 0;

  SimFunction& add(int bus, int dev, int fn, uint16_t vendor, uint16_t device, bool multi = false) {
    SimFunction& f = functions[{bus, dev, fn}];
    f.regs[0] = uint32_t(vendor) | (uint32_t(device) << 16);
    f.regs[3] = multi ? 0x00800000 : 0;
    f.regs[2] = 0x02000000;  // network controller
    return f;
  }
  uint32_t read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off) override {
    auto it = functions.find({bus, dev, fn});
    if (it == functions.end()) return 0xFFFFFFFF;
    return it->second.regs[off / 4];
  }
  void write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v) override {
    auto it = functions.find({bus, dev, fn});
    if (it == functions.end()) return;
    ++writes;
    SimFunction& f = it->second;
    const int r = off / 4;
    if (r >= 4 && r < 10 && f.bar_mask[r - 4] != 0) {
      const uint32_t low = f.regs[r] & 0xF;  // type bits are read-only
      f.regs[r] = (v & f.bar_mask[r - 4]) | (f.bar_mask[r - 4] == 0xFFFFFFFF ? 0 : low);
      return;
    }
    if (r == 1) v = (v & 0xFFFF) | (f.regs[1] & 0xFFFF0000);  // the status half is read-only here
    f.regs[r] = v;
  }
};

}  // namespace drivers::test
