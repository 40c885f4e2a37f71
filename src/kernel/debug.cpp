#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>
#include <kernel/debug.h>
#include <lib/backtrace.h>

extern "C" const char __ksyms_start[], __ksyms_end[];
extern "C" void kernel_entry(uint32_t, uint32_t);

namespace kernel {
namespace {

klib::SymbolTable g_symbols;
constexpr size_t kMaxFrames = 32;

bool readable(uint64_t address, size_t length, void*) {
  const uint64_t root = arch::read_cr3() & arch::kPageAddressMask;
  uint64_t phys;
  return arch::PageTableBuilder::translate(root, address, &phys) &&
         arch::PageTableBuilder::translate(root, address + length - 1, &phys);
}

}  // namespace

void symbols_init() {
  klib::SymbolTable table(__ksyms_start, size_t(__ksyms_end - __ksyms_start));
  // A table from another link would name the wrong functions: better none than wrong ones.
  if (table.valid() && table.anchor_address() == reinterpret_cast<uint64_t>(&kernel_entry)) g_symbols = table;
}

const klib::SymbolTable& symbols() { return g_symbols; }

void print_symbol(const klib::Sink& sink, uint64_t address) { print_symbol_at(sink, address, address); }

void print_symbol_at(const klib::Sink& sink, uint64_t address, uint64_t lookup_address) {
  klib::Symbol s;
  if (!g_symbols.lookup(lookup_address, &s)) {
    klib::put_string(sink, "??");
    return;
  }
  klib::put_string(sink, s.name);
  klib::put_string(sink, "+");
  // Short hex for offsets: "+0x1C".
  char buf[17];
  int n = 0;
  uint64_t v = address - s.address;
  do {
    buf[n++] = "0123456789ABCDEF"[v & 0xF];
    v >>= 4;
  } while (v != 0);
  klib::put_string(sink, "0x");
  while (n > 0) sink.put(sink.ctx, buf[--n]);
}

void print_backtrace(const klib::Sink& sink, uint64_t rip, uint64_t rbp) {
  uint64_t frames[kMaxFrames];
  const size_t n = klib::walk_frames(rbp, frames, kMaxFrames, readable, nullptr);
  klib::put_string(sink, "Backtrace:\r\n");
  // Return addresses point after the call: look up address - 1 so that a call ending a
  // function is attributed to that function, but print the real return address.
  for (size_t i = 0; i <= n; ++i) {
    const uint64_t address = i == 0 ? rip : frames[i - 1];
    klib::put_string(sink, "[");
    klib::put_hex16(sink, address);
    klib::put_string(sink, "] ");
    print_symbol_at(sink, address, i == 0 ? address : address - 1);
    klib::put_string(sink, "\r\n");
  }
  if (!g_symbols.valid()) klib::put_string(sink, "(no embedded symbol table: link with tools/ksyms.py)\r\n");
}

}  // namespace kernel
