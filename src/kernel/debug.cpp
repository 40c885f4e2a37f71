#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>
#include <kernel/boot.h>
#include <kernel/debug.h>
#include <lib/backtrace.h>

extern "C" const char __ksyms_start[], __ksyms_end[];
extern "C" void kernel_entry(uint32_t, uint32_t);

namespace kernel {
namespace {

klib::SymbolTable g_symbols;
constexpr size_t kMaxFrames = 32;

// Mapped and RAM: a corrupt frame pointer must not make the walk read device registers.
bool readable(uint64_t address, size_t length, void*) {
  if (address + length < address || !is_usable_ram(address, length)) return false;
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

bool is_return_address(uint64_t address) {
  klib::Symbol s;
  return address > 7 && readable(address - 7, 7, nullptr) && g_symbols.lookup(address - 1, &s) &&
         klib::follows_call_instruction(reinterpret_cast<const uint8_t*>(address - 7));
}

void print_frame(const klib::Sink& sink, uint64_t address, uint64_t lookup_address, const char* mark) {
  klib::put_string(sink, "[");
  klib::put_hex16(sink, address);
  klib::put_string(sink, "] ");
  klib::put_string(sink, mark);
  print_symbol_at(sink, address, lookup_address);
  klib::put_string(sink, "\r\n");
}

void print_backtrace(const klib::Sink& sink, uint64_t rip, uint64_t rbp, uint64_t rsp) {
  uint64_t frames[kMaxFrames];
  const size_t n = klib::walk_frames(rbp, frames, kMaxFrames, readable, nullptr);
  klib::put_string(sink, "Backtrace:\r\n");
  if (rip != 0) print_frame(sink, rip, rip, "");
  // A fault after `leave` (or in a function without a frame) leaves the caller's return address
  // at [rsp] and outside the RBP chain: show it, marked '?' as not proven by the chain.
  if (rsp != 0 && (rsp & 7) == 0 && readable(rsp, 8, nullptr)) {
    const uint64_t candidate = *reinterpret_cast<const uint64_t*>(rsp);
    if ((n == 0 || candidate != frames[0]) && is_return_address(candidate)) {
      print_frame(sink, candidate, candidate - 1, "? ");
    }
  }
  for (size_t i = 0; i < n;) {
    print_frame(sink, frames[i], frames[i] - 1, "");
    size_t same = 1;
    while (i + same < n && frames[i + same] == frames[i]) ++same;
    if (same > 1) {  // deep recursion: one line instead of a screenful
      klib::put_string(sink, "     ... the frame above repeats ");
      klib::put_unsigned(sink, same - 1);
      klib::put_string(sink, " more times\r\n");
    }
    i += same;
  }
  if (!g_symbols.valid()) klib::put_string(sink, "(no embedded symbol table: link with tools/ksyms.py)\r\n");
}

void print_backtrace(const klib::Sink& sink, uint64_t rip, uint64_t rbp) { print_backtrace(sink, rip, rbp, 0); }

}  // namespace kernel
