// klib::cformat (C's printf formats for ToroMPI's C programs) against the host's vsnprintf.
#include "lib/cprintf.h"

#include <gtest/gtest.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace {

std::string ours(size_t cap, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const size_t n = klib::cformat(buf, cap, fmt, ap);
  va_end(ap);
  return std::string(buf) + "|" + std::to_string(n);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
std::string theirs(size_t cap, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
  return std::string(buf) + "|" + std::to_string(n);
}
#pragma GCC diagnostic pop

#define SAME(...) EXPECT_EQ(ours(256, __VA_ARGS__), theirs(256, __VA_ARGS__))

TEST(CFormat, AsTheHostsPrintf) {
  SAME("MPI_BARRIER: min_time: %d cycles, max_time: %d cycles\n", 123, -45);
  SAME("%c%c%c", 'a', 'b', 'c');
  SAME("%ld %lu %lld %llu", -1234567890123L, 18446744073709551615UL, -5LL, 42ULL);
  SAME("%x %X %#x %#X %o %#o", 255u, 255u, 255u, 0u, 8u, 8u);
  SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d] [%-8.3d]", 42, 42, -42, 42, 42, 7, -7, 7);
  SAME("[%s] [%10s] [%-10s] [%.2s] [%*d] [%-*d] [%.*s]", "toro", "toro", "toro", "toro", 6, 1, 6, 1, 3, "abcdef");
  SAME("%hhd %hd %hhu %hu", 300, 70000, 300, 70000);
  SAME("%zu %jd %td", size_t{77}, intmax_t{-9}, ptrdiff_t{-3});
  SAME("%d %d", INT32_MIN, INT32_MAX);
  SAME("%ld", INT64_MIN);
  SAME("100%% done, %.0d|", 0);
  SAME("%p", reinterpret_cast<void*>(0x1234abcd));
}

TEST(CFormat, CutsAndCountsLikeVsnprintf) {
  EXPECT_EQ(ours(5, "%d-%s", 123456, "abc"), theirs(5, "%d-%s", 123456, "abc"));
  EXPECT_EQ(ours(1, "abc"), theirs(1, "abc"));
  EXPECT_EQ(ours(256, "%s", nullptr), "(null)|6");
}

TEST(CFormat, UnknownConversionsAndTrailingPercentAsWritten) {
  EXPECT_EQ(ours(256, "a %q b %"), "a %q b %|8");
  EXPECT_EQ(ours(256, "%5.2f"), "%5.2f|5");
}

}  // namespace
