// The device model. A driver declares, in its own .cpp, what it takes (a PCI vendor/device or
// class, or a virtio device type, offered on every virtio transport) and how to start a device;
// the kernel enumerates the buses at boot (kernel/devices.cpp), binds each device to the first
// driver that takes it, and keeps the devices in a registry that Toro's name lookups use
// (DedicateNetwork, and DedicateBlockDriver with its "name starts with" rule). Portable:
// matching and the registry are host-tested (tests/unit/drivers/device_test.cpp).
//
//   TORO_DRIVER(e1000) = {.name = "e1000", ...};            // in src/drivers/net/e1000.cpp
//   TORO_DRIVER_START(e1000, start_e1000);                  // Result<Nic*> start_e1000(Device&, const StartContext&)
//   // and one line in src/drivers/meson.build: ['e1000', files('net/e1000.cpp')]
//
//   drivers::Transport t;
//   if (const drivers::Driver* drv = drivers::match_pci(pci_device, drivers::registered_drivers(), &t)) ...
//   klib::Result<drivers::Device*> d = registry.claim(drivers::DeviceClass::kNetwork, "e1000", NameRule::kExact);
#pragma once

#include <drivers/io.h>
#include <drivers/net/nic.h>  // DmaAllocator
#include <drivers/pci/pci.h>
#include <lib/result.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace drivers {

enum class DeviceClass : uint8_t { kNetwork, kBlock, kConsole };  // drivers::Nic*, BlockDevice*, ConsoleDevice*

// How the kernel reaches a device (and where its interrupt comes from).
enum class Transport : uint8_t {
  kPci,              // a PCI function driven through its own registers (e1000)
  kVirtioLegacyPci,  // transitional virtio 1AF4:1000-103F: the legacy interface in I/O BAR 0
  kVirtioModernPci,  // virtio 1.x 1AF4:1040-107F: structures found through vendor capabilities
  kVirtioMmio,       // legacy virtio-mmio (QEMU microvm)
  kIsa,              // legacy ISA-compatible ports and IRQ fixed by the driver (ATA channels)
};

struct Device;
struct StartContext;

// What a driver takes and what Toro calls it. A virtio driver (virtio_type != 0) is offered
// that virtio device type on every transport; a PCI driver names a vendor and a device, either
// of which may be kAny (then the class and subclass decide, kAnyClass matching every class); a
// legacy ISA driver (isa_port != 0) names its fixed ports and IRQ, and is registered when its
// probe (TORO_DRIVER_PRESENT) answers, at the first DedicateBlockDriver (never offered a PCI
// function).
struct Driver {
  static constexpr uint16_t kAny = 0xFFFF;
  static constexpr uint8_t kAnyClass = 0xFF;
  const char* name;   // Toro's name: what DedicateNetwork asks for ("e1000", "virtionet")
  const char* label;  // the prefix of its console lines ("e1000", "VirtIONet")
  DeviceClass device_class;
  uint8_t virtio_type = 0;  // virtio 1.2 §5: 1 network, 2 block, 3 console; 0: a PCI driver
  uint16_t vendor = kAny, device = kAny;
  uint8_t class_code = kAnyClass, subclass = kAnyClass;
  // Optional: false if this function lacks what the driver needs (an unassigned BAR).
  bool (*usable)(const PciDevice& d) = nullptr;
  // Legacy ISA: the first I/O port of the device's register window and its ISA IRQ (routed
  // through the MADT's interrupt source overrides). Its probe is not here but in the table of
  // ISA probes (driver_table.cpp), so that only an app that probes for disks links it.
  uint16_t isa_port = 0;
  uint8_t isa_irq = 0;
};

// A device found at boot and bound to its driver.
struct Device {
  const Driver* driver;
  Transport transport;
  bool claimed;          // dedicated to a core (DeviceRegistry::claim)
  const PciDevice* pci;  // PCI transports
  uint64_t mmio_base;    // virtio-mmio
  const char* name() const { return driver->name; }
};

// A legacy ISA driver's device is there: `io` is the window at d.isa_port. Runs the driver's
// TORO_DRIVER_PRESENT probe (true without one). The probe must fail quickly on a floating bus
// (reads 0xFF).
bool isa_present(const Driver& d, Io& io, Clock clock);

// Toro's name rules: DedicateNetwork takes the card "named exactly" (toro-spec §1.10),
// DedicateBlockDriver and DedicateNetworkSocket the first whose name starts with the one asked
// for (§1.9, §1.11: "virtiovsock" finds "virtiovsocket").
enum class NameRule : uint8_t { kExact, kPrefix };
inline bool name_matches(const char* registered, const char* asked, NameRule rule) {
  while (*asked != '\0' && *asked == *registered) {
    ++asked;
    ++registered;
  }
  return *asked == '\0' && (rule == NameRule::kPrefix || *registered == '\0');
}

// The devices of the running kernel. Not locked: the kernel claims under its own lock.
class DeviceRegistry {
 public:
  static constexpr size_t kMaxDevices = 16;
  // kLimit when the table is full.
  klib::Result<Device*> add(const Device& d) {
    if (count_ == kMaxDevices) return klib::Error::kLimit;
    devices_[count_] = d;
    return &devices_[count_++];
  }
  // The first unclaimed device of class `c` whose name matches, now claimed; kNoDevice if no
  // device matches, kBusy if every one that matches is claimed already.
  klib::Result<Device*> claim(DeviceClass c, const char* name, NameRule rule) {
    klib::Error error = klib::Error::kNoDevice;
    for (size_t i = 0; i < count_; ++i) {
      Device& d = devices_[i];
      if (d.driver->device_class != c || !name_matches(d.name(), name, rule)) continue;
      if (!d.claimed) {
        d.claimed = true;
        return &d;
      }
      error = klib::Error::kBusy;
    }
    return error;
  }
  void release(Device& d) { d.claimed = false; }
  size_t size() const { return count_; }
  Device& operator[](size_t i) { return devices_[i]; }

 private:
  Device devices_[kMaxDevices] = {};
  size_t count_ = 0;
};

// The virtio transport and device type of a PCI function; false if it is no virtio device.
bool virtio_pci_type(const PciDevice& d, Transport* transport, uint8_t* type);
// `drivers` below: a table ending in nullptr, such as registered_drivers.
// The first driver that takes PCI function `d` (a virtio function goes to the driver of its
// virtio type), and how it is reached; nullptr if none does or the function is not usable
// (a legacy virtio interface needs its I/O BAR 0 assigned).
const Driver* match_pci(const PciDevice& d, const Driver* const* drivers, Transport* transport);
// The first virtio driver of device type `type`; nullptr if none.
inline const Driver* match_virtio(uint32_t type, const Driver* const* drivers) {
  for (; *drivers != nullptr; ++drivers) {
    if (type != 0 && (*drivers)->virtio_type == type) return *drivers;
  }
  return nullptr;
}

// What a driver is given to start a device on the calling core: its memory (driver state,
// rings and buffers; identity mapped, so also what the device is given), how much the core
// has in all (drivers size their rings by it), PCI configuration space, and register windows
// (port I/O and MMIO on the VM, mocks in the host tests).
struct StartContext {
  DmaAllocator memory;
  uint64_t core_memory;
  ConfigSpace* pci_config;
  // A register window at `base`: I/O ports if `port`, else memory; nullptr without memory.
  Io* (*io)(const StartContext& c, uint64_t base, bool port);
  // Microseconds, monotonic: what drivers bound their waits on a device with (nullptr: none).
  Clock clock = nullptr;
  // A T in the core's memory, or nullptr: big objects on cache lines of their own.
  template <class T, class... Args>
  T* make(Args&&... args) const {
    constexpr size_t align = alignof(T) > 64 ? alignof(T) : sizeof(T) >= 64 ? 64 : 16;
    void* p = memory.alloc(sizeof(T), align, memory.ctx);
    return p == nullptr ? nullptr : new (p) T(static_cast<Args&&>(args)...);
  }
};

// A driver's start function, with the device's interface for its class erased to void*
// (drivers::Nic* for kNetwork); TORO_DRIVER_START writes the erasing wrapper.
using StartFn = klib::Result<void*> (*)(Device& d, const StartContext& c);
template <class T>
klib::Result<void*> erase(klib::Result<T*> r) {
  if (!r) return r.error();
  return static_cast<void*>(r.value());
}

// Every driver of the build, in the order of src/drivers/meson.build, then nullptr
// (driver_table.cpp).
extern const Driver* const registered_drivers[];
// Starts `d` through its driver's start function. Kept apart from the descriptors so that an
// app which never dedicates a device links no driver's start code (--gc-sections).
klib::Result<void*> start_device(Device& d, const StartContext& c);
// The same for one class only (what the kernel's callers use, so that an app links the start
// code of the classes it dedicates and no other): kNoDevice for a device of another class.
klib::Result<void*> start_network_device(Device& d, const StartContext& c);
klib::Result<void*> start_block_device(Device& d, const StartContext& c);
klib::Result<void*> start_console_device(Device& d, const StartContext& c);

}  // namespace drivers

// In a driver's .cpp, at namespace scope inside namespace drivers (the build line in
// src/drivers/meson.build names `id`, and driver_table.cpp refers to both symbols, which is
// what links the driver's object out of libtoro.a):
//   TORO_DRIVER(id) = {...};                  the descriptor drivers::driver_<id>
//   TORO_DRIVER_START(id, function);          drivers::driver_<id>_start
#define TORO_DRIVER(id)                       \
  extern const ::drivers::Driver driver_##id; \
  constinit const ::drivers::Driver driver_##id
// An ISA driver's probe (its id also in src/drivers/meson.build's drivers_isa):
//   TORO_DRIVER_PRESENT(id, function);       drivers::driver_<id>_present, bool (Io&, Clock)
#define TORO_DRIVER_PRESENT(id, function) \
  bool driver_##id##_present(::drivers::Io& io, ::drivers::Clock clock) { return function(io, clock); }
#define TORO_DRIVER_START(id, function)                                                               \
  ::klib::Result<void*> driver_##id##_start(::drivers::Device& d, const ::drivers::StartContext& c) { \
    return ::drivers::erase(function(d, c));                                                          \
  }
