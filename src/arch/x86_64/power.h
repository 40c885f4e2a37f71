// Leaving the VM with an exit code.
//
//   arch::poweroff(3);   // QEMU exits with status (3 << 1) | 1 = 7; tools/toro maps it back to 3
#pragma once

#include <atomic>
#include <cstdint>

namespace arch {

// Called by poweroff, with interrupts off, before the VM stops: the kernel's debug rings set it
// (kernel/debug_log.cpp) to dump themselves to the debug device on every way out. Null until then.
extern std::atomic<void (*)()> g_before_poweroff;

// Tries, in order: QEMU isa-debug-exit (port 0xF4, `-device isa-debug-exit,iobase=0xf4,iosize=4`),
// the Bochs magic breakpoint (tools/toro bochs quits the simulator there), ACPI S5 on QEMU's PM
// ports, then halts with interrupts off. `code` is reduced to 0..127 (QEMU's status is 8 bits).
[[noreturn]] void poweroff(uint32_t code);
// Resets the machine (Toro 2019's Reboot): the 8042's reset line, the chipset's reset register,
// else a triple fault. Under QEMU -no-reboot (tools/toro run) the VM ends with status 0.
[[noreturn]] void reboot();

}  // namespace arch
