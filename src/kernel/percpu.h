// Per-CPU data: one cache-line-sized record per core, reached through GS (IA32_GS_BASE points
// at the core's record), so "which core am I" is one load and needs no LAPIC access.
//
//   uint32_t core = kernel::current_core();
//   kernel::this_cpu()->current_thread ...
#pragma once

#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>

#include <cstddef>
#include <cstdint>

namespace kernel {

struct alignas(64) PerCpu {
  PerCpu* self;             // GS:0
  uint32_t core;            // GS:8   dense core number (0 = boot core)
  uint32_t apic_id;         // GS:12  LAPIC ID (not necessarily dense or equal to core)
  uint64_t current_thread;  // GS:16  the running thread's id, for reports
  uint64_t reserved[5];
};
static_assert(sizeof(PerCpu) == 64 && alignof(PerCpu) == 64, "one cache line per core, no sharing");

extern PerCpu g_percpu[arch::kMaxCpus];

// Points GS at core's record on the calling CPU.
void percpu_init(uint32_t core, uint32_t apic_id);
inline uint32_t current_core() { return arch::gs_read32(offsetof(PerCpu, core)); }
inline PerCpu* this_cpu() { return reinterpret_cast<PerCpu*>(arch::gs_read64(offsetof(PerCpu, self))); }

}  // namespace kernel
