// Device interrupt handlers by vector (kVectorDeviceBase and up). trap_dispatch calls the
// handler with interrupts off on the core the I/O APIC sent it to, then signals EOI.
//
//   uint8_t v = kernel::register_irq(on_nic_interrupt, nic);   // 0 when none is free
//   arch::ioapic_route(ioapic, pin, v, apic_id, true, false);  // kernel::attach_interrupt does both
#pragma once

#include <cstdint>

namespace kernel {

using IrqHandler = void (*)(void* ctx);

uint8_t register_irq(IrqHandler handler, void* ctx);
// Adds a handler to `vector` (a line shared by devices of the core that takes it); false when
// the vector is not registered or has no room.
bool share_irq(uint8_t vector, IrqHandler handler, void* ctx);
// True if `vector` had a handler (which ran).
bool dispatch_irq(uint8_t vector);

}  // namespace kernel
