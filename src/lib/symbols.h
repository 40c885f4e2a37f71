// Lookup in the symbol table that tools/ksyms.py embeds in every image (section .ksyms), so a
// fault report can print `function+0x1c` without a debugger.
//
//   klib::SymbolTable table(__ksyms_start, __ksyms_end - __ksyms_start);
//   if (auto s = table.lookup(rip)) print(s->name, s->offset);
//
// Blob layout (little endian), written by tools/ksyms.py:
//   KsymsHeader, then `count` KsymsEntry sorted by address, then NUL-terminated names. An entry
//   with an empty name marks the end of the code: addresses from there on are not in a function.
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

struct KsymsHeader {
  char magic[4];     // "KSYM"
  uint32_t version;  // 1
  uint32_t count;
  uint32_t strings_size;
  uint64_t anchor_address;  // address of kernel_entry when the table was made (staleness check)
};
static_assert(sizeof(KsymsHeader) == 24);

struct KsymsEntry {
  uint64_t address;
  uint32_t size;  // 0 when unknown: the symbol then extends to the next one
  uint32_t name_offset;
};
static_assert(sizeof(KsymsEntry) == 16);

struct Symbol {
  const char* name;
  uint64_t address;
  uint64_t offset;  // looked-up address - symbol address
};

class SymbolTable {
 public:
  SymbolTable() = default;
  // Validates the blob; an invalid or truncated one gives an empty table.
  SymbolTable(const void* blob, size_t size);

  bool valid() const { return entries_ != nullptr; }
  size_t size() const { return count_; }
  uint64_t anchor_address() const { return anchor_; }
  // The symbol containing `address`, or false.
  bool lookup(uint64_t address, Symbol* out) const;

 private:
  const KsymsEntry* entries_ = nullptr;
  const char* strings_ = nullptr;
  uint32_t count_ = 0;
  uint32_t strings_size_ = 0;
  uint64_t anchor_ = 0;
};

}  // namespace klib
