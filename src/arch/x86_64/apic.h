// Local APIC (Intel SDM vol. 3, chapter 10), in x2APIC mode (registers are MSRs) where the CPU
// offers it, else in xAPIC mode (registers in a 4 KiB MMIO page); and the I/O APIC (82093AA
// datasheet).
//
//   arch::lapic_choose(true, true);             // boot core, once, before any lapic_init()
//   arch::lapic_init();                         // on every core: enable, spurious vector
//   arch::lapic_send_ipi(apic_id, kVectorWake); // wake a halted core
//   arch::lapic_eoi();                          // at the end of an interrupt handler
#pragma once

#include <cstdint>

namespace arch {

constexpr uint8_t kVectorTimer = 0xF0;      // LAPIC timer (sleep deadlines of an idle core)
constexpr uint8_t kVectorWake = 0xF1;       // IPI: work arrived for a core
constexpr uint8_t kVectorDebugStop = 0xF2;  // IPI: the gdb stub stops this core (kernel/gdb_stub.cpp)
constexpr uint8_t kVectorSpurious = 0xFF;   // LAPIC spurious interrupts (no EOI)

// The modes lapic_choose() took.
struct LapicModes {
  bool x2apic = false;
  bool tsc_deadline = false;
};
// Boot core, once, before any core runs lapic_init(): each mode is used when wanted and offered
// (CPUID leaf 1, ECX bit 21: x2APIC, bit 24: the TSC-deadline timer).
// x2APIC stays on when firmware left it on (leaving it needs the APIC disabled first). Every
// core's lapic_init() then switches to the chosen modes; the choice is read-only afterwards
// (the boot core writes it before starting the other cores, and the INIT/SIPI that starts each
// one comes after the write).
LapicModes lapic_choose(bool want_x2apic, bool want_tsc_deadline);

void lapic_init();
uint32_t lapic_id();  // works before lapic_choose() and lapic_init() too
void lapic_eoi();
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
// INIT, then two SIPIs with `vector` (the trampoline page number); the caller waits between.
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t vector);
bool lapic_ipi_pending();

// The timer fires (vector kVectorTimer) once the TSC reaches `tsc_deadline` (at once if it has):
// in TSC-deadline mode one write to IA32_TSC_DEADLINE; in one-shot mode (divide-by-16, counting
// `lapic_per_mcycles` ticks per million TSC cycles, calibrate_lapic_timer()) one write of the
// initial count. The LVT entry stays unmasked in both (lapic_init, lapic_timer_stop), so arming
// never costs a mask/unmask pair (a new initial count or deadline replaces the old one; SDM
// vol. 3 §10.5.4).
void lapic_timer_arm_at(uint64_t tsc_deadline, uint64_t lapic_per_mcycles);
// The timer stopped, its LVT entry unmasked in the chosen mode (one-shot or TSC-deadline): after
// calibration, and by lapic_init().
void lapic_timer_stop();
uint32_t lapic_timer_current();
void lapic_timer_start_free_running();  // for calibration: counts down from 0xFFFFFFFF

// Masks every redirection entry of the I/O APIC at `base`.
// Returns the number of entries, 0 if no I/O APIC answers there.
uint32_t ioapic_mask_all(uint64_t base);
// Sends input `pin` to `vector` on the CPU with LAPIC ID `apic_id` (fixed delivery, physical
// destination; 82093AA datasheet §3.2.4).
bool ioapic_route(uint64_t base, uint32_t pin, uint8_t vector, uint32_t apic_id, bool level, bool active_low);

constexpr uint8_t kVectorDeviceBase = 0x40;  // device interrupts: 0x40 + n

}  // namespace arch
