// C's printf formats (see cprintf.h).
#include <lib/cprintf.h>

#include <cstdint>

namespace klib {
namespace {

struct Out {
  char* buf;
  size_t cap;
  size_t len = 0;
  void put(char c) {
    if (len + 1 < cap) buf[len] = c;
    ++len;
  }
  void pad(char c, int n) {
    for (; n > 0; --n) put(c);
  }
};

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int width = 0;
  int precision = -1;
};

// digits of v in base, reversed into tmp; returns the count.
int digits(uint64_t v, unsigned base, bool upper, char* tmp) {
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    tmp[n++] = d[v % base];
    v /= base;
  } while (v != 0);
  return n;
}

void integer(Out& o, const Spec& s, uint64_t mag, bool negative, unsigned base, bool upper, const char* prefix) {
  char tmp[24];
  int n = (mag == 0 && s.precision == 0) ? 0 : digits(mag, base, upper, tmp);
  const char sign = negative ? '-' : s.plus ? '+' : s.space ? ' ' : 0;
  int prefix_len = 0;
  while (prefix != nullptr && prefix[prefix_len] != 0) ++prefix_len;
  const int zeros = s.precision > n ? s.precision - n : 0;
  const int body = n + zeros + (sign ? 1 : 0) + prefix_len;
  const int fill = s.width > body ? s.width - body : 0;
  const bool zero_pad = s.zero && !s.left && s.precision < 0;
  if (!s.left && !zero_pad) o.pad(' ', fill);
  if (sign) o.put(sign);
  for (int i = 0; i < prefix_len; ++i) o.put(prefix[i]);
  if (zero_pad) o.pad('0', fill);
  o.pad('0', zeros);
  while (n > 0) o.put(tmp[--n]);
  if (s.left) o.pad(' ', fill);
}

}  // namespace

size_t cformat(char* out, size_t cap, const char* fmt, va_list ap) {
  Out o{out, cap};
  for (const char* p = fmt; *p != 0; ++p) {
    if (*p != '%') {
      o.put(*p);
      continue;
    }
    const char* start = p++;
    Spec s;
    for (;; ++p) {
      if (*p == '-')
        s.left = true;
      else if (*p == '0')
        s.zero = true;
      else if (*p == '+')
        s.plus = true;
      else if (*p == ' ')
        s.space = true;
      else if (*p == '#')
        s.alt = true;
      else
        break;
    }
    if (*p == '*') {
      s.width = va_arg(ap, int);
      if (s.width < 0) {
        s.left = true;
        s.width = -s.width;
      }
      ++p;
    } else {
      while (*p >= '0' && *p <= '9') s.width = s.width * 10 + (*p++ - '0');
    }
    if (*p == '.') {
      ++p;
      s.precision = 0;
      if (*p == '*') {
        s.precision = va_arg(ap, int);
        ++p;
      } else {
        while (*p >= '0' && *p <= '9') s.precision = s.precision * 10 + (*p++ - '0');
      }
    }
    int size = 0;  // -2 hh, -1 h, 0 int, 1 long, 2 long long / 64-bit
    if (*p == 'h') {
      size = p[1] == 'h' ? -2 : -1;
      p += p[1] == 'h' ? 2 : 1;
    } else if (*p == 'l') {
      size = p[1] == 'l' ? 2 : 1;
      p += p[1] == 'l' ? 2 : 1;
    } else if (*p == 'z' || *p == 'j' || *p == 't') {
      size = 2;
      ++p;
    }
    auto get_signed = [&]() -> int64_t {
      switch (size) {
        case -2:
          return static_cast<signed char>(va_arg(ap, int));
        case -1:
          return static_cast<short>(va_arg(ap, int));
        case 0:
          return va_arg(ap, int);
        case 1:
          return va_arg(ap, long);
        default:
          return va_arg(ap, long long);
      }
    };
    auto get_unsigned = [&]() -> uint64_t {
      switch (size) {
        case -2:
          return static_cast<unsigned char>(va_arg(ap, unsigned));
        case -1:
          return static_cast<unsigned short>(va_arg(ap, unsigned));
        case 0:
          return va_arg(ap, unsigned);
        case 1:
          return va_arg(ap, unsigned long);
        default:
          return va_arg(ap, unsigned long long);
      }
    };
    switch (*p) {
      case 'd':
      case 'i': {
        const int64_t v = get_signed();
        const uint64_t mag = v < 0 ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        integer(o, s, mag, v < 0, 10, false, nullptr);
        break;
      }
      case 'u':
        integer(o, s, get_unsigned(), false, 10, false, nullptr);
        break;
      case 'x':
      case 'X': {
        const uint64_t v = get_unsigned();
        integer(o, s, v, false, 16, *p == 'X', s.alt && v != 0 ? (*p == 'X' ? "0X" : "0x") : nullptr);
        break;
      }
      case 'o':
        integer(o, s, get_unsigned(), false, 8, false, s.alt ? "0" : nullptr);
        break;
      case 'p': {
        Spec ps = s;
        ps.plus = ps.space = false;
        integer(o, ps, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), false, 16, false, "0x");
        break;
      }
      case 'c': {
        const int fill = s.width > 1 ? s.width - 1 : 0;
        if (!s.left) o.pad(' ', fill);
        o.put(static_cast<char>(va_arg(ap, int)));
        if (s.left) o.pad(' ', fill);
        break;
      }
      case 's': {
        const char* str = va_arg(ap, const char*);
        if (str == nullptr) str = "(null)";
        int n = 0;
        while (str[n] != 0 && (s.precision < 0 || n < s.precision)) ++n;
        const int fill = s.width > n ? s.width - n : 0;
        if (!s.left) o.pad(' ', fill);
        for (int i = 0; i < n; ++i) o.put(str[i]);
        if (s.left) o.pad(' ', fill);
        break;
      }
      case '%':
        o.put('%');
        break;
      default:  // unknown or cut short: as written
        for (const char* q = start; q <= p && *q != 0; ++q) o.put(*q);
        if (*p == 0) --p;
        break;
    }
  }
  if (cap > 0) out[o.len < cap ? o.len : cap - 1] = 0;
  return o.len;
}

}  // namespace klib
