// The in-guest gdb stub (issue 15): with the kernel command-line token `gdb` the program stops
// at `main` and waits for gdb on COM2 (the GDB remote protocol of src/lib/gdb_rsp.h over a
// polled 16550); with `gdb=virtio`, on a virtio-console of its own (the first one free after
// console=virtio's; COM2 when there is none, said on the console). Breakpoints and
// watchpoints are the debug registers (they work where int3 cannot run in ring 0); single step
// is the trap flag.
//
//   qemu-system-x86_64 -kernel APP.elf -append gdb -serial stdio -serial tcp:127.0.0.1:1234,server=on,wait=off
//   gdb APP.elf -ex 'target remote :1234'
//
// All-stop: the core that stops (breakpoint, step, Ctrl-C) sends the others an IPI
// (kVectorDebugStop) and they park with their contexts until gdb resumes; every Toro thread of
// every core is a gdb thread (running ones from their core's context, the others from the
// registers arch_switch saved). Ctrl-C arrives through the line's interrupt (COM2's IRQ 3, or
// the virtio-console's). A step runs the stopped core's thread only (the others stay parked).
// A fault (#DE, #UD, #GP, #PF, ...) stops with its signal; gdb's `continue` passes it on (the
// fault takes its course), `signal 0` retries. On Bochs, tools/toro bochs --gdb puts the token
// in the boot sector's command line. Without the token nothing of it runs.
#pragma once

#include <arch/x86_64/trap.h>

namespace kernel {

// On the boot core, before the main thread starts: takes COM2 (or with `virtio` a
// virtio-console) and arms a breakpoint on main.
void gdb_stub_start(bool virtio);
// True once gdb_stub_start took COM2 for gdb (the debug ring's dump stays off it).
bool gdb_stub_on_com2();
// trap.cpp's hook for #DB and #BP: true when the stub handled the trap (resume from `frame`).
extern bool (*g_debug_trap)(arch::TrapFrame* frame);

}  // namespace kernel
