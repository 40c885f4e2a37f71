// MC146818A datasheet: registers 0x00 sec, 0x02 min, 0x04 hour, 0x07 day, 0x08 month, 0x09 year,
// 0x0A status A (bit 7 = update in progress), 0x0B status B (bit 2 = binary, bit 1 = 24 h).
#include <arch/x86_64/cpu.h>
#include <drivers/rtc/cmos_rtc.h>

namespace drivers {
namespace {

uint8_t read_reg(uint8_t reg) {
  arch::outb(0x70, reg | 0x80);  // bit 7 keeps NMI masked while we talk to the RTC
  return arch::inb(0x71);
}

int from_bcd(uint8_t v, bool binary) { return binary ? v : (v & 0x0F) + (v >> 4) * 10; }

}  // namespace

bool cmos_read_time(klib::DateTime* out) {
  out->year = 1970;
  out->month = 1;
  out->day = 1;
  out->hour = out->minute = out->second = 0;
  // Wait (bounded) for the end of an update cycle so the fields are consistent.
  for (int i = 0; i < 100000 && (read_reg(0x0A) & 0x80); ++i) arch::cpu_relax();
  const uint8_t status_b = read_reg(0x0B);
  if (status_b == 0xFF) return false;  // floating bus: no RTC
  const bool binary = status_b & 0x04;
  const bool h24 = status_b & 0x02;
  const uint8_t sec = read_reg(0x00), min = read_reg(0x02), hour_raw = read_reg(0x04);
  const uint8_t day = read_reg(0x07), month = read_reg(0x08), year = read_reg(0x09);
  int hour = from_bcd(hour_raw & 0x7F, binary);
  if (!h24) hour = (hour % 12) + ((hour_raw & 0x80) ? 12 : 0);  // 12 AM is 0, 12 PM is 12
  out->second = from_bcd(sec, binary);
  out->minute = from_bcd(min, binary);
  out->hour = hour;
  out->day = from_bcd(day, binary);
  out->month = from_bcd(month, binary);
  out->year = 2000 + from_bcd(year, binary);
  return true;
}

}  // namespace drivers
