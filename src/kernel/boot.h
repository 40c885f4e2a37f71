// What the boot sequence (init.cpp) hands to the rest of the kernel.
#pragma once

#include <lib/cmdline.h>

#include <cstddef>

namespace kernel {

const klib::KernelParams& kernel_params();
// Number of CPUs found at boot (ACPI MADT or MP table; 1 if neither).
uint32_t cpu_count();

}  // namespace kernel
