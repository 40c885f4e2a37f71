// The time-stamp counter's rate, measured at boot, and the LAPIC timer's rate against it.
//
//   arch::TscCalibration cal = arch::calibrate_tsc();   // cal.hz, cal.source
//   uint64_t cycles = arch::ms_to_cycles(5, cal.hz);
#pragma once

#include <cstdint>

namespace arch {

struct TscCalibration {
  uint64_t hz = 0;
  const char* source = "none";  // "CPUID 0x15", "hypervisor leaf", "PIT", "RTC"
};

// In order: CPUID leaf 0x15 (crystal ratio), the hypervisor timing leaf 0x40000010, PIT
// channel 2 over 20 ms, and the CMOS RTC's second boundary (machines with no PIT, ~1-2 s).
TscCalibration calibrate_tsc();
// What calibrate_tsc() measured (0 before it ran): for code below the scheduler's clock.
uint64_t tsc_hz();
// LAPIC timer ticks (divide-by-16) per million TSC cycles, measured over ~10 ms.
uint64_t calibrate_lapic_timer(uint64_t tsc_hz);

// Portable arithmetic (host-tested): no overflow for any delay below ~584 years.
constexpr uint64_t ms_to_cycles(uint64_t ms, uint64_t hz) { return ms * (hz / 1000) + ms * (hz % 1000) / 1000; }
constexpr uint64_t cycles_to_us(uint64_t cycles, uint64_t hz) {
  return hz == 0 ? 0 : cycles / hz * 1000000 + (cycles % hz) * 1000000 / hz;
}
// The one-shot LAPIC timer's initial count for `cycles` TSC cycles at `per_mcycles` ticks per
// million cycles: rounded up (the timer must not fire before the deadline), at least 1 (0 stops
// the timer), at most 0xFFFFFFFF (the count register's width: a longer wait fires early, once).
constexpr uint32_t cycles_to_lapic_ticks(uint64_t cycles, uint64_t per_mcycles) {
  const uint64_t ticks = cycles / 1000000 * per_mcycles + cycles % 1000000 * per_mcycles / 1000000 + 1;
  return ticks > 0xFFFFFFFFull ? 0xFFFFFFFFu : uint32_t(ticks);
}

}  // namespace arch
