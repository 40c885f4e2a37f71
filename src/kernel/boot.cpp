#include <kernel/boot.h>
#include <kernel/irq.h>

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

uint64_t ioapic_base() { return g_cpu_list.ioapic_base != 0 ? g_cpu_list.ioapic_base : 0xFEC00000; }

uint32_t ioapic_count() { return g_cpu_list.ioapic_count == 0 ? 1 : g_cpu_list.ioapic_count; }

bool ioapic_for_gsi(uint32_t gsi, uint64_t* base, uint32_t* input) {
  const arch::CpuList& cpus = g_cpu_list;
  if (cpus.ioapic_count == 0) {
    *base = ioapic_base();
    *input = gsi;
    return gsi < 24;
  }
  for (uint32_t i = 0; i < cpus.ioapic_count; ++i) {
    const auto& a = cpus.ioapics[i];
    if (gsi >= a.gsi_base && gsi < a.gsi_base + 24) {
      *base = a.base;
      *input = gsi - a.gsi_base;
      return true;
    }
  }
  return false;
}

}  // namespace kernel
