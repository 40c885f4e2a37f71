// A program for the in-guest gdb stub's tests (tests/vm/gdbstubtest.py): gdb stops it at main,
// breaks in Square, reads a local, watches g_counter, steps, and detaches; the program then
// runs to its end and says what it computed.
#include <toro.h>

volatile int g_counter = 0;

[[gnu::noinline]] int Square(int x) {
  const int y = x * x;
  g_counter = g_counter + y;
  return y;
}

int main() {
  int total = 0;
  for (int i = 1; i <= 3; ++i) total += Square(i);
  WriteConsoleF("GdbStub: total %d, counter %d\n", total, g_counter);
  return total == 14 && g_counter == 14 ? 0 : 1;
}
