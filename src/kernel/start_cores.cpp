// Part of the boot sequence (the composition root with init.cpp): it numbers the cores, gives
// each its record and scheduler, and starts the application processors one at a time.
#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/smp.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/tsc.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/start_cores.h>
#include <sched/scheduler.h>

namespace kernel {
namespace {

constexpr size_t kApStackSize = 64 * 1024;  // an AP's first stack: its idle thread's

// First 64-bit code of an application processor (smp_trampoline.S jumps here on the stack
// start_cores gave it).
extern "C" [[noreturn]] void ap_entry(uint64_t core) {
  PerCpu& p = percpu(uint32_t(core));
  arch::init_descriptor_tables(p.ap_tables);
  percpu_enter(uint32_t(core));
  arch::lapic_init();
  sched::enter_core();
  // Release: everything above (the core's scheduler state) is visible to the boot core once it
  // sees the flag with acquire.
  p.ap_alive.store(true, std::memory_order_release);
  sched::run_idle_loop();
}

}  // namespace

uint32_t start_cores(const arch::CpuList& cpus, const sched::Timing& timing) {
  const uint32_t boot_apic = arch::lapic_id();
  // Dense core numbers: the boot CPU is core 0 (its record is set up first thing at boot), the
  // others follow in MADT order.
  const uint32_t listed = cpus.count == 0 ? 1 : cpus.count;
  uint32_t n = 1;
  for (uint32_t i = 0; i < cpus.count && n < listed; ++i) {
    if (cpus.apic_id[i] != boot_apic) percpu_setup(n++, cpus.apic_id[i]);
  }
  arch::lapic_init();
  sched::init(n, timing);
  if (n == 1) {
    printk("Core#0 ... Running\n");
    return 1;
  }
  printk("Core#0 ... Up\n");
  uint32_t up = 1;
  for (uint32_t core = 1; core < n; ++core) {
    // The AP's descriptor tables and first stack come from its own memory.
    PerCpu& p = percpu(core);
    p.ap_tables = static_cast<arch::CpuTables*>(allocate_for(core, arch::cpu_tables_size(), 64));
    auto* stack = static_cast<char*>(allocate_for(core, kApStackSize, 4096));
    if (p.ap_tables == nullptr || stack == nullptr) {
      printk("Core#%d ... Down (no memory)\n", core);
      continue;
    }
    arch::start_ap(p.apic_id, core, reinterpret_cast<uint64_t>(stack + kApStackSize), ap_entry, timing.tsc_hz);
    const uint64_t start = arch::rdtsc();
    while (!p.ap_alive.load(std::memory_order_acquire) &&
           arch::rdtsc() - start < arch::ms_to_cycles(500, timing.tsc_hz)) {
      arch::cpu_relax();
    }
    if (p.ap_alive.load(std::memory_order_acquire)) {
      printk("Core#%d ... Up\n", core);
      ++up;
    } else {
      // Core numbers stay dense (CPU_COUNT = the cores running): later CPUs are not started.
      printk("Core#%d ... Down (no answer from APIC ID %d); CPUs after it are not started\n", core, p.apic_id);
      break;
    }
  }
  sched::set_core_count(up);
  return up;
}

}  // namespace kernel
