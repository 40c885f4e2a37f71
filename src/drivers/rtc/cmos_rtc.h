// The MC146818-compatible CMOS real-time clock (ports 0x70/0x71): date and time for '\t'.
//
//   klib::DateTime now;
//   if (!drivers::cmos_read_time(&now)) { /* no RTC (e.g. microvm,rtc=off): 01/01/1970 */ }
#pragma once

#include <lib/format.h>

namespace drivers {

bool cmos_read_time(klib::DateTime* out);

}  // namespace drivers
