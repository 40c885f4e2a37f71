// Per-CPU data: the one record per core that holds what is per core, reached through GS
// (IA32_GS_BASE points at the core's record), so "which core am I" is one load and needs no
// LAPIC access. Modules above the kernel keep their per-core state in memory of that core and
// hang it here by pointer (sched's scheduler, net's interface, fs's block files and volume): no
// module keeps a parallel array indexed by core.
//
//   uint32_t core = kernel::current_core();
//   kernel::this_cpu()->trap_depth ...
//   kernel::percpu(core).apic_id                  // another core's record (read-mostly fields)
//
// Sharing: the first cache line is written only by its own core (and by the boot core before
// the core starts); fields other cores read are set before the core starts and never change
// (core, apic_id, sched). `ap_alive` is the only field written by one core and read by another
// during start-up (kernel/start_cores.cpp has the ordering).
#pragma once

#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace arch {
struct CpuTables;
}
namespace sched {
struct CoreSched;
}
namespace net {
struct Interface;
}
namespace fs {
struct Storage;
class Vfs;
}  // namespace fs

namespace kernel {

struct alignas(64) PerCpu {
  // Every member has an initialiser: g_percpu is constant-initialised (.bss), so no global
  // constructor runs over it after boot has filled it.
  PerCpu* self = nullptr;             // GS:0
  uint32_t core = 0;                  // GS:8   dense core number (0 = boot core)
  uint32_t apic_id = 0;               // GS:12  LAPIC ID (not necessarily dense or equal to core)
  uint64_t current_thread = 0;        // GS:16  the running thread's id, for reports
  sched::CoreSched* sched = nullptr;  // this core's scheduler (sched/scheduler.cpp), in its memory
  net::Interface* net = nullptr;      // the card dedicated to this core (net/interface.cpp), or nullptr
  fs::Storage* storage = nullptr;     // this core's block files (fs/kernel.cpp), or nullptr
  fs::Vfs* vfs = nullptr;             // this core's files and mounted volume (fs/mount.cpp), or nullptr
  int trap_depth = 0;                 // CPU exceptions being handled right now (kernel/trap.cpp)
  bool reporting = false;             // a fault report in progress (kernel/trap.cpp)
  // Start-up of an application processor (kernel/start_cores.cpp).
  alignas(64) arch::CpuTables* ap_tables = nullptr;
  std::atomic<bool> ap_alive{false};
  // The TSocket SysSocketClose freed last outside a service callback, kept until the core's next
  // such close (src/api/network.cpp, release_later). Only this core touches it after boot, when
  // no other core writes this line any more (ap_* are start-up only).
  void* closed_socket = nullptr;
};
static_assert(offsetof(PerCpu, ap_tables) == 64 && sizeof(PerCpu) == 128, "two cache lines per core");
static_assert(offsetof(PerCpu, reporting) < 64, "what a core writes for itself stays in its first cache line");

extern PerCpu g_percpu[arch::kMaxCpus];

// Fills core's record (boot core, before the core starts).
void percpu_setup(uint32_t core, uint32_t apic_id);
// Points GS at core's record on the calling CPU.
void percpu_enter(uint32_t core);
inline uint32_t current_core() { return arch::gs_read32(offsetof(PerCpu, core)); }
inline PerCpu* this_cpu() { return reinterpret_cast<PerCpu*>(arch::gs_read64(offsetof(PerCpu, self))); }
inline PerCpu& percpu(uint32_t core) { return g_percpu[core]; }
// ID printed in fault reports: the current thread record's address (0 during boot).
inline uint64_t current_thread_id() { return arch::gs_read64(offsetof(PerCpu, current_thread)); }

}  // namespace kernel
