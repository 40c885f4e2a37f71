// Division by a number fixed at run time, without a divide instruction: a multiply by the
// divisor's reciprocal and at most two corrections, exact for every 64-bit dividend.
// sched::now_ms() and now_us() divide the TSC by the cycles per millisecond or microsecond
// about thirty times per HTTP answer; a 64-bit `div` costs tens of cycles on hardware and a
// helper call under QEMU's TCG, a `mul` neither.
//
//   klib::Divider per_ms(tsc_hz / 1000);   // once
//   uint64_t ms = per_ms.divide(rdtsc());  // == rdtsc() / (tsc_hz / 1000)
#pragma once

#include <cstdint>

namespace klib {

class Divider {
 public:
  constexpr Divider() = default;
  // d == 0 makes divide() return 0 (a clock not calibrated yet reads 0, not a division fault).
  constexpr explicit Divider(uint64_t d) : d_(d), m_(d == 0 ? 0 : ~uint64_t(0) / d) {}

  constexpr uint64_t divide(uint64_t x) const {
    if (d_ == 0) return 0;
    // m_ = floor((2^64 - 1) / d) is within 1 of 2^64 / d, so q = floor(x * m_ / 2^64) falls short
    // of floor(x / d) by less than 2 (x < 2^64): the remainder check adds what is missing.
    uint64_t q = uint64_t((unsigned __int128)x * m_ >> 64);
    uint64_t r = x - q * d_;
    while (r >= d_) {
      ++q;
      r -= d_;
    }
    return q;
  }
  constexpr uint64_t divisor() const { return d_; }

 private:
  uint64_t d_ = 0;
  uint64_t m_ = 0;
};

}  // namespace klib
