// Toro's console format language (toro-spec §1.6), portable: the kernel console and the host
// tests run the same engine. Arguments are type-checked at compile time (FormatString).
//
//   klib::Arg args[] = {klib::make_arg(42), klib::make_arg("toro")};
//   klib::format({put_char, ctx, nullptr}, "%d %p\n", args, 2);   // "42 toro\r\n"
//
// Sequences: %d decimal, %h hex (0x + 16 upper-case digits), %s a C string, %p a C string (or,
// for any other pointer, its value in hex), %c character,
// %% prints '%' and consumes an argument (Toro's quirk), '%' + other char prints nothing, '%' with
// no argument left prints literally. '\n' prints CR LF, '\t' prints DD/MM/YYYY-hh:mm:ss, '\v'
// prints 9 spaces. Differences from Toro are listed in docs/PORTING.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace klib {

enum class ArgKind : uint8_t { kNone, kSigned, kUnsigned, kChar, kPointer, kString };

struct Arg {
  ArgKind kind = ArgKind::kNone;
  union {
    uint64_t u;
    int64_t i;
    const void* p;
    const char* s;
  };
  constexpr Arg() : u(0) {}
};

template <typename T>
constexpr ArgKind arg_kind() {
  using U = std::remove_cv_t<std::remove_reference_t<T>>;
  if constexpr (std::is_same_v<U, char>) {
    return ArgKind::kChar;
  } else if constexpr (std::is_same_v<U, bool>) {
    return ArgKind::kUnsigned;
  } else if constexpr (std::is_enum_v<U>) {
    return arg_kind<std::underlying_type_t<U>>();
  } else if constexpr (std::is_integral_v<U>) {
    return std::is_signed_v<U> ? ArgKind::kSigned : ArgKind::kUnsigned;
  } else if constexpr (std::is_same_v<std::decay_t<U>, const char*> || std::is_same_v<std::decay_t<U>, char*>) {
    return ArgKind::kString;
  } else if constexpr (std::is_pointer_v<std::decay_t<U>> || std::is_null_pointer_v<U>) {
    return ArgKind::kPointer;
  } else {
    return ArgKind::kNone;
  }
}

template <typename T>
inline Arg make_arg(const T& value) {
  constexpr ArgKind kind = arg_kind<T>();
  static_assert(kind != ArgKind::kNone, "WriteConsoleF takes integers, enums, chars, pointers and C strings only");
  Arg a;
  a.kind = kind;
  if constexpr (kind == ArgKind::kString) {
    a.s = value;
  } else if constexpr (kind == ArgKind::kPointer) {
    a.p = static_cast<const void*>(value);
  } else if constexpr (kind == ArgKind::kSigned) {
    a.i = static_cast<int64_t>(value);
  } else if constexpr (kind == ArgKind::kChar) {
    a.u = static_cast<unsigned char>(value);
  } else {
    a.u = static_cast<uint64_t>(value);
  }
  return a;
}

struct DateTime {
  int year, month, day, hour, minute, second;
};

// Where formatted characters go. `now` may be null: '\t' then prints 01/01/1970-00:00:00.
struct Sink {
  void (*put)(void* ctx, char c);
  void* ctx;
  void (*now)(DateTime* out);
};

// Formats `fmt` with `args` (toro-spec §1.6) into `sink`.
void format(const Sink& sink, const char* fmt, const Arg* args, size_t arg_count);

// Helpers shared with PrintDecimal and the fault report.
void put_unsigned(const Sink& sink, uint64_t value);
void put_hex16(const Sink& sink, uint64_t value);
void put_string(const Sink& sink, const char* s);

// ---- Compile-time checking of format strings against argument types. ----

// A format string that is only known at run time: WriteConsoleF(RuntimeFormat{p}, ...).
struct RuntimeFormat {
  const char* str;
};

namespace detail {
// Not constexpr on purpose: calling one of these in a consteval context is a compile error whose
// message names the problem.
void format_error_conversion_needs_an_integer_argument();
void format_error_conversion_needs_a_c_string_argument();
void format_error_conversion_needs_a_character_argument();
void format_error_more_arguments_than_conversions();

consteval void check_format(const char* f, const ArgKind* kinds, size_t count) {
  size_t next = 0;
  for (; *f; ++f) {
    if (*f != '%' || next >= count) continue;
    const char c = f[1];
    if (c == 0) break;
    ++f;
    const ArgKind k = kinds[next];
    switch (c) {
      case 'd':
      case 'h':
        if (k == ArgKind::kString) format_error_conversion_needs_an_integer_argument();
        ++next;
        break;
      case 's':
        if (k != ArgKind::kString) format_error_conversion_needs_a_c_string_argument();
        ++next;
        break;
      case 'p':
        if (k != ArgKind::kString && k != ArgKind::kPointer) format_error_conversion_needs_a_c_string_argument();
        ++next;
        break;
      case 'c':
        if (k == ArgKind::kString || k == ArgKind::kPointer) format_error_conversion_needs_a_character_argument();
        ++next;
        break;
      case '%':
        ++next;
        break;
      default:
        break;
    }
  }
  if (next != count) format_error_more_arguments_than_conversions();
}
}  // namespace detail

template <typename... Args>
struct FormatString {
  const char* str;
  template <size_t N>
  consteval FormatString(const char (&s)[N]) : str(s) {
    constexpr ArgKind kinds[] = {arg_kind<Args>()..., ArgKind::kNone};
    detail::check_format(s, kinds, sizeof...(Args));
  }
  constexpr FormatString(RuntimeFormat r) : str(r.str) {}
};

}  // namespace klib
