// Toro's small string, time and lock helpers (Arch / FPC system unit, toro-spec §1.4), portable
// so the host tests them; src/api/arch.cpp gives them Toro's names.
//
//   char buf[21]; klib::int_to_str(42, buf);              // "42"
//   klib::str_cmp("GET /", req, 4);                       // the first 4 bytes only
//   int64_t s = klib::seconds_between(now, then);          // |now - then| in seconds
#pragma once

#include <lib/format.h>

#include <cstddef>
#include <cstdint>

namespace klib {

// Unsigned decimal, NUL-terminated, into buff (at most 21 bytes). Nothing if buff is null.
void int_to_str(uint64_t value, char* buff);
// True if the first len bytes of p1 and p2 are equal (Toro compares exactly len bytes; a NUL
// is an ordinary byte here). len <= 0: true. A null pointer (with len > 0): false.
bool str_cmp(const char* p1, const char* p2, int32_t len);
// dst := left + right, NUL-terminated; dst may be left itself (appends). A null left or right
// counts as "", a null dst does nothing. The caller sizes dst, as in Toro.
void str_concat(const char* left, const char* right, char* dst);
// Days since 1970-01-01 of a proleptic Gregorian date (negative before).
int64_t days_from_civil(int64_t year, int64_t month, int64_t day);
// The whole seconds between two date-times, never negative (FPC's SecondsBetween).
int64_t seconds_between(const DateTime& a, const DateTime& b);
// Toro's SpinLock: compare-and-swap *addval from cmp_val to new_val, retrying until it succeeds;
// returns cmp_val. Acquire ordering on success, so what the previous holder wrote before its
// releasing store (spin_unlock) is visible to the new holder.
uint64_t spin_lock(uint64_t cmp_val, uint64_t new_val, uint64_t* addval);
// The release half: store value with release ordering (Toro: "release by storing 3").
void spin_unlock(uint64_t value, uint64_t* addval);

}  // namespace klib
