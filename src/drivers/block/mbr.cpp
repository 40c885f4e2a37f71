#include <drivers/block/mbr.h>

#include <cstring>

namespace drivers::mbr {

namespace {

uint32_t le16(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8; }
uint32_t le32(const uint8_t* p) { return le16(p) | le16(p + 2) << 16; }
bool power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

bool is_volume_boot_sector(const uint8_t* s) {
  // The x86 jump every FAT and NTFS boot sector starts with (EB xx 90 or E9 xx xx).
  if (!((s[0] == 0xEB && s[2] == 0x90) || s[0] == 0xE9)) return false;
  if (memcmp(s + 3, "NTFS    ", 8) == 0) return true;
  // The BIOS parameter block (Microsoft's FAT specification, "Boot Sector and BPB"): bytes per
  // sector, sectors per cluster, reserved sectors, the number of FATs.
  const uint32_t bytes_per_sector = le16(s + 11);
  if (!power_of_two(bytes_per_sector) || bytes_per_sector < 512 || bytes_per_sector > 4096) return false;
  if (!power_of_two(s[13]) || le16(s + 14) == 0 || s[16] == 0 || s[16] > 2) return false;
  // The file system type string: at 54 for FAT12/16, at 82 for FAT32.
  return memcmp(s + 54, "FAT", 3) == 0 || memcmp(s + 82, "FAT", 3) == 0;
}

Table parse(const uint8_t* sector, uint64_t disk_sectors) {
  Table t{};
  if (sector[510] != 0x55 || sector[511] != 0xAA || is_volume_boot_sector(sector)) return t;
  bool used = false;
  for (uint32_t i = 0; i < kSlots; ++i) {
    const uint8_t* e = sector + 446 + 16 * i;  // boot flag, CHS start, type, CHS end, LBA, count
    if (e[0] != 0x00 && e[0] != 0x80) return Table{};
    Partition& p = t.slot[i];
    p.type = e[4];
    if (p.type == 0) continue;
    p.boot = e[0] == 0x80;
    p.first_lba = le32(e + 8);
    p.sectors = le32(e + 12);
    // Sector 0 holds the table itself; a partition lies after it and inside the disk. (A GPT
    // disk's protective entry, type 0xEE, passes: it covers the disk, up to 2 TiB.)
    if (p.sectors == 0 || p.first_lba == 0 || p.first_lba > disk_sectors || disk_sectors - p.first_lba < p.sectors) {
      return Table{};
    }
    for (uint32_t j = 0; j < i; ++j) {
      const Partition& q = t.slot[j];
      if (q.type != 0 && p.first_lba < q.first_lba + q.sectors && q.first_lba < p.first_lba + p.sectors) return Table{};
    }
    used = true;
  }
  t.present = used;
  if (!used) t = Table{};
  return t;
}

uint32_t volumes(const Table& t, MinorScheme scheme, uint32_t drive, uint64_t disk_sectors, Volume* out) {
  uint32_t n = 0;
  const uint32_t base = scheme == MinorScheme::kAta ? 5 * drive : 0;
  if (scheme == MinorScheme::kAta || !t.present) out[n++] = {base, 0, 0, disk_sectors};
  if (!t.present) return n;
  for (uint32_t i = 0; i < kSlots; ++i) {
    const Partition& p = t.slot[i];
    if (p.type == 0) continue;
    out[n++] = {scheme == MinorScheme::kAta ? base + 1 + i : i, p.type, p.first_lba, p.sectors};
  }
  return n;
}

}  // namespace drivers::mbr
