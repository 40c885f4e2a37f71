// What the boot sequence (init.cpp) hands to the rest of the kernel.
#pragma once

#include <lib/cmdline.h>

#include <cstddef>

namespace kernel {

const klib::KernelParams& kernel_params();
// Number of CPUs found at boot (ACPI MADT or MP table; 1 if neither).
uint32_t cpu_count();
// True if [address, address + length) is RAM the boot loader reported usable (not MMIO).
bool is_usable_ram(uint64_t address, size_t length);

}  // namespace kernel
