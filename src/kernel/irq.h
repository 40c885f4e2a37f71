// Device interrupt handlers by vector (kVectorDeviceBase and up). trap_dispatch calls the
// handler with interrupts off on the core the I/O APIC sent it to, then signals EOI.
//
//   uint8_t v = kernel::register_irq(on_nic_interrupt, nic);   // 0 when none is free
//   arch::ioapic_route(ioapic, gsi, v, apic_id, true, false);
#pragma once

#include <cstdint>

namespace kernel {

using IrqHandler = void (*)(void* ctx);

uint8_t register_irq(IrqHandler handler, void* ctx);
// True if `vector` had a handler (which ran).
bool dispatch_irq(uint8_t vector);
uint64_t ioapic_base();
// The I/O APIC serving global system interrupt `gsi` and its input there (MADT entries; the
// first I/O APIC with GSI base 0 when the MADT lists none). False if no I/O APIC serves it.
bool ioapic_for_gsi(uint32_t gsi, uint64_t* base, uint32_t* input);
uint32_t ioapic_count();

}  // namespace kernel
