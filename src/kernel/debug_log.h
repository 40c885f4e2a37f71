// WriteDebug's engine (toro-spec §1.7): one klib::DebugRing per core, each line prefixed as Toro
// does, and the rings dumped to the debug device (COM2) at exit or on DumpDebugRing; with the
// kernel parameter `debug=virtio`, to a virtio-console instead (the first free one when the first
// debug line is written; with console=virtio the console has the first).
//
//   kernel::debug_write("TestFreeMem-0: %p\n", args, 1);   // "[03/12/2026-06:40:01] CPU0 Thread#0x... TestFreeMem-0:
//   PASSED" kernel::debug_dump();                                  // every core's ring to COM2, emptied
//
// Nothing here is linked into an app that never writes a debug line: every way out (System_Exit,
// panic, an unhandled exception) ends in arch::poweroff, which calls arch::g_before_poweroff; the
// first debug line (or SetDebugRing) sets it to debug_dump.
#pragma once

#include <lib/format.h>

#include <cstddef>

namespace kernel {

// The debug device: a second 16550 (QEMU's second -serial, Bochs' com2).
constexpr uint16_t kDebugPort = 0x2F8;
// A core's ring, taken from its heap on its first debug line (Toro: 1 MiB, DebugRingSize).
constexpr size_t kDefaultDebugRingSize = 64 * 1024;

// Formats one debug line into the calling core's ring, after the prefix
// "[DD/MM/YYYY-hh:mm:ss] CPU<n> Thread#<id in hex> ". Lock-free: only this core writes its ring.
void debug_write(const char* fmt, const klib::Arg* args, size_t count);
// Writes every core's ring to the debug device, oldest first, core by core, and empties them.
void debug_dump();
// The calling core's ring moves to [base, base + size), keeping what it held. False (and no
// change) for a null buffer or one smaller than klib::DebugRing::kMinSize.
bool debug_set_ring(char* base, size_t size);

}  // namespace kernel
