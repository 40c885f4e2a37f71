// Starting the cores: dense core numbers for the CPUs the firmware lists, each core's per-CPU
// record and scheduler, then INIT-SIPI-SIPI for every application processor, which comes up in
// its own memory and waits in its idle loop for threads (toro-spec §2.5).
//
//   uint32_t running = kernel::start_cores(cpus, timing);   // prints Core#N ... Up / Down
#pragma once

#include <arch/x86_64/cpus.h>
#include <sched/scheduler.h>

#include <cstdint>

namespace kernel {

// Boot core, once, after the per-core heaps exist. Returns the number of cores running.
uint32_t start_cores(const arch::CpuList& cpus, const sched::Timing& timing);

}  // namespace kernel
