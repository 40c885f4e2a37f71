#include <gtest/gtest.h>
#include <lib/symbols.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

struct Sym {
  uint64_t address;
  uint32_t size;
  std::string name;
};

std::vector<uint8_t> make_blob(const std::vector<Sym>& syms, uint64_t anchor = 0x1000) {
  std::vector<uint8_t> strings;
  std::vector<klib::KsymsEntry> entries;
  for (const auto& s : syms) {
    entries.push_back({s.address, s.size, uint32_t(strings.size())});
    strings.insert(strings.end(), s.name.begin(), s.name.end());
    strings.push_back(0);
  }
  klib::KsymsHeader h{{'K', 'S', 'Y', 'M'}, 1, uint32_t(syms.size()), uint32_t(strings.size()), anchor};
  std::vector<uint8_t> blob(sizeof(h) + entries.size() * sizeof(klib::KsymsEntry) + strings.size());
  memcpy(blob.data(), &h, sizeof(h));
  memcpy(blob.data() + sizeof(h), entries.data(), entries.size() * sizeof(klib::KsymsEntry));
  memcpy(blob.data() + sizeof(h) + entries.size() * sizeof(klib::KsymsEntry), strings.data(), strings.size());
  return blob;
}

TEST(Symbols, FindsContainingFunctionAndOffset) {
  auto blob = make_blob({{0x1000, 0x20, "kernel_entry"}, {0x1020, 0x10, "main"}, {0x1040, 0x8, "DoDivZero(long)"}});
  klib::SymbolTable t(blob.data(), blob.size());
  ASSERT_TRUE(t.valid());
  EXPECT_EQ(t.anchor_address(), 0x1000u);
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x1025, &s));
  EXPECT_STREQ(s.name, "main");
  EXPECT_EQ(s.offset, 5u);
  ASSERT_TRUE(t.lookup(0x1000, &s));
  EXPECT_STREQ(s.name, "kernel_entry");
  ASSERT_TRUE(t.lookup(0x1047, &s));
  EXPECT_STREQ(s.name, "DoDivZero(long)");
}

TEST(Symbols, GapsAndOutOfRangeAreNotFound) {
  auto blob = make_blob({{0x1000, 0x10, "a"}, {0x1040, 0x10, "b"}});
  klib::SymbolTable t(blob.data(), blob.size());
  klib::Symbol s;
  EXPECT_FALSE(t.lookup(0xFFF, &s));
  EXPECT_FALSE(t.lookup(0x1010, &s));  // after a, before b
  EXPECT_FALSE(t.lookup(0x1050, &s));
}

TEST(Symbols, SizelessSymbolExtendsToNext) {
  auto blob = make_blob({{0x1000, 0, "asm_entry"}, {0x1100, 0x10, "c"}});
  klib::SymbolTable t(blob.data(), blob.size());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x10FF, &s));
  EXPECT_STREQ(s.name, "asm_entry");
}

TEST(Symbols, NothingPastTheEndSentinel) {
  auto blob = make_blob({{0x1000, 0, "asm_entry"}, {0x1100, 0, ""}});
  klib::SymbolTable t(blob.data(), blob.size());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x10FF, &s));
  EXPECT_FALSE(t.lookup(0x1100, &s));
  EXPECT_FALSE(t.lookup(0x7000000, &s));  // data or stack, not a function
}

TEST(Symbols, AliasesAtOneAddressPreferTheSizedOne) {
  auto blob = make_blob({{0x1000, 0, "label"}, {0x1000, 0x40, "function"}});
  klib::SymbolTable t(blob.data(), blob.size());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x1030, &s));
  EXPECT_STREQ(s.name, "function");
}

TEST(Symbols, RejectsCorruptBlobs) {
  auto blob = make_blob({{0x1000, 0x10, "a"}, {0x2000, 0x10, "b"}});
  EXPECT_FALSE(klib::SymbolTable(blob.data(), blob.size() - 1).valid());  // truncated
  EXPECT_FALSE(klib::SymbolTable(nullptr, 0).valid());
  auto bad_magic = blob;
  bad_magic[0] = 'X';
  EXPECT_FALSE(klib::SymbolTable(bad_magic.data(), bad_magic.size()).valid());
  auto unsorted = make_blob({{0x2000, 0x10, "b"}, {0x1000, 0x10, "a"}});
  EXPECT_FALSE(klib::SymbolTable(unsorted.data(), unsorted.size()).valid());
  auto unterminated = blob;
  unterminated.back() = 'z';
  EXPECT_FALSE(klib::SymbolTable(unterminated.data(), unterminated.size()).valid());
  klib::SymbolTable empty;
  klib::Symbol s;
  EXPECT_FALSE(empty.lookup(0x1000, &s));
}

}  // namespace
