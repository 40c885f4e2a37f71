// Local APIC (Intel SDM vol. 3, chapter 10) in xAPIC mode, and the I/O APIC (82093AA datasheet).
//
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

void lapic_init();
uint32_t lapic_id();
void lapic_eoi();
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
// INIT, then two SIPIs with `vector` (the trampoline page number); the caller waits between.
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t vector);
bool lapic_ipi_pending();

// LAPIC timer, one-shot, divide-by-16: `ticks` counts down at the calibrated rate. The LVT
// entry stays unmasked in one-shot mode (lapic_init, lapic_timer_stop), so arming is one register
// write (a new initial count restarts the count; SDM vol. 3 §10.5.4).
void lapic_timer_arm(uint32_t ticks);
// After calibration: the count stopped, the LVT entry back to unmasked one-shot.
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
