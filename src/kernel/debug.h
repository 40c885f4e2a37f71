// Symbolised backtraces from the symbol table embedded in the image (.ksyms).
//
//   kernel::print_backtrace(kernel::console_sink(), frame.rip, frame.rbp);
//   // [0x0000000000101A2C] divide_by_zero()+0x1C
#pragma once

#include <lib/format.h>
#include <lib/symbols.h>

#include <cstdint>

namespace kernel {

// Checks the embedded table (magic, bounds, and that it was made for this very link).
void symbols_init();
const klib::SymbolTable& symbols();
// One line per frame: `rip` first (unless 0), then the return addresses of the RBP chain.
void print_backtrace(const klib::Sink& sink, uint64_t rip, uint64_t rbp);
// Same, and also considers the word at `rsp` (the faulting frame's stack pointer).
void print_backtrace(const klib::Sink& sink, uint64_t rip, uint64_t rbp, uint64_t rsp);
// "name+0xOFF" or "??".
void print_symbol(const klib::Sink& sink, uint64_t address);
// Same, naming the symbol that contains `lookup_address` but printing the offset of `address`.
void print_symbol_at(const klib::Sink& sink, uint64_t address, uint64_t lookup_address);

}  // namespace kernel
