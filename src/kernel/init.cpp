// kernel_entry: the boot sequence, as an ordered list of steps (kBootSequence below), in the
// order of toro-spec §2.2 and docs/ARCHITECTURE.md "Boot sequence". This file is the composition
// root: it may include every layer. Each step is a function of this file that calls into one
// module; what the steps find is kept in kernel/boot.h's globals. A new subsystem that needs
// initialising at boot adds one step here, at the place its dependencies allow.
#include <arch/x86_64/apic.h>
#include <arch/x86_64/boot_info.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <arch/x86_64/paging.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/tsc.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/debug.h>
#include <kernel/devices.h>
#include <kernel/gdb_stub.h>
#include <kernel/irq.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <kernel/start_cores.h>
#include <kernel/version.h>
#include <mm/early_alloc.h>
#include <sched/scheduler.h>
#include <toro/types.h>

namespace toro::detail {
void set_cpu_count(LongInt n);        // src/api/process.cpp
void set_local_cpu_speed(Int64 mhz);  // src/api/kernel.cpp
}  // namespace toro::detail

extern "C" int main();
extern "C" char __image_start[], __data_start[], __image_end[];
using InitFn = void (*)();
extern "C" const InitFn __init_array_start[], __init_array_end[];

namespace kernel {
namespace {

constexpr size_t kMainThreadStackSize = 64 * 1024;  // Toro's MainThreadStackSize

// What the boot loader passed to kernel_entry, for the steps.
uint32_t g_magic;
uint32_t g_info;
mm::EarlyAllocator g_early;
sched::Timing g_timing;

// Constant-initialised references (no constructor runs before kernel_entry).
arch::BootInfo& g_boot = g_boot_info;
klib::KernelParams& g_params = g_kernel_params;
arch::CpuList& g_cpus = g_cpu_list;
bool g_gdb = false;             // the command line holds `gdb`: the gdb stub starts before main (gdb_stub.h)
bool g_gdb_virtio = false;      // `gdb=virtio`: the same, on a virtio-console
bool g_virtio_console = false;  // `console=virtio`: the console moves to virtio-console once bound
bool g_x2apic = true;           // `x2apic=off`: the LAPIC stays in xAPIC mode (MMIO) even where x2APIC is offered
bool g_tsc_deadline = true;     // `tscdeadline=off`: the LAPIC timer counts ticks even where TSC-deadline is offered

const char* memory_type_name(uint32_t type) {
  switch (type) {
    case 1:
      return "usable";
    case 3:
      return "ACPI reclaimable";
    case 4:
      return "ACPI NVS";
    default:
      return "reserved";
  }
}

void print_banner() {
  printk("\nLoading Toro ... \n");
  printk("Toro C++ %p, compiled with: GCC-%d.%d.%d\n", kToroVersion, __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
  printk("commit: %p\n", kToroCommit);
}

void setup_paging() {
  arch::PageTableBuilder builder(mm::EarlyAllocator::alloc_zeroed_page, &g_early);
  // The low 4 GiB hold the image, low RAM and the MMIO windows (LAPIC, IOAPIC, PCI BARs).
  builder.identity_map(0, 4ull << 30, arch::kPageWritable);
  for (const auto& r : g_boot.memory) {
    if (!r.usable() || r.end() <= (4ull << 30)) continue;
    uint64_t end = r.end();
    if (end > arch::kMaxMappedAddress) {
      printk("Toro: RAM above %d GiB is not mapped\n", arch::kMaxMappedAddress >> 30);
      end = arch::kMaxMappedAddress;
    }
    if (r.base < end) builder.identity_map(r.base, end, arch::kPageWritable);
  }
  builder.unmap_4k(0);  // NULL dereferences fault
  // Code and read-only data are read-only (CR0.WP is set): a stray write there faults.
  builder.set_read_only(reinterpret_cast<uint64_t>(__image_start), reinterpret_cast<uint64_t>(__data_start));
  if (!builder.ok()) panic("out of memory while building the page tables");
  arch::write_cr3(builder.root());
}

void print_memory_map() {
  printk("Memory Map Entries:\n");
  for (size_t i = 0; i < g_boot.memory.size(); ++i) {
    const auto& r = g_boot.memory[i];
    printk("entry[%d]: [%h:%h], %p\n", i, r.base, r.end() - 1, memory_type_name(r.type));
  }
  if (g_boot.memory.overflowed()) printk("Toro: memory map truncated to %d entries\n", arch::MemoryMap::kMaxRegions);
}

// The boot page tables map the low 4 GiB, where firmware tables live.
const void* read_low_memory(uint64_t address, size_t length, void*) {
  if (address + length > (4ull << 30)) return nullptr;
  return reinterpret_cast<const void*>(static_cast<uintptr_t>(address));
}

void find_cpus() {
  if (!arch::find_cpus(g_boot.rsdp, read_low_memory, nullptr, &g_cpus)) {
    g_cpus = arch::CpuList();
    g_cpus.count = 1;
  }
  printk("CPUs: %d (%p)\n", g_cpus.count, g_cpus.source);
  if (g_cpus.truncated) printk("Toro: more than %d CPUs; the others stay off\n", arch::kMaxCpus);
}

intptr_t main_thread_entry(void*) {
  // C++ global constructors: Toro's "unit initialization sections", run by the main thread.
  for (const InitFn* f = __init_array_start; f != __init_array_end; ++f) (*f)();
  const int code = main();
  sched::before_yield();  // what main held (a blocking send) leaves before the VM ends
  system_exit(code);
}

// ---------------------------------------------------------------------------------------------
// The steps, in the order kBootSequence runs them.

// The CPU's own tables first (a fault from here on gets a report), then this core's record:
// from here on anything may ask which core it runs on.
void init_cpu() {
  arch::init_descriptor_tables();
  percpu_setup(0, arch::lapic_id());
  percpu_enter(0);
  arch::mask_legacy_pic();
}

void init_console() {
  console_init();
  symbols_init();
  print_banner();
}

void read_boot_info() {
  const bool boot_ok =
      arch::parse_boot_info(g_magic, reinterpret_cast<const void*>(static_cast<uintptr_t>(g_info)), &g_boot);
  if (!boot_ok) panic("unknown boot protocol (magic %h, info %h)", g_magic, g_info);
  g_params.parse(g_boot.cmdline);
  g_gdb_virtio = g_params.take("gdb=virtio");
  g_gdb = g_params.take("gdb") || g_gdb_virtio;  // the kernel's own tokens: the program's parameters do not show them
  g_virtio_console = g_params.take("console=virtio");
  g_x2apic = !g_params.take("x2apic=off");
  g_tsc_deadline = !g_params.take("tscdeadline=off");
  if (g_params.count() > 0) {
    printk("Kernel Parameters:\n");
    for (size_t i = 0; i < g_params.count(); ++i) printk("param[%d]: %p\n", i, g_params.get(i));
  }
  if (g_params.truncated() || g_boot.cmdline_truncated) {
    printk("Toro: kernel command line truncated to %d characters and %d parameters\n", arch::BootInfo::kMaxCmdline,
           klib::KernelParams::kMaxParams);
  }
}

void init_early_memory() {
  print_memory_map();
  if (!g_early.init(g_boot.memory, reinterpret_cast<uint64_t>(__image_end), 4ull << 30)) {
    panic("no usable RAM above the kernel image (%d regions reported by %p)", g_boot.memory.size(),
          arch::boot_protocol_name(g_boot.protocol));
  }
}

void init_heaps() { memory_init(g_boot, g_cpus.count, g_early); }

void calibrate_time() {
  const arch::TscCalibration tsc = arch::calibrate_tsc();
  if (tsc.hz == 0) panic("no clock to measure the TSC against (no CPUID leaf 0x15, PIT or RTC)");
  // The LAPIC's modes are chosen here, before any core enables its LAPIC (start_cores); the
  // TSC-deadline timer counts in TSC cycles, so the 10 ms LAPIC timer calibration is skipped.
  const arch::LapicModes modes = arch::lapic_choose(g_x2apic, g_tsc_deadline);
  const uint64_t lapic = modes.tsc_deadline ? 0 : arch::calibrate_lapic_timer(tsc.hz);
  printk("CPU speed ... %d MHz (TSC measured with %p)\n", tsc.hz / 1000000, tsc.source);
  printk("LocalAPIC ... %p, %p timer\n", modes.x2apic ? "x2APIC" : "xAPIC",
         modes.tsc_deadline ? "TSC-deadline" : "one-shot");
  g_timing = {tsc.hz, lapic};
  toro::detail::set_local_cpu_speed(Int64(tsc.hz / 1000000));
}

void init_cores() { toro::detail::set_cpu_count(LongInt(start_cores(g_cpus, g_timing))); }  // Core#N ... Up

void init_devices() {
  devices_init(g_cpus);  // I/O APICs masked, PCI scanned, drivers bound
  if (g_virtio_console) console_to_virtio();
}

void start_main_thread() {
  if (g_gdb) gdb_stub_start(g_gdb_virtio);  // before the main thread can run: it stops at main
  sched::Thread* main_thread = sched::create_thread(0, kMainThreadStackSize, main_thread_entry, nullptr, true);
  if (main_thread == nullptr) panic("out of memory for the main thread");
  printk("Starting MainThread: %h\n", main_thread);
}

using InitStep = void (*)();
constexpr InitStep kBootSequence[] = {
    init_cpu,           // GDT, IDT, TSS; per-CPU record of core 0; legacy PIC masked
    init_console,       // serial console, symbol table, banner
    read_boot_info,     // memory map and command line from PVH / multiboot2 / the Bochs sector
    find_cpus,          // ACPI MADT or MP table; before paging (firmware tables near page 0)
    init_early_memory,  // the memory map printed; the early allocator above the image
    setup_paging,       // final page tables: NULL unmapped, code read-only
    init_heaps,         // memory split per core, per-core heaps
    calibrate_time,     // TSC rate; LAPIC modes (x2APIC, TSC-deadline) and timer rate
    init_cores,         // schedulers, other CPUs started (Core#N ... Up)
    init_devices,       // I/O APIC inputs masked, buses enumerated, drivers bound (kernel/devices.cpp)
    start_main_thread,  // .init_array then main() (main_thread_entry); exit when main returns
};

}  // namespace

}  // namespace kernel

extern "C" [[noreturn]] void kernel_entry(uint32_t magic, uint32_t info) {
  kernel::g_magic = magic;
  kernel::g_info = info;
  for (const kernel::InitStep step : kernel::kBootSequence) step();
  sched::run_idle_loop();  // the boot context becomes core 0's idle thread
}
