#include <arch/x86_64/apic.h>
#include <arch/x86_64/spinlock.h>
#include <arch/x86_64/tsc.h>
#include <drivers/irq_routing.h>
#include <drivers/pci/msix.h>
#include <drivers/pci/port_config.h>
#include <drivers/port_io.h>
#include <drivers/virtio/bus.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>

#include <atomic>
#include <cstring>

namespace kernel {
namespace {

drivers::PortConfigSpace g_config;
drivers::PciBus g_bus;
drivers::DeviceRegistry g_devices;
const drivers::PciDevice* g_host_bridge = nullptr;  // 0:0.0: which chipset routes interrupts
arch::CpuList::IoApic g_ioapics[4] = {};
uint32_t g_ioapic_count = 0;
arch::CpuList::IsaOverride g_isa_overrides[16] = {};
uint32_t g_isa_override_count = 0;
// Claims come from the cores that dedicate devices: one claims a device, one an input.
arch::SpinLock g_lock;
constexpr uint32_t kMaxInputs = 64;
// Per I/O APIC input: taken by the first device routed there, the vector and the core (APIC ID)
// it was routed to. A device of the same core shares it (its handler added to the vector).
bool g_input_taken[kMaxInputs] = {};
uint8_t g_input_vector[kMaxInputs] = {};
uint32_t g_input_apic[kMaxInputs] = {};

[[gnu::always_inline]] inline void scan_pci() {
  printk("Detecting Pci devices ...\n");
  g_bus.scan(g_config);
  const int assigned = g_bus.assign_unassigned(g_config, drivers::PciWindows());
  for (size_t i = 0; i < g_bus.size(); ++i) {
    const drivers::PciDevice& d = g_bus[i];
    printk("PCI %d:%d.%d %h:%h class %d.%d irq %d", d.bus, d.dev, d.fn, d.vendor, d.device, d.class_code, d.subclass,
           d.irq_line);
    for (int b = 0; b < 6; ++b) {
      if (d.bar[b].size != 0) printk(", bar%d %p %h", b, d.bar[b].io ? "io" : "mem", d.bar[b].base);
    }
    printk("\n");
    if (d.bus == 0 && d.dev == 0 && d.fn == 0) g_host_bridge = &d;
  }
  if (assigned > 0) printk("PCI: assigned %d BARs the firmware left unassigned\n", assigned);
  if (g_bus.unassigned() > 0) printk("PCI: %d BARs could not be assigned\n", g_bus.unassigned());
  if (g_bus.truncated()) printk("PCI: more than %d functions; the rest are ignored\n", drivers::PciBus::kMaxDevices);
}

// A full table drops the device silently: the line above says it was found.
[[gnu::always_inline]] inline void bind_pci() {
  for (size_t i = 0; i < g_bus.size(); ++i) {
    const drivers::PciDevice& d = g_bus[i];
    drivers::Transport transport;
    const drivers::Driver* driver = drivers::match_pci(d, drivers::registered_drivers, &transport);
    if (driver == nullptr) continue;
    (void)g_devices.add({driver, transport, false, &d, 0});
    printk("%p: found%p at PCI %d:%d.%d, irq %d\n", driver->label,
           transport == drivers::Transport::kVirtioModernPci ? " modern device" : "", d.bus, d.dev, d.fn, d.irq_line);
  }
}

// virtio-mmio devices: the kernel command line's (QEMU's microvm can append them), or else, on
// a machine without PCI (microvm), its fixed transport slots. QEMU 7.2 does not pass the
// parameters to a PVH kernel.
[[gnu::always_inline]] inline void bind_virtio_mmio() {
  uint64_t bases[32];
  size_t n = 0;
  const klib::KernelParams& params = kernel_params();
  for (size_t i = 0; i < params.count() && n < 32; ++i) {
    if (drivers::virtio::parse_mmio_param(params.get(i), &bases[n])) ++n;
  }
  if (n == 0 && g_bus.size() == 0) {
    for (uint32_t i = 0; i < drivers::virtio::kMicrovmMmioSlots; ++i) {
      bases[n++] = drivers::virtio::kMicrovmMmioBase + drivers::virtio::kMicrovmMmioStride * i;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    drivers::MmioIo io(bases[i]);
    drivers::LegacyMmioTransport probe(io);
    uint32_t type = 0;
    if (!probe.probe(&type)) continue;  // no device (type 0) or not a legacy virtio-mmio transport
    printk("VirtIO: found device at %h, type %d\n", bases[i], type);
    if (const drivers::Driver* driver = drivers::match_virtio(type, drivers::registered_drivers)) {
      (void)g_devices.add({driver, drivers::Transport::kVirtioMmio, false, nullptr, bases[i]});
    }
  }
}

// Microseconds since boot by the TSC (calibrated before devices_init): drivers' timeouts.
uint64_t microseconds() {
  const uint64_t per_us = arch::tsc_hz() / 1000000;
  return arch::rdtsc() / (per_us != 0 ? per_us : 1000);
}

}  // namespace

// Legacy ISA devices (the ATA channels): each driver's probe against its fixed ports, once, when
// the first block device is asked for (so that an app without disks links no probe). On a
// machine without them (q35, microvm) the probe reads a floating bus and gives up at once.
void bind_isa_devices() {
  static constinit std::atomic<bool> probed{false};
  if (probed.exchange(true, std::memory_order_acq_rel)) return;
  for (const drivers::Driver* const* d = drivers::registered_drivers; *d != nullptr; ++d) {
    const drivers::Driver& driver = **d;
    if (driver.isa_port == 0) continue;
    drivers::PortIo io(driver.isa_port);
    if (!drivers::isa_present(driver, io, microseconds)) continue;
    {
      arch::IrqSaveGuard guard(g_lock);
      (void)g_devices.add({&driver, drivers::Transport::kIsa, false, nullptr, 0});
    }
    printk("%p: found at port %h, irq %d\n", driver.label, driver.isa_port, driver.isa_irq);
  }
}

namespace {

drivers::InterruptPlatform interrupt_platform() {
  return {&g_config, g_host_bridge, {g_ioapics, g_ioapic_count}, {g_isa_overrides, g_isa_override_count}};
}

void* allocate_here(size_t size, size_t align, void*) { return allocate(size, align); }

drivers::Io* io_window(const drivers::StartContext& c, uint64_t base, bool port) {
  if (port) return c.make<drivers::PortIo>(uint16_t(base));
  return c.make<drivers::MmioIo>(base);
}

}  // namespace

void devices_init(const arch::CpuList& cpus) {
  g_ioapic_count = cpus.ioapic_count;
  for (uint32_t i = 0; i < cpus.ioapic_count; ++i) g_ioapics[i] = cpus.ioapics[i];
  if (g_ioapic_count == 0) g_ioapics[g_ioapic_count++] = {0xFEC00000, 0};  // the MADT lists none: the usual one
  g_isa_override_count = cpus.isa_override_count;
  for (uint32_t i = 0; i < cpus.isa_override_count; ++i) g_isa_overrides[i] = cpus.isa_overrides[i];
  // Device interrupts come with the drivers: until a core routes one, every input stays masked.
  for (uint32_t i = 0; i < g_ioapic_count; ++i) {
    if (const uint32_t pins = arch::ioapic_mask_all(g_ioapics[i].base)) {
      printk("IOAPIC ... %d inputs at %h, all masked\n", pins, g_ioapics[i].base);
    }
  }
  scan_pci();
  bind_pci();
  bind_virtio_mmio();
}

klib::Result<drivers::Device*> claim_device(drivers::DeviceClass c, const char* name, drivers::NameRule rule) {
  arch::IrqSaveGuard guard(g_lock);
  return g_devices.claim(c, name, rule);
}

void release_device(drivers::Device& d) {
  arch::IrqSaveGuard guard(g_lock);
  g_devices.release(d);
}

klib::Result<void*> start_device(drivers::Device& d, drivers::StartFn start) {
  const uint32_t core = current_core();
  const drivers::StartContext context{
      {allocate_here, nullptr}, heap().stats(core, core).region_bytes, &g_config, io_window, microseconds,
  };
  return start(d, context);
}

klib::Result<uint32_t> attach_interrupt(drivers::Device& d, IrqHandler handler, void* ctx) {
  const drivers::InterruptPlatform platform = interrupt_platform();
  const klib::Result<drivers::IrqRoute> route = drivers::route_interrupt(platform, d);
  if (!route) return route.error();
  const drivers::IrqRoute r = route.value();
  if (r.gsi >= kMaxInputs) return klib::Error::kLimit;
  const uint32_t apic = this_cpu()->apic_id;
  uint8_t vector;
  {
    arch::IrqSaveGuard guard(g_lock);
    if (g_input_taken[r.gsi]) {
      // A line already routed: shared when it goes to this core (both handlers run on each
      // interrupt, each driver acknowledging its own device). Another core's line cannot
      // serve this device (its handler would run on the wrong core): kBusy, and it is polled.
      if (!r.level || g_input_apic[r.gsi] != apic) return klib::Error::kBusy;
      if (!share_irq(g_input_vector[r.gsi], handler, ctx)) return klib::Error::kLimit;
      return r.gsi;
    }
    vector = register_irq(handler, ctx);
    if (vector == 0) return klib::Error::kLimit;
    g_input_taken[r.gsi] = true;
    g_input_vector[r.gsi] = vector;
    g_input_apic[r.gsi] = apic;
  }
  if (!arch::ioapic_route(r.ioapic, r.pin, vector, apic, r.level, r.active_low)) {
    return klib::Error::kDeviceFailed;
  }
  return r.gsi;
}

klib::Result<uint16_t> attach_msix(drivers::Device& d, IrqHandler handler, void* ctx) {
  drivers::Msix m;
  const char* setting = kernel_params().value("msix");
  if (d.pci == nullptr || (setting != nullptr && strcmp(setting, "off") == 0) ||
      !drivers::find_msix(g_config, *d.pci, &m)) {
    return klib::Error::kNotSupported;
  }
  const uint8_t vector = register_irq(handler, ctx);
  if (vector == 0) return klib::Error::kLimit;
  drivers::MmioIo table(m.table);
  drivers::msix_route(table, 0, this_cpu()->apic_id, vector);
  drivers::msix_enable(g_config, *d.pci, m, true);
  return uint16_t(0);
}

void detach_msix(drivers::Device& d) {
  drivers::Msix m;
  if (d.pci != nullptr && drivers::find_msix(g_config, *d.pci, &m)) drivers::msix_enable(g_config, *d.pci, m, false);
}

}  // namespace kernel
