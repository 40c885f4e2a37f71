// Toro's ProfileBootTime program (toro-spec §3.3, -dProfileBootTime: "shutdown at the very start
// of KernelStart"). Linked with -Wl,--wrap=kernel_entry (link_args): boot.S's jump to the kernel's
// first C++ function lands here, and the VM stops with exit code 0 before any initialisation.
// bench/boot/run.py times QEMU from its start to this exit. main is never reached.
#include <arch/x86_64/power.h>

#include <cstdint>

extern "C" [[noreturn]] void __wrap_kernel_entry(uint32_t, uint32_t) { arch::poweroff(0); }

int main() { return 1; }  // not reached: a run that gets here exits with 1, and bench/boot says so
