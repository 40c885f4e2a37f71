#include <gtest/gtest.h>
#include <lib/format.h>

#include <string>

namespace {

std::string g_out;
void put(void*, char c) { g_out.push_back(c); }
void fixed_now(klib::DateTime* t) { *t = {2026, 2, 7, 9, 5, 3}; }

template <typename... Args>
std::string fmt(klib::FormatString<std::type_identity_t<Args>...> f, const Args&... args) {
  g_out.clear();
  const klib::Arg packed[] = {klib::make_arg(args)..., klib::Arg()};
  klib::format({put, nullptr, fixed_now}, f.str, packed, sizeof...(Args));
  return g_out;
}

std::string runtime(const char* f, std::initializer_list<klib::Arg> args) {
  g_out.clear();
  klib::format({put, nullptr, fixed_now}, f, args.begin(), args.size());
  return g_out;
}

TEST(Format, PlainTextAndNewlineIsCrLf) { EXPECT_EQ(fmt("Hello\n"), "Hello\r\n"); }

TEST(Format, DecimalUnsignedAndSigned) {
  EXPECT_EQ(fmt("%d", 0u), "0");
  EXPECT_EQ(fmt("%d", 18446744073709551615ull), "18446744073709551615");
  EXPECT_EQ(fmt("%d", -42), "-42");
  EXPECT_EQ(fmt("%d", int64_t(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(fmt("a%db%dc", 1, 23), "a1b23c");
}

TEST(Format, HexIsSixteenUpperCaseDigits) {
  EXPECT_EQ(fmt("%h", 42), "0x000000000000002A");
  EXPECT_EQ(fmt("%h", ~0ull), "0xFFFFFFFFFFFFFFFF");
  int x;
  const std::string s = fmt("%h", &x);
  EXPECT_EQ(s.size(), 18u);
  EXPECT_EQ(s.substr(0, 2), "0x");
}

TEST(Format, StringsAndChars) {
  EXPECT_EQ(fmt("[%s|%p]", "ab", "cd"), "[ab|cd]");
  const char* null_string = nullptr;
  EXPECT_EQ(fmt("%p", null_string), "(null)");
  EXPECT_EQ(fmt("%c%c", 'o', 'k'), "ok");
}

TEST(Format, PercentPOfANonStringPointerIsItsAddress) {
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(uintptr_t(0x1234));
  EXPECT_EQ(fmt("%p", bytes), "0x0000000000001234");
  const void* null_pointer = nullptr;
  EXPECT_EQ(fmt("%p", null_pointer), "(null)");
}

TEST(Format, PercentQuirksOfToro) {
  // %% prints '%' and consumes an argument slot.
  EXPECT_EQ(fmt("%%%d", 1, 2), "%2");
  // '%' + unknown character: both swallowed, no argument consumed.
  EXPECT_EQ(fmt("%q%d", 7), "7");
  // No arguments left: '%' prints literally.
  EXPECT_EQ(fmt("100%"), "100%");
  EXPECT_EQ(fmt("%d %d", 5), "5 %d");
}

TEST(Format, TabIsATimestampAndVerticalTabIsNineSpaces) {
  EXPECT_EQ(fmt("\t x"), "07/02/2026-09:05:03 x");
  EXPECT_EQ(fmt("a\vb"), "a         b");
}

TEST(Format, TimestampWithoutClockIsEpoch) {
  g_out.clear();
  klib::format({put, nullptr, nullptr}, "\t", nullptr, 0);
  EXPECT_EQ(g_out, "01/01/1970-00:00:00");
}

TEST(Format, RuntimeFormatNeverDereferencesIntegersAsStrings) {
  EXPECT_EQ(runtime("%s", {klib::make_arg(1234)}), "(not a string)");
  EXPECT_EQ(runtime("%d", {klib::make_arg(7u)}), "7");
}

TEST(Format, LoneTrailingPercentWithArgumentsPrintsNothing) { EXPECT_EQ(runtime("x%", {klib::make_arg(1)}), "x"); }

TEST(Format, ArgKinds) {
  enum class Color : uint8_t { kRed = 3 };
  EXPECT_EQ(klib::arg_kind<Color>(), klib::ArgKind::kUnsigned);
  EXPECT_EQ(klib::arg_kind<char>(), klib::ArgKind::kChar);
  EXPECT_EQ(klib::arg_kind<const char*>(), klib::ArgKind::kString);
  EXPECT_EQ(klib::arg_kind<char[4]>(), klib::ArgKind::kString);
  EXPECT_EQ(klib::arg_kind<void*>(), klib::ArgKind::kPointer);
  EXPECT_EQ(klib::arg_kind<long>(), klib::ArgKind::kSigned);
  EXPECT_EQ(klib::arg_kind<double>(), klib::ArgKind::kNone);
  EXPECT_EQ(fmt("%d", Color::kRed), "3");
}

// Compile-time rejection of mismatched formats is tested by tests/unit/format_compile_check.py.

}  // namespace
