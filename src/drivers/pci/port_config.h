// PCI configuration mechanism #1 through ports 0xCF8 (address) and 0xCFC (data).
#pragma once

#include <drivers/pci/pci.h>

namespace drivers {

class PortConfigSpace final : public ConfigSpace {
 public:
  uint32_t read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset) override;
  void write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset, uint32_t value) override;
};

}  // namespace drivers
