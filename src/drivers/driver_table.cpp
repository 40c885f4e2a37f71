// The drivers of this build: drivers/driver_list.h is generated from the list in
// src/drivers/meson.build (TORO_DRIVERS(X) expands to X(e1000) X(virtio_net) ...).
//
// Why a table and not self-registration: libtoro.a is a static library, and the linker takes
// a member object only when something refers to one of its symbols; a driver that merely put a
// descriptor into a linker section would silently vanish from every app. This file refers to
// each driver's descriptor and start function by name, so every listed driver is linked. The
// two arrays sit in sections of their own (-fdata-sections): registered_drivers is reached from the boot
// enumeration, kStarts only from start_device(), so --gc-sections drops every driver's start
// code (and its rings, virtqueues and transports) from an app that never dedicates a device.
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
#define TORO_START_ENTRY(id) &driver_##id##_start,
constexpr StartFn kStarts[] = {TORO_DRIVERS(TORO_START_ENTRY)};
#undef TORO_START_ENTRY
}  // namespace

klib::Result<void*> start_device(Device& d, const StartContext& c) {
  for (size_t i = 0; registered_drivers[i] != nullptr; ++i) {
    if (registered_drivers[i] == d.driver) return kStarts[i](d, c);
  }
  return klib::Error::kNoDevice;
}

}  // namespace drivers
