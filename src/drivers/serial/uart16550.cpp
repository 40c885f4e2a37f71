// Register offsets and bits: PC16550D datasheet (National Semiconductor), table 2.
#include <arch/x86_64/cpu.h>
#include <drivers/serial/uart16550.h>

namespace drivers {
namespace {
constexpr uint16_t kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr uint8_t kLsrDataReady = 1 << 0, kLsrThrEmpty = 1 << 5, kLsrTransmitterEmpty = 1 << 6;
// A missing or wedged UART must not hang the kernel: give up on a character after this many polls.
constexpr int kMaxPolls = 1 << 20;
}  // namespace

void Uart16550::init() {
  arch::outb(base_ + kIer, 0x00);  // no interrupts
  arch::outb(base_ + kLcr, 0x80);  // DLAB: divisor follows
  arch::outb(base_ + kData, 1);    // 115200 baud
  arch::outb(base_ + kIer, 0);
  arch::outb(base_ + kLcr, 0x03);  // 8N1
  arch::outb(base_ + kFcr, 0xC7);  // FIFO on, clear, 14-byte threshold
  arch::outb(base_ + kMcr, 0x03);  // DTR, RTS
}

void Uart16550::enable_rx_interrupt() {
  arch::outb(base_ + kFcr, 0x07);  // FIFO on, clear, trigger at 1 byte
  arch::outb(base_ + kMcr, 0x0B);  // DTR, RTS, OUT2
  arch::outb(base_ + kIer, 0x01);  // received data available
}

void Uart16550::put(char c) {
  for (int i = 0; i < kMaxPolls && !(arch::inb(base_ + kLsr) & kLsrThrEmpty); ++i) arch::cpu_relax();
  arch::outb(base_ + kData, uint8_t(c));
}

void Uart16550::flush() {
  for (int i = 0; i < kMaxPolls && !(arch::inb(base_ + kLsr) & kLsrTransmitterEmpty); ++i) arch::cpu_relax();
}

bool Uart16550::try_get(char* c) const {
  if (!(arch::inb(base_ + kLsr) & kLsrDataReady)) return false;
  *c = char(arch::inb(base_ + kData));
  return true;
}

}  // namespace drivers
