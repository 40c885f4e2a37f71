// What the boot sequence (init.cpp) hands to the rest of the kernel.
#pragma once

#include <lib/cmdline.h>

#include <cstddef>

namespace kernel {

const klib::KernelParams& kernel_params();
// The boot-time bump allocator (never frees) until the per-CPU allocator exists.
void* early_allocate(size_t size, size_t align);
bool early_owns(const void* p);

}  // namespace kernel
