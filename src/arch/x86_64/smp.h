// Starting application processors (INIT-SIPI-SIPI into smp_trampoline.S).
//
//   arch::start_ap(apic_id, core, stack_top, ap_entry, tsc_hz);   // true once it runs
#pragma once

#define SMP_TRAMPOLINE 0x8000  // page below 1 MiB; the SIPI vector is its page number

#ifndef __ASSEMBLER__
#include <cstdint>

namespace arch {

// Parameter block at the end of the trampoline (copied with it).
struct TrampolineParams {
  uint64_t cr3;
  uint64_t stack_top;
  uint64_t entry;  // void entry(uint64_t core), never returns
  uint64_t core;
};

// Copies the trampoline below 1 MiB (once), fills its parameters and sends INIT-SIPI-SIPI with
// the delays of SDM §8.4.4.1. The caller then waits for the AP to say it is alive.
void start_ap(uint32_t apic_id, uint32_t core, uint64_t stack_top, void (*entry)(uint64_t), uint64_t tsc_hz);

// Busy-waits `us` microseconds on the calibrated TSC.
void delay_us(uint64_t us, uint64_t tsc_hz);

}  // namespace arch
#endif
