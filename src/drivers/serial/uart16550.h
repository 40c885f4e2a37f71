// 16550 UART in polled mode (the console on COM1).
//
//   drivers::Uart16550 com1(drivers::kCom1);
//   com1.init();          // 115200 8N1, FIFOs on, interrupts off
//   com1.put('A');
//   com1.flush();         // wait until the shift register is empty (Bochs models baud timing)
#pragma once

#include <cstdint>

namespace drivers {

constexpr uint16_t kCom1 = 0x3F8;

class Uart16550 {
 public:
  explicit constexpr Uart16550(uint16_t base) : base_(base) {}
  void init();
  void put(char c);
  void flush();
  // An interrupt for every byte received (the FIFO's trigger at one byte; OUT2 gates the UART's
  // interrupt onto its ISA line): the gdb stub's Ctrl-C.
  void enable_rx_interrupt();
  // A received character, if one is waiting (polled; false otherwise).
  bool try_get(char* c) const;

 private:
  uint16_t base_;
};

}  // namespace drivers
