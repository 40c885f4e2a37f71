// What the boot sequence (init.cpp) found and hands to the rest of the kernel: the boot
// loader's information, the kernel parameters and the CPUs and I/O APICs the firmware lists.
//
//   const char* v = kernel::kernel_params().value("netstat");
//   if (kernel::is_usable_ram(p, n)) ...
#pragma once

#include <arch/x86_64/boot_info.h>
#include <arch/x86_64/cpus.h>
#include <lib/cmdline.h>

#include <cstddef>
#include <cstdint>

namespace kernel {

// Filled by the boot sequence only (init.cpp); read-only afterwards. (Three objects, not one
// record: one with a non-zero initialiser would pull the others from .bss into the image.)
extern arch::BootInfo g_boot_info;
extern klib::KernelParams g_kernel_params;
extern arch::CpuList g_cpu_list;

const klib::KernelParams& kernel_params();
// Number of CPUs found at boot (ACPI MADT or MP table; 1 if neither).
uint32_t cpu_count();
// True if [address, address + length) is RAM the boot loader reported usable (not MMIO).
bool is_usable_ram(uint64_t address, size_t length);

}  // namespace kernel
