// The ext2 filesystem driver ('ext2', toro-spec §2.11.3): revisions 0 and 1, blocks of 1, 2 or
// 4 KiB, direct and single/double/triple indirect blocks; read, write, truncate, create files
// and directories. Portable over a BlockIo and a BlockCache; host-tested against images made by
// mke2fs and checked by e2fsck (tests/unit/fs/ext2_test.cpp).
//
//   klib::Result<fs::FileSystem*> v = fs::ext2::kType.mount(io, memory, options);
//
// What mounts: the features `mke2fs -t ext2` sets (filetype, sparse_super, large_file, ext_attr,
// resize_inode, dir_index: indexed directories are read as the linear lists they also are, and a
// directory we add an entry to loses its index flag). flex_bg only moves the bitmaps and inode
// tables, which we find through the group descriptors, so it mounts too. Other incompatible
// features (a journal to recover, extents, 64bit, meta_bg, ...) are refused with kNotSupported;
// unknown read-only-compatible ones (uninit_bg, metadata_csum, ...) mount read-only.
#pragma once

#include <fs/filesystem.h>

#include <cstdint>

namespace fs::ext2 {

extern const FileSystemType kType;

// Why a volume with these incompatible features cannot be mounted (for a console line), or
// nullptr when it can.
const char* unsupported_reason(uint32_t feature_incompat);

}  // namespace fs::ext2
