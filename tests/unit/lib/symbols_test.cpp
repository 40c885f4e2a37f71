#include <gtest/gtest.h>
#include <lib/symbols.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Sym {
  uint64_t address;
  uint32_t size;
  std::string name;
};

void put_uleb(std::vector<uint8_t>* out, uint64_t v) {
  do {
    const uint8_t b = v & 0x7F;
    v >>= 7;
    out->push_back(uint8_t(b | (v != 0 ? 0x80 : 0)));
  } while (v != 0);
}

// A version-5 blob (symbols sorted by address): names may hold token bytes (1..31) for the
// strings of `tokens`; each name is stored as the prefix it shares with the previous one (at
// most kMaxShared bytes) and the rest, as tools/ksyms.py writes them.
std::vector<uint8_t> make_blob(const std::vector<Sym>& syms, uint64_t anchor = 0x1000,
                               const std::vector<std::string>& tokens = {}) {
  std::vector<uint8_t> dict;
  for (const auto& t : tokens) {
    dict.insert(dict.end(), t.begin(), t.end());
    dict.push_back(0);
  }
  while (dict.size() % 4 != 0) dict.push_back(0);
  const uint64_t base = syms.empty() ? 0 : syms[0].address;
  std::vector<uint8_t> records;
  uint64_t previous = base;
  std::string previous_name;
  for (const auto& s : syms) {
    put_uleb(&records, s.address - previous);
    size_t shared = 0;
    while (shared < std::min({s.name.size(), previous_name.size(), size_t(klib::SymbolTable::kMaxShared)}) &&
           s.name[shared] == previous_name[shared]) {
      ++shared;
    }
    records.push_back(uint8_t(shared | (s.size != 0 ? 0x80 : 0)));
    if (s.size != 0) put_uleb(&records, s.size);
    records.insert(records.end(), s.name.begin() + long(shared), s.name.end());
    records.push_back(0);
    previous = s.address;
    previous_name = s.name;
  }
  klib::KsymsHeader h{{'K', 'S', 'Y', 'M'},  5, uint32_t(syms.size()), uint32_t(records.size()), anchor, base,
                      uint32_t(dict.size()), 0};
  std::vector<uint8_t> blob(sizeof(h));
  memcpy(blob.data(), &h, sizeof(h));
  blob.insert(blob.end(), dict.begin(), dict.end());
  blob.insert(blob.end(), records.begin(), records.end());
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
  auto wrapping = make_blob({{0x1000, 0x10, "a"}, {0x1000 - 1, 0x10, "b"}});  // a delta past 2^64
  EXPECT_FALSE(klib::SymbolTable(wrapping.data(), wrapping.size()).valid());
  auto endless = blob;  // a varint that never ends: every byte has its high bit
  for (size_t i = sizeof(klib::KsymsHeader); i < endless.size(); ++i) endless[i] = 0xFF;
  EXPECT_FALSE(klib::SymbolTable(endless.data(), endless.size()).valid());
  auto extra = blob;  // a byte past the last record, counted in records_size
  extra.push_back(0);
  reinterpret_cast<klib::KsymsHeader*>(extra.data())->records_size += 1;
  EXPECT_FALSE(klib::SymbolTable(extra.data(), extra.size()).valid());
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

TEST(Symbols, ManySymbolsAndLargeGaps) {
  std::vector<Sym> syms;
  for (uint64_t i = 0; i < 1000; ++i)
    syms.push_back({0x100000 + i * i * 16, uint32_t(i % 3 == 0 ? 0 : 8), "f" + std::to_string(i)});
  auto blob = make_blob(syms);
  klib::SymbolTable t(blob.data(), blob.size());
  ASSERT_TRUE(t.valid());
  EXPECT_EQ(t.size(), 1000u);
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x100000 + 999 * 999 * 16 + 7, &s));
  EXPECT_STREQ(s.name, "f999");
  ASSERT_TRUE(t.lookup(0x100000 + 300 * 300 * 16 + 100, &s));  // f300 has no size: it runs to f301
  EXPECT_STREQ(s.name, "f300");
  EXPECT_FALSE(t.lookup(0x100000 + 301 * 301 * 16 + 8, &s));  // past f301's 8 bytes
}

// Names stored as the prefix shared with the previous record's and the rest (version 4).
TEST(Symbols, SharedPrefixes) {
  auto blob = make_blob({{0x1000, 0, "net::tcp::Connection::input"},
                         {0x1100, 0, "net::tcp::Connection::input_syn_sent"},
                         {0x1200, 0, "net::tcp::Connection::output"},
                         {0x1300, 0, "net::tcp::Tcp::tick"},
                         {0x1400, 0, "main"},
                         {0x1500, 0, "main2"},
                         {0x1600, 0, ""}});
  klib::SymbolTable t(blob.data(), blob.size());
  ASSERT_TRUE(t.valid());
  const char* want[] = {"net::tcp::Connection::input",
                        "net::tcp::Connection::input_syn_sent",
                        "net::tcp::Connection::output",
                        "net::tcp::Tcp::tick",
                        "main",
                        "main2"};
  klib::Symbol s;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(t.lookup(0x1000 + uint64_t(i) * 0x100 + 4, &s)) << i;
    EXPECT_STREQ(s.name, want[i]);
  }
  EXPECT_FALSE(t.lookup(0x1600, &s));  // the end-of-code sentinel
  // A record that claims more shared bytes than the previous name has is corrupt.
  auto bad = make_blob({{0x1000, 0, "ab"}, {0x1100, 0, "c"}});
  const size_t second = sizeof(klib::KsymsHeader) + 1 + 1 + 3;  // header, delta, shared, "ab\0"
  const size_t shared = second + 2;                             // after the delta 0x100 (2 bytes)
  ASSERT_EQ(bad[shared], 0);
  ASSERT_EQ(bad[shared + 1], 'c');
  bad[shared] = 3;
  EXPECT_FALSE(klib::SymbolTable(bad.data(), bad.size()).valid());
}

// A coded name longer than kMaxShared bytes: the next record shares at most kMaxShared of it,
// and the long one itself decodes to its first bytes and an ellipsis.
TEST(Symbols, SharedPrefixOfALongName) {
  const std::string long_name(300, 'x');
  auto blob = make_blob({{0x1000, 0x10, long_name}, {0x1010, 0x10, long_name + "y"}, {0x1020, 0x10, "z"}});
  klib::SymbolTable t(blob.data(), blob.size());
  ASSERT_TRUE(t.valid());
  klib::Symbol s;
  ASSERT_TRUE(t.lookup(0x1014, &s));
  const std::string got = s.name;
  EXPECT_EQ(got.substr(got.size() - 3), "...");
  EXPECT_EQ(got.substr(0, 200), std::string(200, 'x'));
  ASSERT_TRUE(t.lookup(0x1020, &s));
  EXPECT_STREQ(s.name, "z");
}

TEST(Symbols, RejectsTokensTheDictionaryLacks) {
  auto blob = make_blob({{0x1000, 0x20, "\x02x"}}, 0x1000, {"only one"});
  EXPECT_FALSE(klib::SymbolTable(blob.data(), blob.size()).valid());
  auto nested = make_blob({{0x1000, 0x20, "\x01"}}, 0x1000, {"a\x01b"});  // tokens are plain text
  EXPECT_FALSE(klib::SymbolTable(nested.data(), nested.size()).valid());
}

}  // namespace
