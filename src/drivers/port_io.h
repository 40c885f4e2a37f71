// drivers::Io over x86 I/O ports (legacy virtio-pci BAR 0, other I/O BARs, ATA channels).
#pragma once

#include <arch/x86_64/cpu.h>
#include <drivers/io.h>

namespace drivers {

class PortIo final : public Io {
 public:
  explicit PortIo(uint16_t base) : base_(base) {}
  uint8_t read8(uint32_t o) override { return arch::inb(uint16_t(base_ + o)); }
  uint16_t read16(uint32_t o) override { return arch::inw(uint16_t(base_ + o)); }
  uint32_t read32(uint32_t o) override { return arch::inl(uint16_t(base_ + o)); }
  void write8(uint32_t o, uint8_t v) override { arch::outb(uint16_t(base_ + o), v); }
  void write16(uint32_t o, uint16_t v) override { arch::outw(uint16_t(base_ + o), v); }
  void write32(uint32_t o, uint32_t v) override { arch::outl(uint16_t(base_ + o), v); }
  void read16_repeat(uint32_t o, uint16_t* data, size_t count) override {
    arch::insw(uint16_t(base_ + o), data, count);
  }
  void write16_repeat(uint32_t o, const uint16_t* data, size_t count) override {
    arch::outsw(uint16_t(base_ + o), data, count);
  }

 private:
  uint16_t base_;
};

}  // namespace drivers
