// Console output on COM1 (toro-spec §1.6).
//
//   WriteConsoleF("\t Core#%d has %d MB, name %p\n", core, mb, name);
//   PrintDecimal(42);
//
// Format language: %d decimal (signed types print a '-'), %h hex as 0x + 16 digits, %s a C string,
// %p a C string (any other pointer prints as hex), %c a character, %% prints '%' and uses up an
// argument (as in Toro). '\n' prints
// CR LF, '\t' prints the date and time DD/MM/YYYY-hh:mm:ss (not a tab), '\v' 9 spaces.
// Arguments are checked against the format at compile time; for a format known only at run
// time, pass RuntimeFormat{ptr}. The one difference from Toro: %s takes a C string, since
// C++ has no AnsiString.
#pragma once

#include <lib/format.h>
#include <toro/types.h>

#include <type_traits>

namespace toro::detail {
void console_write(const char* fmt, const klib::Arg* args, size_t count);
}  // namespace toro::detail

using klib::RuntimeFormat;

template <typename... Args>
[[gnu::noinline]] void WriteConsoleF(klib::FormatString<std::type_identity_t<Args>...> Format, const Args&... args) {
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  toro::detail::console_write(Format.str, packed, sizeof...(Args));
}

// Toro HEAD's HeadLess: while true, WriteConsoleF prints nothing (PrintDecimal, PutCtoSerial,
// FlushUp and the kernel's own lines still do).
extern Boolean HeadLess;
// Toro 2019's console switches: DisabledConsole sets HeadLess, EnabledConsole clears it.
void EnabledConsole();
void DisabledConsole();
// Toro 2019's VGA text colour: kept for ported code, the serial console has no colours.
extern Byte Color;
// Toro 2019's CleanConsole cleared the VGA screen: a serial console has none; prints nothing.
inline void CleanConsole() {}
// CR LF (Toro HEAD's FlushUp). C linkage, as Toro exported it: C files call it (ToroMpi.h).
extern "C" void FlushUp();
// Waits (yielding to the core's other threads) for a character on COM1 and stores it in C
// (Toro HEAD's ReadFromSerial).
void ReadFromSerial(XChar& C);

// Unsigned decimal, no newline. C linkage, as FlushUp.
extern "C" void PrintDecimal(PtrUInt Value);
// One raw character (Toro HEAD's PutCtoSerial). C linkage, as FlushUp.
extern "C" void PutCtoSerial(XChar C);
