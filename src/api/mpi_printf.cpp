// printf for C programs (ToroMpi.h), in a file of its own: a program that defines its own
// printf (as Toro's C examples did) keeps it, since nothing pulls this object from libtoro.a.
#include <ToroMpi.h>
#include <kernel/console.h>
#include <lib/cprintf.h>

extern "C" int printf(const char* format, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, format);
  const size_t n = klib::cformat(buf, sizeof buf, format, ap);
  va_end(ap);
  kernel::printk("%p", buf);                     // one piece under the console lock
  if (n >= sizeof buf) kernel::printk("...\n");  // cut: say so
  return int(n);
}
