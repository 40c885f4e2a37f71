#include <lib/format.h>

namespace klib {

void put_string(const Sink& sink, const char* s) {
  if (s == nullptr) s = "(null)";
  while (*s) sink.put(sink.ctx, *s++);
}

void put_unsigned(const Sink& sink, uint64_t value) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = char('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) sink.put(sink.ctx, buf[--n]);
}

void put_hex16(const Sink& sink, uint64_t value) {
  static const char kDigits[] = "0123456789ABCDEF";
  sink.put(sink.ctx, '0');
  sink.put(sink.ctx, 'x');
  for (int shift = 60; shift >= 0; shift -= 4) sink.put(sink.ctx, kDigits[(value >> shift) & 0xF]);
}

namespace {

void put_two_digits(const Sink& sink, int v) {
  sink.put(sink.ctx, char('0' + (v / 10) % 10));
  sink.put(sink.ctx, char('0' + v % 10));
}

void put_timestamp(const Sink& sink) {
  DateTime t{1970, 1, 1, 0, 0, 0};
  if (sink.now != nullptr) sink.now(&t);
  put_two_digits(sink, t.day);
  sink.put(sink.ctx, '/');
  put_two_digits(sink, t.month);
  sink.put(sink.ctx, '/');
  put_two_digits(sink, t.year / 100);
  put_two_digits(sink, t.year % 100);
  sink.put(sink.ctx, '-');
  put_two_digits(sink, t.hour);
  sink.put(sink.ctx, ':');
  put_two_digits(sink, t.minute);
  sink.put(sink.ctx, ':');
  put_two_digits(sink, t.second);
}

void put_number(const Sink& sink, const Arg& a) {
  if (a.kind == ArgKind::kSigned && a.i < 0) {
    sink.put(sink.ctx, '-');
    put_unsigned(sink, uint64_t(0) - a.u);
  } else {
    put_unsigned(sink, a.u);
  }
}

void put_text(const Sink& sink, const Arg& a) {
  if (a.kind == ArgKind::kString || (a.kind == ArgKind::kPointer && a.p == nullptr)) {
    put_string(sink, a.s);
  } else {
    // Only reachable through RuntimeFormat: never dereference an integer as a string.
    put_string(sink, "(not a string)");
  }
}

}  // namespace

void format(const Sink& sink, const char* fmt, const Arg* args, size_t arg_count) {
  size_t next = 0;
  for (const char* f = fmt; *f; ++f) {
    const char c = *f;
    if (c == '%' && next < arg_count) {
      const char conv = f[1];
      if (conv == 0) break;  // a lone '%' at the end prints nothing
      ++f;
      switch (conv) {
        case 'd':
          put_number(sink, args[next++]);
          break;
        case 'h':
          put_hex16(sink, args[next++].u);
          break;
        case 's':
          put_text(sink, args[next++]);
          break;
        case 'p':
          if (args[next].kind == ArgKind::kPointer && args[next].p != nullptr) {
            put_hex16(sink, args[next++].u);  // not a C string: show the address
          } else {
            put_text(sink, args[next++]);
          }
          break;
        case 'c':
          sink.put(sink.ctx, char(args[next++].u));
          break;
        case '%':
          sink.put(sink.ctx, '%');
          ++next;  // Toro's quirk: %% consumes an argument slot
          break;
        default:
          break;  // '%' + unknown character: both swallowed, no argument consumed
      }
      continue;
    }
    switch (c) {
      case '\n':
        sink.put(sink.ctx, '\r');
        sink.put(sink.ctx, '\n');
        break;
      case '\t':
        put_timestamp(sink);
        break;
      case '\v':
        for (int i = 0; i < 9; ++i) sink.put(sink.ctx, ' ');
        break;
      default:
        sink.put(sink.ctx, c);
    }
  }
}

}  // namespace klib
