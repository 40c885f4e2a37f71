// Register access behind one interface: port I/O or MMIO on the VM, a recording mock in the
// host tests (tests/unit/drivers), so a driver's register sequences are tested without hardware.
//
//   drivers::PortIo io(0xC000);      // or drivers::MmioIo io(bar0)
//   io.write32(0x00, 1u << 26);      // e1000 CTRL.RST
//   uint32_t status = io.read32(0x08);
#pragma once

#include <cstddef>
#include <cstdint>

namespace drivers {

// A monotonic clock in microseconds (the TSC on the VM, a fake in the host tests): what a
// driver measures its timeouts with, so a device that never answers cannot hang it.
using Clock = uint64_t (*)();

class Io {
 public:
  virtual uint8_t read8(uint32_t offset) = 0;
  virtual uint16_t read16(uint32_t offset) = 0;
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual void write8(uint32_t offset, uint8_t value) = 0;
  virtual void write16(uint32_t offset, uint16_t value) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  // `count` 16-bit accesses to the same register (a data port: ATA PIO moves a sector as 256
  // words). Port I/O does it in one string instruction.
  virtual void read16_repeat(uint32_t offset, uint16_t* data, size_t count) {
    for (size_t i = 0; i < count; ++i) data[i] = read16(offset);
  }
  virtual void write16_repeat(uint32_t offset, const uint16_t* data, size_t count) {
    for (size_t i = 0; i < count; ++i) write16(offset, data[i]);
  }

 protected:
  ~Io() = default;
};

// Memory-mapped registers (volatile accesses; the kernel maps MMIO uncached-by-MTRR/identity).
class MmioIo final : public Io {
 public:
  explicit MmioIo(uint64_t base) : base_(base) {}
  uint8_t read8(uint32_t o) override { return *reinterpret_cast<volatile uint8_t*>(static_cast<uintptr_t>(base_ + o)); }
  uint16_t read16(uint32_t o) override {
    return *reinterpret_cast<volatile uint16_t*>(static_cast<uintptr_t>(base_ + o));
  }
  uint32_t read32(uint32_t o) override {
    return *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base_ + o));
  }
  void write8(uint32_t o, uint8_t v) override {
    *reinterpret_cast<volatile uint8_t*>(static_cast<uintptr_t>(base_ + o)) = v;
  }
  void write16(uint32_t o, uint16_t v) override {
    *reinterpret_cast<volatile uint16_t*>(static_cast<uintptr_t>(base_ + o)) = v;
  }
  void write32(uint32_t o, uint32_t v) override {
    *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base_ + o)) = v;
  }

 private:
  uint64_t base_;
};

}  // namespace drivers
