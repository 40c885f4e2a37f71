#include <kernel/boot.h>

namespace kernel {
// Constant-initialised: no constructor runs over them after boot has filled them.
arch::BootInfo g_boot_info;
klib::KernelParams g_kernel_params;
arch::CpuList g_cpu_list;

const klib::KernelParams& kernel_params() { return g_kernel_params; }

uint32_t cpu_count() { return g_cpu_list.count; }

bool is_usable_ram(uint64_t address, size_t length) {
  for (const auto& r : g_boot_info.memory) {
    if (r.usable() && address >= r.base && address + length <= r.end()) return true;
  }
  return false;
}

}  // namespace kernel
