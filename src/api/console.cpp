#include <drivers/serial/uart16550.h>
#include <kernel/console.h>
#include <sched/scheduler.h>
#include <toro/console.h>

Byte Color = 10;

namespace toro::detail {
// Weak: headless.cpp's, linked with HeadLess, checks the flag first.
[[gnu::weak]] void console_write(const char* fmt, const klib::Arg* args, size_t count) {
  kernel::console_write(fmt, args, count);
}
}  // namespace toro::detail

void PrintDecimal(PtrUInt Value) { kernel::printk("%d", Value); }

void PutCtoSerial(XChar C) { kernel::printk("%c", C); }

void FlushUp() { kernel::printk("\n"); }

void ReadFromSerial(XChar& C) {
  const drivers::Uart16550 com1(drivers::kCom1);
  char c;
  while (!com1.try_get(&c)) sched::yield();
  C = c;
}
