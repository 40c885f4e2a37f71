#include <arch/x86_64/cpu.h>
#include <arch/x86_64/spinlock.h>
#include <drivers/pci/port_config.h>

namespace drivers {
namespace {
// The address/data pair is one shared resource for all cores.
arch::SpinLock g_config_lock;

uint32_t address(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset) {
  return 0x80000000u | (uint32_t(bus) << 16) | (uint32_t(dev & 31) << 11) | (uint32_t(fn & 7) << 8) | (offset & 0xFC);
}
}  // namespace

uint32_t PortConfigSpace::read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset) {
  arch::IrqSaveGuard guard(g_config_lock);
  arch::outl(0xCF8, address(bus, dev, fn, offset));
  return arch::inl(0xCFC);
}

void PortConfigSpace::write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t offset, uint32_t value) {
  arch::IrqSaveGuard guard(g_config_lock);
  arch::outl(0xCF8, address(bus, dev, fn, offset));
  arch::outl(0xCFC, value);
}

}  // namespace drivers
