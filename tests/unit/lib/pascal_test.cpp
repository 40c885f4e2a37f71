#include <gtest/gtest.h>
#include <lib/pascal.h>

#include <cstring>
#include <thread>

TEST(Pascal, IntToStr) {
  char buf[21];
  klib::int_to_str(0, buf);
  EXPECT_STREQ(buf, "0");
  klib::int_to_str(42, buf);
  EXPECT_STREQ(buf, "42");
  klib::int_to_str(UINT64_MAX, buf);
  EXPECT_STREQ(buf, "18446744073709551615");
  klib::int_to_str(7, nullptr);  // defined: nothing
}

TEST(Pascal, StrCmpComparesExactlyLenBytes) {
  EXPECT_TRUE(klib::str_cmp("GET /index", "GET /", 5));
  EXPECT_FALSE(klib::str_cmp("GET /index", "GET /", 6));
  EXPECT_FALSE(klib::str_cmp("abc", "abd", 3));
  EXPECT_TRUE(klib::str_cmp("abc", "abd", 2));
  EXPECT_TRUE(klib::str_cmp("x", "y", 0));
  EXPECT_TRUE(klib::str_cmp(nullptr, "y", 0));
  EXPECT_FALSE(klib::str_cmp(nullptr, "y", 1));
  EXPECT_FALSE(klib::str_cmp("y", nullptr, 1));
}

TEST(Pascal, StrConcat) {
  char buf[32];
  klib::str_concat("Hello ", "World", buf);
  EXPECT_STREQ(buf, "Hello World");
  klib::str_concat(buf, "!", buf);  // dst aliases left
  EXPECT_STREQ(buf, "Hello World!");
  klib::str_concat(nullptr, "b", buf);
  EXPECT_STREQ(buf, "b");
  klib::str_concat("a", nullptr, buf);
  EXPECT_STREQ(buf, "a");
  klib::str_concat("a", "b", nullptr);  // defined: nothing
}

TEST(Pascal, DaysFromCivil) {
  EXPECT_EQ(klib::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(klib::days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(klib::days_from_civil(1969, 12, 31), -1);
}

TEST(Pascal, SecondsBetween) {
  const klib::DateTime a{2024, 2, 28, 23, 59, 30};
  const klib::DateTime b{2024, 3, 1, 0, 0, 30};  // across 29 February
  EXPECT_EQ(klib::seconds_between(b, a), 86400 + 60);
  EXPECT_EQ(klib::seconds_between(a, b), 86400 + 60);
  EXPECT_EQ(klib::seconds_between(a, a), 0);
  const klib::DateTime y0{1999, 12, 31, 23, 59, 59};
  const klib::DateTime y1{2000, 1, 1, 0, 0, 0};
  EXPECT_EQ(klib::seconds_between(y1, y0), 1);
}

TEST(Pascal, SpinLockExcludes) {
  uint64_t lock = 3;  // Toro's convention: 3 free, 4 busy
  uint64_t counter = 0;
  auto work = [&] {
    for (int i = 0; i < 100000; ++i) {
      EXPECT_EQ(klib::spin_lock(3, 4, &lock), 3u);
      counter = counter + 1;  // plain read-modify-write: only correct under the lock
      klib::spin_unlock(3, &lock);
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(counter, 200000u);
  EXPECT_EQ(lock, 3u);
}
