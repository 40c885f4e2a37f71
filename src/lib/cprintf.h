// C's printf format language, the part freestanding C programs use (ToroMPI's examples:
// toro-spec §1.13), formatted into a bounded buffer; src/api/mpi_printf.cpp prints it.
//
//   char out[64];
//   klib::cformat(out, sizeof out, "%d cycles, %5lu, %-3s|%x\n", args);  // args: a va_list
//
// Conversions: %d %i %u %x %X %o %c %s %p %% with the sizes hh h l ll z j t, a width (digits or
// *), the flags '-' '0' ' ' '+' '#' and a precision for strings and integers. Anything else is
// copied as written (an unknown conversion prints itself). A null %s prints "(null)".
#pragma once

#include <stdarg.h>

#include <cstddef>

namespace klib {

// Formats into out[0..cap-1], always NUL-terminated when cap > 0; returns the length the whole
// output has (as vsnprintf: more than cap - 1 means it was cut).
size_t cformat(char* out, size_t cap, const char* fmt, va_list ap);

}  // namespace klib
