// Debug output (toro-spec §1.7): lines kept in a per-core ring and written to the debug device
// (COM2: `tools/toro run APP --debug-log FILE`) when the program ends, or on DumpDebugRing.
//
//   WriteDebug("TestFreeMem-%d: %p\n", 0, "PASSED");
//   // FILE: "[03/12/2026-06:40:01] CPU0 Thread#0x0000000000000000 TestFreeMem-0: PASSED"
//   DumpDebugRing();
//
// The format language is WriteConsoleF's; each call starts with Toro's prefix
// "[\t] CPU<n> Thread#<id in hex> ". Every core has its own ring (64 KiB from its heap, taken at
// its first line); when it fills, the oldest lines go and the dump prints
// "[DebugRing: N bytes lost]" in their place. The rings are dumped at every exit: main's return,
// a panic, an unhandled exception. Unlike Toro this needs no -dEnableDebug: a program that never
// calls these links none of it.
#pragma once

#include <lib/format.h>
#include <toro/types.h>

#include <type_traits>

namespace toro::detail {
void debug_write(const char* fmt, const klib::Arg* args, size_t count);
}  // namespace toro::detail

template <typename... Args>
[[gnu::noinline]] void WriteDebug(klib::FormatString<std::type_identity_t<Args>...> Format, const Args&... args) {
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  toro::detail::debug_write(Format.str, packed, sizeof...(Args));
}

// Writes every core's ring to the debug device and empties them.
void DumpDebugRing();
// The calling core's ring moves to Base[0..NewSize), keeping its lines (the newest that fit).
// A nil Base or NewSize under 64 changes nothing (Toro's procedure has no result; ours neither).
void SetDebugRing(PChar Base, LongInt NewSize);
