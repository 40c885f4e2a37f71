// The FAT filesystem driver ('fat', toro-spec §2.11.3): FAT12, FAT16 and FAT32 with VFAT long
// names, read and write, over a BlockIo. Portable; host-tested against images made by
// dosfstools and mtools (tests/unit/fs/fat_test.cpp) and fuzzed (tests/fuzz/fs_fuzz.cpp).
//
//   klib::Result<fs::FileSystem*> v = fs::fat::kType.mount(io, memory, options);
//   fs::Inode root{.ino = v.value()->root_ino()};        // 1, as in Toro
//   v.value()->read_inode(root);
//
// Inode numbers: the root is 1; any other file is numbered by where its short (8.3) directory
// entry lies: sector * 16 + the entry's slot in that sector. That is unique per file and stable
// while mounted (entries never move: there is no rename or remove), and read_inode finds the
// entry from the number alone.
//
// Not supported: sectors other than 512 bytes (kNotSupported at mount), remove and rename (the
// interface has neither), OEM code pages in short names (bytes >= 0x80 read as '?').
#pragma once

#include <fs/filesystem.h>

namespace fs::fat {

extern const FileSystemType kType;  // name "fat"

}  // namespace fs::fat
