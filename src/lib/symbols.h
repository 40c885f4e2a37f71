// Lookup in the symbol table that tools/ksyms.py embeds in every image (section .ksyms), so a
// fault report can print `function+0x1c` without a debugger.
//
//   klib::SymbolTable table(__ksyms_start, __ksyms_end - __ksyms_start);
//   klib::Symbol s;
//   if (table.lookup(rip, &s)) print(s.name, s.offset);
//
// Blob layout (little endian), written by tools/ksyms.py, version 5:
//   KsymsHeader;
//   the dictionary: dict_size bytes, up to kMaxTokens NUL-terminated strings;
//   `count` records sorted by address, records_size bytes in all, each:
//     the address minus the previous record's (the first: minus `base`), ULEB128;
//     one byte: bit 7 set when a size follows, bits 0-6 how many leading bytes the coded name
//     shares with the previous record's (at most kMaxShared; the first record: 0);
//     the size, ULEB128, when bit 7 says so (without it the symbol extends to the next one:
//     most functions end where the next begins);
//     the rest of the coded name, NUL-terminated. In a coded name a byte 1..kMaxTokens stands
//     for dictionary string (byte - 1): "net::tcp::", "unsigned long" and the like, which
//     demangled C++ names repeat.
// A record with an empty name marks the end of the code: addresses from there on are not in a
// function. The table is part of every image's loadable bytes: the dictionary, the varints and
// the shared prefixes (a class's methods sit side by side) take it from about 48 to 12 bytes a
// function. A lookup walks the records (a fault report makes a handful).
#pragma once

#include <cstddef>
#include <cstdint>

namespace klib {

struct KsymsHeader {
  char magic[4];     // "KSYM"
  uint32_t version;  // 5
  uint32_t count;
  uint32_t records_size;
  uint64_t anchor_address;  // address of kernel_entry when the table was made (staleness check)
  uint64_t base;            // the first record's address is relative to this
  uint32_t dict_size;       // bytes of dictionary after the header
  uint32_t reserved;
};
static_assert(sizeof(KsymsHeader) == 40);

struct Symbol {
  static constexpr size_t kMaxName = 256;  // longer names are cut (and end in "...")
  char name[kMaxName];
  uint64_t address;
  uint64_t offset;  // looked-up address - symbol address
};

class SymbolTable {
 public:
  static constexpr uint32_t kMaxTokens = 31;
  static constexpr uint32_t kMaxShared = 127;  // a coded name's prefix shared with the previous one
  static constexpr uint32_t kMaxCoded = 255;   // of a longer coded name, a lookup keeps this much
  SymbolTable() = default;
  // Validates the blob; an invalid or truncated one gives an empty table.
  SymbolTable(const void* blob, size_t size);

  bool valid() const { return records_ != nullptr; }
  size_t size() const { return count_; }
  uint64_t anchor_address() const { return anchor_; }
  // The symbol containing `address` (its name decoded into out->name), or false.
  bool lookup(uint64_t address, Symbol* out) const;

 private:
  void decode(const char* name, char* out, size_t capacity) const;

  const uint8_t* records_ = nullptr;
  const char* tokens_[kMaxTokens] = {};
  uint32_t token_count_ = 0;
  uint32_t count_ = 0;
  uint32_t records_size_ = 0;
  uint64_t anchor_ = 0;
  uint64_t base_ = 0;
};

}  // namespace klib
