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

// A version-2 blob: names may hold token bytes (1..31) for the strings of `tokens`.
std::vector<uint8_t> make_blob(const std::vector<Sym>& syms, uint64_t anchor = 0x1000,
                               const std::vector<std::string>& tokens = {}) {
  std::vector<uint8_t> dict;
  for (const auto& t : tokens) {
    dict.insert(dict.end(), t.begin(), t.end());
    dict.push_back(0);
  }
  while (dict.size() % 4 != 0) dict.push_back(0);
  uint64_t base = syms.empty() ? 0 : syms[0].address;
  for (const auto& s : syms) base = s.address < base ? s.address : base;
  std::vector<uint8_t> strings;
  std::vector<klib::KsymsEntry> entries;
  for (const auto& s : syms) {
    entries.push_back({uint32_t(s.address - base), s.size, uint32_t(strings.size())});
    strings.insert(strings.end(), s.name.begin(), s.name.end());
    strings.push_back(0);
  }
  klib::KsymsHeader h{{'K', 'S', 'Y', 'M'},  2, uint32_t(syms.size()), uint32_t(strings.size()), anchor, base,
                      uint32_t(dict.size()), 0};
  std::vector<uint8_t> blob(sizeof(h));
  memcpy(blob.data(), &h, sizeof(h));
  blob.insert(blob.end(), dict.begin(), dict.end());
  const auto* e = reinterpret_cast<const uint8_t*>(entries.data());
  blob.insert(blob.end(), e, e + entries.size() * sizeof(klib::KsymsEntry));
  blob.insert(blob.end(), strings.begin(), strings.end());
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

// Dictionary strings: byte k of a name stands for token k - 1 (tools/ksyms.py picks them).
TEST(Symbols, NamesWithDictionaryTokens) {
  auto blob = make_blob({{0x1000, 0x20, "\x01Tcp::tick()"}, {0x1020, 0x20, "\x01Tcp::send(\x02, \x02)"}}, 0x1000,
                        {"net::tcp::", "unsigned long"});
  klib::SymbolTable t(blob.data(), blob.size());
  ASSERT_TRUE(t.valid());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x1001, &s));
  EXPECT_STREQ(s.name, "net::tcp::Tcp::tick()");
  ASSERT_TRUE(t.lookup(0x1030, &s));
  EXPECT_STREQ(s.name, "net::tcp::Tcp::send(unsigned long, unsigned long)");
  EXPECT_EQ(s.address, 0x1020u);
  EXPECT_EQ(s.offset, 0x10u);
}

TEST(Symbols, LongNamesAreCutWithAnEllipsis) {
  std::string name;
  for (int i = 0; i < 40; ++i) name += "\x01";  // 40 x 10 characters
  auto blob = make_blob({{0x1000, 0x20, name}}, 0x1000, {"abcdefghij"});
  klib::SymbolTable t(blob.data(), blob.size());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x1000, &s));
  const std::string got = s.name;
  EXPECT_LT(got.size(), klib::Symbol::kMaxName);
  EXPECT_EQ(got.substr(got.size() - 3), "...");
  EXPECT_EQ(got.substr(0, 20), "abcdefghijabcdefghij");
}

TEST(Symbols, RejectsTokensTheDictionaryLacks) {
  auto blob = make_blob({{0x1000, 0x20, "\x02x"}}, 0x1000, {"only one"});
  EXPECT_FALSE(klib::SymbolTable(blob.data(), blob.size()).valid());
  auto nested = make_blob({{0x1000, 0x20, "\x01"}}, 0x1000, {"a\x01b"});  // tokens are plain text
  EXPECT_FALSE(klib::SymbolTable(nested.data(), nested.size()).valid());
}

}  // namespace
