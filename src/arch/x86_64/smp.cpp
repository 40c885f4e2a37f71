#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/smp.h>

#include <cstring>

extern "C" const char smp_trampoline_start[], smp_trampoline_end[], smp_trampoline_params[];

namespace arch {

void delay_us(uint64_t us, uint64_t tsc_hz) {
  const uint64_t start = rdtsc();
  const uint64_t cycles = us * (tsc_hz / 1000000);
  while (rdtsc() - start < cycles) cpu_relax();
}

void start_ap(uint32_t apic_id, uint32_t core, uint64_t stack_top, void (*entry)(uint64_t), uint64_t tsc_hz) {
  auto* copy = reinterpret_cast<char*>(static_cast<uintptr_t>(SMP_TRAMPOLINE));
  const size_t size = size_t(smp_trampoline_end - smp_trampoline_start);
  memcpy(copy, smp_trampoline_start, size);
  auto* params = reinterpret_cast<TrampolineParams*>(copy + (smp_trampoline_params - smp_trampoline_start));
  params->cr3 = read_cr3();
  params->stack_top = stack_top;
  params->entry = reinterpret_cast<uint64_t>(entry);
  params->core = core;
  // The AP reads these with paging off; x86 stores are not reordered with the later ICR write
  // (an uncached MMIO store), so the parameters are in memory before the AP can start.
  asm volatile("mfence" ::: "memory");
  lapic_send_init(apic_id);
  delay_us(10000, tsc_hz);
  lapic_send_startup(apic_id, SMP_TRAMPOLINE >> 12);
  delay_us(200, tsc_hz);
  lapic_send_startup(apic_id, SMP_TRAMPOLINE >> 12);
}

}  // namespace arch
