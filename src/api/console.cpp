#include <kernel/console.h>
#include <toro/console.h>

namespace toro::detail {
void console_write(const char* fmt, const klib::Arg* args, size_t count) { kernel::console_write(fmt, args, count); }
}  // namespace toro::detail

void PrintDecimal(PtrUInt Value) { kernel::printk("%d", Value); }

void PutCtoSerial(XChar C) { kernel::printk("%c", C); }
