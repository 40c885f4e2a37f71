// The devices of the running kernel (the device model: drivers/device.h). At boot the I/O
// APICs are masked, PCI is scanned (BARs the firmware left at 0 get a place), the virtio-mmio
// windows are probed, and every device a driver takes is registered; later a core claims one
// by Toro's name, starts it in its own memory and routes its interrupt to itself.
//
//   kernel::devices_init(cpus);                       // boot sequence, once
//   klib::Result<drivers::Device*> d = kernel::claim_device(drivers::DeviceClass::kNetwork, "e1000",
//                                                           drivers::NameRule::kExact);
//   klib::Result<void*> nic = kernel::start_device(*d.value(), drivers::start_network_device);  // this core's memory
//   klib::Result<uint32_t> gsi = kernel::attach_interrupt(*d.value(), on_irq, ctx);  // to the calling core
#pragma once

#include <arch/x86_64/cpus.h>
#include <drivers/device.h>
#include <kernel/irq.h>
#include <lib/result.h>

namespace kernel {

// Masks every I/O APIC input (`cpus`: the MADT's I/O APICs), scans PCI, probes virtio-mmio
// (the kernel command line's devices, else microvm's slots when there is no PCI) and the
// legacy ISA drivers' fixed ports (the ATA channels), and registers what the drivers take,
// with a "found" line each.
void devices_init(const arch::CpuList& cpus);
// Probes the legacy ISA devices (the ATA channels) and registers those that answer, with a
// "found" line each; once (later calls return at once). DedicateBlockDriver calls it first.
void bind_isa_devices();

// The first free device of class `c` called `name` (the rule decides how), claimed for the
// caller; kNoDevice (none of that name) or kBusy (all dedicated already).
klib::Result<drivers::Device*> claim_device(drivers::DeviceClass c, const char* name, drivers::NameRule rule);
void release_device(drivers::Device& d);
// Starts `d` with the calling core's memory: the device's interface for its class
// (drivers::Nic* for kNetwork), or why not.
klib::Result<void*> start_device(drivers::Device& d, drivers::StartFn start);
// Routes `d`'s interrupt (PCI and virtio: level-triggered, active high; ISA: as the MADT's
// interrupt source overrides say, else edge-triggered, active high) to the calling core, where `handler`
// runs with `ctx`; the GSI, or kNoDevice (the chipset's routing is not known), kBusy (the input
// is routed to another core already, or is edge-triggered: the device is polled), kLimit (no
// vector or shared-handler slot left). A level-triggered input routed to this core already is
// shared: both devices' handlers run for each interrupt.
klib::Result<uint32_t> attach_interrupt(drivers::Device& d, IrqHandler handler, void* ctx);
// MSI-X instead (a PCI device that has it, PCI 3.0 §6.8.2): a vector of the calling core runs
// `handler` with `ctx`, table entry 0 delivers it here (edge-triggered: no I/O APIC, no line
// to lower) and MSI-X is enabled, which turns the INTx line off. Returns the table entry for
// the driver to point its interrupt sources at; kNotSupported (not PCI, no MSI-X capability,
// its table outside an assigned BAR, or the kernel parameter msix=off), kLimit (no vector).
// If the driver cannot use it, detach_msix() turns MSI-X off again (the vector stays taken).
klib::Result<uint16_t> attach_msix(drivers::Device& d, IrqHandler handler, void* ctx);
void detach_msix(drivers::Device& d);

}  // namespace kernel
