#include <arch/x86_64/boot_info.h>
#include <arch/x86_64/boot_protocol.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

struct E820 {
  uint64_t base, length;
  uint32_t type, attr;
};
static_assert(sizeof(E820) == 24);

template <typename T>
void put(std::vector<uint8_t>& v, size_t off, T value) {
  if (v.size() < off + sizeof(T)) v.resize(off + sizeof(T));
  memcpy(v.data() + off, &value, sizeof(T));
}

TEST(MemoryMap, SanitizeSortsMergesAndCutsOverlaps) {
  arch::MemoryMap m;
  m.add(0x100000, 0x7F00000, 1);  // 1 MiB .. 128 MiB usable
  m.add(0, 0x9FC00, 1);
  m.add(0x9FC00, 0x400, 2);
  m.add(0x2000000, 0x100000, 2);   // a reserved hole inside the usable range
  m.add(0x8000000, 0x1000000, 1);  // touches the first usable range: merged
  m.sanitize();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].base, 0u);
  EXPECT_EQ(m[1].base, 0x9FC00u);
  EXPECT_EQ(m[2].base, 0x100000u);
  EXPECT_EQ(m[2].end(), 0x2000000u);
  EXPECT_EQ(m[3].base, 0x2000000u);
  EXPECT_FALSE(m[3].usable());
  EXPECT_EQ(m[4].base, 0x2100000u);
  EXPECT_EQ(m[4].end(), 0x9000000u);
  EXPECT_EQ(m.usable_bytes(), 0x9FC00u + (0x2000000u - 0x100000u) + (0x9000000u - 0x2100000u));
  EXPECT_EQ(m.highest_usable_end(), 0x9000000u);
}

TEST(MemoryMap, ReservedSwallowsOrTrimsUsable) {
  arch::MemoryMap m;
  m.add(0x1000, 0x1000, 1);
  m.add(0x0, 0x10000, 2);  // swallows it
  m.add(0x20000, 0x10000, 1);
  m.add(0x28000, 0x10000, 2);  // trims its tail
  m.sanitize();
  EXPECT_EQ(m.usable_bytes(), 0x8000u);
}

TEST(MemoryMap, FullMapReportsOverflowAndZeroLengthIsDropped) {
  arch::MemoryMap m;
  EXPECT_FALSE(m.add(0, 0, 1));
  for (size_t i = 0; i < arch::MemoryMap::kMaxRegions; ++i) EXPECT_TRUE(m.add(i * 0x2000, 0x1000, 1));
  EXPECT_FALSE(m.add(0x1000000, 0x1000, 1));
  EXPECT_TRUE(m.overflowed());
}

TEST(BootInfo, PvhStartInfo) {
  static const char cmdline[] = "pagefault,debug";
  std::vector<E820> map = {{0, 0x9FC00, 1, 0}, {0xF0000, 0x10000, 2, 0}, {0x100000, 0x7EE0000, 1, 0}};
  std::vector<uint8_t> si(56);
  put<uint32_t>(si, 0, 0x336EC578);
  put<uint32_t>(si, 4, 1);
  put<uint64_t>(si, 24, reinterpret_cast<uint64_t>(cmdline));
  put<uint64_t>(si, 32, 0xF5000);
  put<uint64_t>(si, 40, reinterpret_cast<uint64_t>(map.data()));
  put<uint32_t>(si, 48, uint32_t(map.size()));
  static arch::BootInfo info;
  ASSERT_TRUE(arch::parse_boot_info(BOOT_MAGIC_PVH, si.data(), &info));
  EXPECT_EQ(info.protocol, arch::BootProtocol::kPvh);
  EXPECT_STREQ(info.cmdline, "pagefault,debug");
  EXPECT_EQ(info.rsdp, 0xF5000u);
  ASSERT_EQ(info.memory.size(), 3u);
  EXPECT_EQ(info.memory.usable_bytes(), 0x9FC00u + 0x7EE0000u);
}

TEST(BootInfo, LongCommandLineIsCutAndFlagged) {
  static std::string long_line(3000, 'x');
  std::vector<uint8_t> si(56);
  put<uint32_t>(si, 0, 0x336EC578);
  put<uint64_t>(si, 24, reinterpret_cast<uint64_t>(long_line.c_str()));
  static arch::BootInfo info;
  ASSERT_TRUE(arch::parse_boot_info(BOOT_MAGIC_PVH, si.data(), &info));
  EXPECT_TRUE(info.cmdline_truncated);
  EXPECT_EQ(strlen(info.cmdline), arch::BootInfo::kMaxCmdline);
}

TEST(BootInfo, PvhWithBadMagicIsRejected) {
  std::vector<uint8_t> si(56);
  static arch::BootInfo info;
  EXPECT_FALSE(arch::parse_boot_info(BOOT_MAGIC_PVH, si.data(), &info));
  EXPECT_EQ(info.protocol, arch::BootProtocol::kUnknown);
  EXPECT_FALSE(arch::parse_boot_info(0x12345678, si.data(), &info));
  EXPECT_FALSE(arch::parse_boot_info(BOOT_MAGIC_PVH, nullptr, &info));
}

TEST(BootInfo, Multiboot2CommandLineAndMemoryMap) {
  std::vector<uint8_t> mb;
  size_t off = 8;
  // Tag 1: command line.
  const char cmd[] = "hello world";
  put<uint32_t>(mb, off, 1);
  put<uint32_t>(mb, off + 4, uint32_t(8 + sizeof(cmd)));
  mb.resize(off + 8 + sizeof(cmd));
  memcpy(mb.data() + off + 8, cmd, sizeof(cmd));
  off = (off + 8 + sizeof(cmd) + 7) & ~size_t(7);
  // Tag 6: memory map with 24-byte entries.
  E820 entries[2] = {{0, 0x9F000, 1, 0}, {0x100000, 0x1F00000, 1, 0}};
  put<uint32_t>(mb, off, 6);
  put<uint32_t>(mb, off + 4, 16 + sizeof(entries));
  put<uint32_t>(mb, off + 8, 24);
  put<uint32_t>(mb, off + 12, 0);
  mb.resize(off + 16 + sizeof(entries));
  memcpy(mb.data() + off + 16, entries, sizeof(entries));
  off += 16 + sizeof(entries);
  // End tag.
  put<uint32_t>(mb, off, 0);
  put<uint32_t>(mb, off + 4, 8);
  off += 8;
  put<uint32_t>(mb, 0, uint32_t(off));
  static arch::BootInfo info;
  ASSERT_TRUE(arch::parse_boot_info(BOOT_MAGIC_MULTIBOOT2, mb.data(), &info));
  EXPECT_EQ(info.protocol, arch::BootProtocol::kMultiboot2);
  EXPECT_STREQ(info.cmdline, "hello world");
  EXPECT_EQ(info.memory.usable_bytes(), 0x9F000u + 0x1F00000u);
}

TEST(BootInfo, Multiboot2WithLyingTagSizeStopsCleanly) {
  std::vector<uint8_t> mb(32);
  put<uint32_t>(mb, 0, 32);
  put<uint32_t>(mb, 8, 6);
  put<uint32_t>(mb, 12, 4000);  // runs past total_size
  static arch::BootInfo info;
  ASSERT_TRUE(arch::parse_boot_info(BOOT_MAGIC_MULTIBOOT2, mb.data(), &info));
  EXPECT_EQ(info.memory.size(), 0u);
}

TEST(BootInfo, BochsE820Table) {
  std::vector<uint8_t> t(8);
  E820 e[3] = {{0, 0x9F000, 1, 1}, {0xE8000, 0x18000, 2, 1}, {0x100000, 0x7F00000, 1, 1}};
  put<uint32_t>(t, 0, 3);
  t.resize(8 + sizeof(e));
  memcpy(t.data() + 8, e, sizeof(e));
  static arch::BootInfo info;
  ASSERT_TRUE(arch::parse_boot_info(BOOT_MAGIC_BOCHS, t.data(), &info));
  EXPECT_EQ(info.protocol, arch::BootProtocol::kBochs);
  EXPECT_EQ(info.memory.size(), 3u);
  EXPECT_EQ(info.cmdline[0], 0);
  put<uint32_t>(t, 0, 1000);  // absurd count
  EXPECT_FALSE(arch::parse_boot_info(BOOT_MAGIC_BOCHS, t.data(), &info));
}

}  // namespace
