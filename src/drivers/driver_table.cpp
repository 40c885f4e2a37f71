// The drivers of this build: drivers/driver_list.h is generated from the list in
// src/drivers/meson.build (TORO_DRIVERS(X) expands to X(e1000) X(virtio_net) ...).
//
// Why a table and not self-registration: libtoro.a is a static library, and the linker takes
// a member object only when something refers to one of its symbols; a driver that merely put a
// descriptor into a linker section would silently vanish from every app. This file refers to
// each driver's descriptor and start function by name, so every listed driver is linked. The
// arrays sit in sections of their own (-fdata-sections): registered_drivers is reached from the
// boot enumeration, the start tables only from start_network_device / start_block_device, so
// --gc-sections drops a class's start code (its rings, virtqueues and transports) from an app
// that never dedicates a device of that class.
#include <drivers/device.h>
#include <drivers/driver_list.h>

namespace drivers {

#define TORO_DECLARE_DRIVER(id)    \
  extern const Driver driver_##id; \
  klib::Result<void*> driver_##id##_start(Device& d, const StartContext& c);
TORO_DRIVERS(TORO_DECLARE_DRIVER)
#undef TORO_DECLARE_DRIVER

#define TORO_DRIVER_ENTRY(id) &driver_##id,
constinit const Driver* const registered_drivers[] = {TORO_DRIVERS(TORO_DRIVER_ENTRY) nullptr};
#undef TORO_DRIVER_ENTRY

namespace {
// One start table per device class, so that an app links only the start code of the classes it
// dedicates: a network app no disk driver's, a file app no card's.
struct StartEntry {
  const Driver* driver;
  StartFn start;
};
#define TORO_START_ENTRY(id) {&driver_##id, &driver_##id##_start},
constexpr StartEntry kNetworkStarts[] = {TORO_NETWORK_DRIVERS(TORO_START_ENTRY){nullptr, nullptr}};
constexpr StartEntry kBlockStarts[] = {TORO_BLOCK_DRIVERS(TORO_START_ENTRY){nullptr, nullptr}};
constexpr StartEntry kConsoleStarts[] = {TORO_CONSOLE_DRIVERS(TORO_START_ENTRY){nullptr, nullptr}};
#undef TORO_START_ENTRY

klib::Result<void*> start_from(const StartEntry* table, Device& d, const StartContext& c) {
  for (; table->driver != nullptr; ++table) {
    if (table->driver == d.driver) return table->start(d, c);
  }
  return klib::Error::kNoDevice;
}
}  // namespace

klib::Result<void*> start_network_device(Device& d, const StartContext& c) { return start_from(kNetworkStarts, d, c); }
klib::Result<void*> start_block_device(Device& d, const StartContext& c) { return start_from(kBlockStarts, d, c); }
klib::Result<void*> start_console_device(Device& d, const StartContext& c) { return start_from(kConsoleStarts, d, c); }

#define TORO_DECLARE_PRESENT(id) bool driver_##id##_present(Io& io, Clock clock);
TORO_ISA_DRIVERS(TORO_DECLARE_PRESENT)
#undef TORO_DECLARE_PRESENT

namespace {
struct IsaProbe {
  const Driver* driver;
  bool (*present)(Io& io, Clock clock);
};
#define TORO_PRESENT_ENTRY(id) {&driver_##id, &driver_##id##_present},
constexpr IsaProbe kIsaProbes[] = {TORO_ISA_DRIVERS(TORO_PRESENT_ENTRY){nullptr, nullptr}};
#undef TORO_PRESENT_ENTRY
}  // namespace

bool isa_present(const Driver& d, Io& io, Clock clock) {
  if (d.isa_port == 0) return false;
  for (const IsaProbe* p = kIsaProbes; p->driver != nullptr; ++p) {
    if (p->driver == &d) return p->present(io, clock);
  }
  return true;
}

klib::Result<void*> start_device(Device& d, const StartContext& c) {
  if (d.driver == nullptr) return klib::Error::kNoDevice;
  switch (d.driver->device_class) {
    case DeviceClass::kBlock:
      return start_block_device(d, c);
    case DeviceClass::kConsole:
      return start_console_device(d, c);
    default:
      return start_network_device(d, c);
  }
}

}  // namespace drivers
