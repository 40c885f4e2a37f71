#include <gtest/gtest.h>
#include <lib/divider.h>

#include <cstdint>
#include <random>

namespace {

// Exact against the divide instruction: divisors of every size (1, powers of two and their
// neighbours, TSC rates per millisecond and microsecond), dividends near multiples of the
// divisor, near 2^64 and random.
TEST(Divider, ExactForEveryDividend) {
  std::vector<uint64_t> divisors = {1,
                                    2,
                                    3,
                                    7,
                                    10,
                                    1000,
                                    1000000,
                                    2'400'000,
                                    2'400,
                                    3'000'000'007ull,
                                    (uint64_t(1) << 32) - 1,
                                    uint64_t(1) << 32,
                                    (uint64_t(1) << 32) + 1,
                                    (uint64_t(1) << 63) - 1,
                                    uint64_t(1) << 63,
                                    ~uint64_t(0) - 1,
                                    ~uint64_t(0)};
  for (int s = 1; s < 64; ++s) divisors.push_back((uint64_t(1) << s) + (s % 3) - 1);
  std::mt19937_64 rng(7);
  for (uint64_t d : divisors) {
    const klib::Divider div(d);
    ASSERT_EQ(div.divisor(), d);
    std::vector<uint64_t> xs = {0, 1, d - 1, d, d + 1, ~uint64_t(0), ~uint64_t(0) - 1, ~uint64_t(0) - d};
    for (uint64_t k : {uint64_t(2), uint64_t(1000), ~uint64_t(0) / d}) {
      if (k != 0 && d <= ~uint64_t(0) / k) {
        xs.push_back(k * d);
        xs.push_back(k * d - 1);
      }
    }
    for (int i = 0; i < 2000; ++i) xs.push_back(rng() >> (i % 64));
    for (uint64_t x : xs) ASSERT_EQ(div.divide(x), x / d) << x << " / " << d;
  }
}

TEST(Divider, ZeroDivisorReadsZero) {
  const klib::Divider none;
  EXPECT_EQ(none.divide(12345), 0u);
  EXPECT_EQ(klib::Divider(0).divide(~uint64_t(0)), 0u);
}

}  // namespace
