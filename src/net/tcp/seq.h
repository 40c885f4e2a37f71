// TCP sequence-number arithmetic, modulo 2^32 (RFC 9293 §3.4 "Sequence Numbers").
//
//   net::tcp::seq_lt(0xFFFFFFF0, 0x10)        // true: 0x10 lies 32 bytes after the wrap
//   net::tcp::seq_in(x, rcv_nxt, rcv_nxt + w) // RCV.NXT =< x < RCV.NXT+RCV.WND
//
// Comparisons are meaningful only for numbers less than 2^31 apart, which the window sizes
// (at most 2^30 with window scaling, RFC 7323 §2.3) guarantee.
#pragma once

#include <cstdint>

namespace net::tcp {

constexpr bool seq_lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
constexpr bool seq_le(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
constexpr bool seq_ge(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }

// lo =< x < hi, with wrap-around; empty when lo == hi.
constexpr bool seq_in(uint32_t x, uint32_t lo, uint32_t hi) { return uint32_t(x - lo) < uint32_t(hi - lo); }

constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_lt(a, b) ? b : a; }
constexpr uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

}  // namespace net::tcp
