// HeadLess in an object of its own: naming it (or EnabledConsole / DisabledConsole) links this
// console_write, which replaces console.cpp's weak one with one that checks the flag; a program
// that does not carries no check.
#include <kernel/console.h>
#include <toro/console.h>

Boolean HeadLess = false;

namespace toro::detail {
void console_write(const char* fmt, const klib::Arg* args, size_t count) {
  if (HeadLess) return;
  kernel::console_write(fmt, args, count);
}
}  // namespace toro::detail

void EnabledConsole() { HeadLess = false; }

void DisabledConsole() { HeadLess = true; }
