// The calling core's volume in the running kernel (Toro: one mounted filesystem per core,
// toro-spec §1.9): the filesystem drivers of the build, SysMount, and the core's fs::Vfs that
// the file calls of src/api use. Not portable (the core's memory, its scheduler, the RTC).
//
//   klib::Status s = fs::mount_on_this_core("fat", "virtioblk", 0);   // after DedicateBlockDriver
//   fs::Vfs* v = fs::this_core_vfs();                                // nullptr until something is mounted
#pragma once

#include <fs/filesystem.h>
#include <fs/vfs.h>
#include <lib/result.h>

namespace fs {

// The filesystem driver whose name starts with `name` (Toro's rule), or nullptr.
const FileSystemType* find_filesystem(const char* name);
// Mounts filesystem `fs_name` on the calling core's block file of driver `block_name` (a name
// prefix) and minor `minor`. kNotFound: no such filesystem driver; kNoDevice: no such block file
// on this core (DedicateBlockDriver first); kBusy: the core has a volume; else the driver's error
// reading the superblock.
klib::Status mount_on_this_core(const char* fs_name, const char* block_name, uint32_t minor);
// The calling core's files: nullptr while nothing is mounted on it.
Vfs* this_core_vfs();

}  // namespace fs
