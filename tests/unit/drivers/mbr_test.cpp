// MBR parsing on real bytes: tables sfdisk writes (run here, on an image file), a FAT boot
// sector mkfs.fat writes on a whole image (no table), and handcrafted implausible tables; and
// Toro's minor numbers for virtio-blk and ATA.
#include <drivers/block/mbr.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using drivers::mbr::MinorScheme;
using drivers::mbr::Table;
using drivers::mbr::Volume;

constexpr uint64_t kDiskSectors = 20480;  // 10 MiB

// An image file of kDiskSectors zero sectors, removed with the object.
struct Image {
  std::string path;
  Image() {
    char name[] = "/tmp/mbr_test_XXXXXX";
    const int fd = mkstemp(name);
    path = name;
    if (fd >= 0) {
      EXPECT_EQ(ftruncate(fd, off_t(kDiskSectors * 512)), 0);
      close(fd);
    }
  }
  ~Image() { unlink(path.c_str()); }
  // Runs `command` with {} replaced by the image's path; false if it failed or is missing.
  bool run(std::string command) const {
    command.replace(command.find("{}"), 2, path);
    return system((command + " >/dev/null 2>&1").c_str()) == 0;
  }
  std::vector<uint8_t> sector0() const {
    std::vector<uint8_t> s(512);
    FILE* f = fopen(path.c_str(), "rb");
    EXPECT_NE(f, nullptr);
    if (f != nullptr) {
      EXPECT_EQ(fread(s.data(), 1, 512, f), 512u);
      fclose(f);
    }
    return s;
  }
};

bool have(const char* tool) {
  return system((std::string("command -v ") + tool + " >/dev/null 2>&1 || test -x /sbin/" + tool).c_str()) == 0;
}
std::string sbin(const char* tool) { return std::string("PATH=$PATH:/sbin:/usr/sbin ") + tool; }

TEST(Mbr, TableWrittenBySfdisk) {
  if (!have("sfdisk")) GTEST_SKIP() << "no sfdisk";
  Image image;
  // Three partitions: FAT16 (0x06) from 2048, Linux (0x83) after it, an empty slot, FAT32 LBA (0x0C).
  ASSERT_TRUE(image.run("printf 'label: dos\\n2048,8192,6,*\\n10240,4096,83\\n14336,,c\\n' | " + sbin("sfdisk") +
                        " --no-reread --no-tell-kernel {}"));
  const std::vector<uint8_t> s = image.sector0();
  const Table t = drivers::mbr::parse(s.data(), kDiskSectors);
  ASSERT_TRUE(t.present);
  EXPECT_EQ(t.slot[0].type, 0x06);
  EXPECT_TRUE(t.slot[0].boot);
  EXPECT_EQ(t.slot[0].first_lba, 2048u);
  EXPECT_EQ(t.slot[0].sectors, 8192u);
  EXPECT_EQ(t.slot[1].type, 0x83);
  EXPECT_EQ(t.slot[1].first_lba, 10240u);
  EXPECT_EQ(t.slot[1].sectors, 4096u);
  EXPECT_EQ(t.slot[2].type, 0x0C);
  EXPECT_EQ(t.slot[2].first_lba, 14336u);
  EXPECT_EQ(t.slot[2].sectors, kDiskSectors - 14336);
  EXPECT_EQ(t.slot[3].type, 0);
  // virtio-blk: minor = slot, no whole-disk minor.
  Volume v[drivers::mbr::kMaxVolumes];
  ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kPerSlot, 0, kDiskSectors, v), 3u);
  EXPECT_EQ(v[0].minor, 0u);
  EXPECT_EQ(v[1].minor, 1u);
  EXPECT_EQ(v[2].minor, 2u);
  EXPECT_EQ(v[2].first_lba, 14336u);
  // ATA slave (drive 1): 5 = the whole disk, 6.. = its slots.
  ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kAta, 1, kDiskSectors, v), 4u);
  EXPECT_EQ(v[0].minor, 5u);
  EXPECT_EQ(v[0].first_lba, 0u);
  EXPECT_EQ(v[0].sectors, kDiskSectors);
  EXPECT_EQ(v[1].minor, 6u);
  EXPECT_EQ(v[2].minor, 7u);
  EXPECT_EQ(v[3].minor, 8u);
  EXPECT_EQ(v[3].type, 0x0C);
  // The same table on a smaller disk reaches past its end: no table.
  EXPECT_FALSE(drivers::mbr::parse(s.data(), kDiskSectors - 1).present);
}

TEST(Mbr, WholeDiskFatBootSectorIsNoTable) {
  if (!have("mkfs.fat")) GTEST_SKIP() << "no mkfs.fat";
  for (const char* fat : {"12", "16", "32"}) {
    Image image;
    ASSERT_TRUE(image.run(sbin("mkfs.fat") + " -F " + fat + " {}")) << fat;
    const std::vector<uint8_t> s = image.sector0();
    ASSERT_EQ(s[510], 0x55);  // the signature is there, and the boot code lies where entries would
    EXPECT_TRUE(drivers::mbr::is_volume_boot_sector(s.data())) << fat;
    const Table t = drivers::mbr::parse(s.data(), kDiskSectors);
    EXPECT_FALSE(t.present) << fat;
    Volume v[drivers::mbr::kMaxVolumes];
    ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kPerSlot, 0, kDiskSectors, v), 1u);
    EXPECT_EQ(v[0].minor, 0u);  // the whole disk is minor 0
    EXPECT_EQ(v[0].first_lba, 0u);
    EXPECT_EQ(v[0].sectors, kDiskSectors);
    ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kAta, 0, kDiskSectors, v), 1u);
    EXPECT_EQ(v[0].minor, 0u);
  }
}

// A handcrafted sector: signature and the given entries {boot, type, first, count}.
struct Entry {
  uint8_t boot, type;
  uint32_t first, count;
};
std::vector<uint8_t> table(std::initializer_list<Entry> entries) {
  std::vector<uint8_t> s(512);
  s[510] = 0x55;
  s[511] = 0xAA;
  size_t i = 0;
  for (const Entry& e : entries) {
    uint8_t* p = &s[446 + 16 * i++];
    p[0] = e.boot;
    p[4] = e.type;
    memcpy(p + 8, &e.first, 4);
    memcpy(p + 12, &e.count, 4);
  }
  return s;
}

TEST(Mbr, ImplausibleTablesAreNoTable) {
  EXPECT_TRUE(drivers::mbr::parse(table({{0x80, 0x83, 63, 1000}}).data(), 2000).present);
  std::vector<uint8_t> unsigned_table = table({{0x80, 0x83, 63, 1000}});
  unsigned_table[511] = 0;
  EXPECT_FALSE(drivers::mbr::parse(unsigned_table.data(), 2000).present);
  EXPECT_FALSE(drivers::mbr::parse(table({{0x01, 0x83, 63, 1000}}).data(), 2000).present);  // boot flag
  EXPECT_FALSE(drivers::mbr::parse(table({{0, 0x83, 0, 0}, {0x7F, 0, 0, 0}}).data(), 2000).present);
  EXPECT_FALSE(drivers::mbr::parse(table({{0, 0x83, 1500, 501}}).data(), 2000).present);  // past the end
  EXPECT_FALSE(drivers::mbr::parse(table({{0, 0x83, 0, 100}}).data(), 2000).present);     // over sector 0
  EXPECT_FALSE(drivers::mbr::parse(table({{0, 0x83, 100, 0}}).data(), 2000).present);     // empty
  EXPECT_FALSE(drivers::mbr::parse(table({{0, 0x83, 100, 200}, {0, 0x83, 299, 10}}).data(), 2000).present);
  EXPECT_TRUE(drivers::mbr::parse(table({{0, 0x83, 100, 200}, {0, 0x83, 300, 10}}).data(), 2000).present);
  EXPECT_FALSE(drivers::mbr::parse(table({}).data(), 2000).present);  // signed, but no slot used
  EXPECT_FALSE(drivers::mbr::parse(std::vector<uint8_t>(512).data(), 2000).present);
  // An NTFS boot sector: its jump and name.
  std::vector<uint8_t> ntfs = table({{0, 0x07, 63, 1000}});
  ntfs[0] = 0xEB;
  ntfs[1] = 0x52;
  ntfs[2] = 0x90;
  memcpy(&ntfs[3], "NTFS    ", 8);
  EXPECT_FALSE(drivers::mbr::parse(ntfs.data(), 2000).present);
  // An empty slot between used ones keeps its number: minors follow slots.
  const Table t = drivers::mbr::parse(table({{0, 0x83, 100, 200}, {0, 0, 0, 0}, {0, 0x0B, 400, 10}}).data(), 2000);
  Volume v[drivers::mbr::kMaxVolumes];
  ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kPerSlot, 0, 2000, v), 2u);
  EXPECT_EQ(v[1].minor, 2u);
  EXPECT_EQ(v[1].type, 0x0B);
  ASSERT_EQ(drivers::mbr::volumes(t, MinorScheme::kAta, 0, 2000, v), 3u);
  EXPECT_EQ(v[2].minor, 3u);
}

}  // namespace
