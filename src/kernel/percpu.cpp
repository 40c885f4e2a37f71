#include <kernel/percpu.h>

namespace kernel {

PerCpu g_percpu[arch::kMaxCpus];

void percpu_setup(uint32_t core, uint32_t apic_id) {
  PerCpu& p = g_percpu[core];
  p.self = &p;
  p.core = core;
  p.apic_id = apic_id;
  p.current_thread = 0;
}

void percpu_enter(uint32_t core) { arch::set_gs_base(reinterpret_cast<uint64_t>(&g_percpu[core])); }

}  // namespace kernel
