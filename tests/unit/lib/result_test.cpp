#include <gtest/gtest.h>
#include <lib/result.h>

#include <cstring>

namespace {

klib::Result<int*> find(bool present, int* where) {
  if (!present) return klib::Error::kNoDevice;
  return where;
}

klib::Status step(bool fail) { return fail ? klib::Status(klib::Error::kTimeout) : klib::Status(); }

struct Counted {
  static int live;
  int v;
  explicit Counted(int x) : v(x) { ++live; }
  Counted(const Counted& o) : v(o.v) { ++live; }
  ~Counted() { --live; }
};
int Counted::live = 0;

TEST(Result, CarriesAValueOrAnError) {
  int x = 5;
  auto ok = find(true, &x);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.error(), klib::Error::kNone);
  EXPECT_EQ(ok.value(), &x);
  auto bad = find(false, &x);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), klib::Error::kNoDevice);
  EXPECT_EQ(bad.value_or(nullptr), nullptr);
}

TEST(Result, AnErrorOfNoneIsNotSuccess) {
  // Building a failed Result from Error::kNone is a bug in the caller; it must not read as ok.
  klib::Result<int> r(klib::Error::kNone);
  EXPECT_FALSE(r);
}

TEST(Result, StatusIsOkOrAnError) {
  EXPECT_TRUE(step(false));
  EXPECT_FALSE(step(true));
  EXPECT_EQ(step(true).error(), klib::Error::kTimeout);
}

TEST(Result, DestroysAndCopiesItsValue) {
  {
    klib::Result<Counted> a(Counted(3));
    EXPECT_EQ(Counted::live, 1);
    klib::Result<Counted> b = a;
    EXPECT_EQ(Counted::live, 2);
    EXPECT_EQ(b.value().v, 3);
    klib::Result<Counted> c(klib::Error::kNoMemory);
    c = a;
    EXPECT_EQ(Counted::live, 3);
    c = klib::Result<Counted>(klib::Error::kLimit);
    EXPECT_EQ(Counted::live, 2);
    EXPECT_FALSE(c);
  }
  EXPECT_EQ(Counted::live, 0);
}

TEST(Result, EveryErrorHasAText) {
  for (int e = 0; e <= int(klib::Error::kLast); ++e) {
    const char* t = klib::error_text(klib::Error(e));
    EXPECT_NE(std::strcmp(t, "unknown error"), 0) << e;
  }
}

}  // namespace
