// The kernel's block glue (toro-spec §1.9 DedicateBlockDriver, §2.11.1-2): a block device
// dedicated to a core, its partitions (minors) registered as that core's block files, each an
// fs::BlockIo whose transfers put the calling thread to sleep until the device's interrupt (or
// poll it, when the interrupt cannot be routed). Not portable.
//
//   if (fs::dedicate_block_driver("virtioblk", 0)) {               // on any core, for core 0
//     klib::Result<fs::BlockIo*> f = fs::find_block_file("virtioblk", 0);   // on core 0
//     if (f) f.value()->read(0, 1, sector);
//   }
#pragma once

#include <fs/block_io.h>
#include <lib/result.h>

#include <cstdint>

namespace fs {

// Toro's DedicateBlockDriver: claims the first free block device whose name starts with `name`,
// starts it on core `core` (in that core's memory, its interrupt routed there), reads its
// partition table and registers its minors as block files of that core, printing the device's
// found line and one `<Label>: Minor: <i>, Size: <MB> Mb, Type: <type>` line per minor.
// kNoDevice / kBusy (no free device of that name), kInvalidArgument (no such core), the
// driver's error (kDeviceFailed, kNoMemory), or kIoError (sector 0 unreadable).
klib::Status dedicate_block_driver(const char* name, uint32_t core);

// The calling core's block file of a driver whose name starts with `name_prefix`, minor `minor`
// (Toro's SysMount lookup); kNoDevice if this core has none.
klib::Result<BlockIo*> find_block_file(const char* name_prefix, uint32_t minor);

}  // namespace fs
