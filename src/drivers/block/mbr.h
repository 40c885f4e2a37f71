// The MBR partition table of a disk's sector 0, and Toro's minor numbers for what it holds
// (toro-spec §2.11.2): virtio-blk minor i = MBR slot i (0..3), or minor 0 = the whole disk
// when there is no table; ATA drive d (0 master, 1 slave): minor 5d = the whole disk, 5d+1+i
// = its slot i. Portable (tests/unit/drivers/mbr_test.cpp, with tables sfdisk wrote).
//
//   drivers::mbr::Table t = drivers::mbr::parse(sector0, disk->sectors());
//   drivers::mbr::Volume v[drivers::mbr::kMaxVolumes];
//   uint32_t n = drivers::mbr::volumes(t, drivers::mbr::MinorScheme::kPerSlot, 0, disk->sectors(), v);
#pragma once

#include <cstdint>

namespace drivers::mbr {

constexpr uint32_t kSlots = 4;

struct Partition {
  uint8_t type;  // 0: the slot is empty
  bool boot;     // boot flag 0x80
  uint64_t first_lba;
  uint64_t sectors;
};

struct Table {
  bool present;  // false: no partition table (no 0x55AA, implausible entries, a volume boot sector)
  Partition slot[kSlots];
};

// Sector 0 (512 bytes) of a disk of `disk_sectors` sectors. "No table" when the signature is
// missing, when it is a FAT or NTFS boot sector (a volume without a partition table, as
// mkfs.fat writes on a whole image), when an entry's boot flag is neither 0x00 nor 0x80, when a
// used entry is empty or reaches past the disk or overlaps another, or when no slot is used.
Table parse(const uint8_t* sector, uint64_t disk_sectors);

// True if `sector` is a FAT (12/16/32) or NTFS boot sector: a jump, a plausible BIOS parameter
// block, and the file system's name where mkfs puts it.
bool is_volume_boot_sector(const uint8_t* sector);

// How a driver numbers its minors.
enum class MinorScheme : uint8_t {
  kPerSlot,  // virtio-blk: minor = slot; the whole disk is minor 0 only when there is no table
  kAta,      // IDE: minor 5 * drive is the whole disk, 5 * drive + 1 + slot its partitions
};

// A block file the kernel registers: a minor and the sectors it covers.
struct Volume {
  uint32_t minor;
  uint8_t type;  // the partition type; 0 for a whole disk
  uint64_t first_lba;
  uint64_t sectors;
};
constexpr uint32_t kMaxVolumes = 1 + kSlots;

// The volumes of a disk with table `t` under `scheme` (`drive`: ATA's 0 or 1, else 0), in
// minor order; returns how many were written to `out` (at most kMaxVolumes).
uint32_t volumes(const Table& t, MinorScheme scheme, uint32_t drive, uint64_t disk_sectors, Volume* out);

}  // namespace drivers::mbr
