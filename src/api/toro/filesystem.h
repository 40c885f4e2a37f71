// Filesystem (toro-spec §1.9): a block device dedicated to a core, one volume mounted per core,
// and files by path. FAT12/16/32 ('fat') and ext2 ('ext2') on virtio-blk ('virtioblk') and
// ATA ('ATA0', 'ATA1').
//
//   DedicateBlockDriver("virtioblk", 0);
//   if (!SysMount("fat", "virtioblk", 0)) return 1;
//   THandle f = SysOpenFile("/web/index.html", O_RDONLY);     // 0: not found
//   LongInt n = SysReadFile(f, sizeof buf, buf);
//   SysCloseFile(f);
//
// Every call works on the calling core's volume. Differences from Toro, all where Toro's
// contract was unsafe (docs/PORTING.md): a path must start with '/' and be at most 1024 bytes
// (a component 255) before its NUL, else the call fails (0) without reading further; a handle
// is checked, so one used after SysCloseFile fails (0) instead of touching freed memory;
// SysCloseFile returns when the file's data and metadata are on the disk and flushed;
// SysWriteFile on a handle opened O_RDONLY writes nothing; TInode's Size is 64-bit.
#pragma once

#include <toro/types.h>

constexpr LongInt INODE_DIR = 1;
constexpr LongInt INODE_REG = 2;
constexpr LongInt SeekSet = 0;
constexpr LongInt SeekCur = 1;
constexpr LongInt SeekEof = 2;
constexpr LongInt O_RDONLY = 0;
constexpr LongInt O_WRONLY = 1;
constexpr LongInt O_RDWR = 2;
constexpr LongInt MAX_DEV_NAME = 30;
constexpr LongInt MAX_INODES_IN_CACHE = 300;
constexpr LongInt MAX_BUFFERS_IN_CACHE = 5000;  // Toro 2019's count; ours is a byte bound per volume

using THandle = PtrUInt;

struct TInode;
using PInode = TInode*;
// What SysStatFile fills in. SuperBlock, InoInfo, Next and Prev are Toro's cache links: nil in
// the copy a program gets.
struct TInode {
  LongInt ino;
  Boolean Dirty;
  LongInt Count;
  Int64 Size;
  Pointer SuperBlock;
  LongInt Mode;  // INODE_DIR or INODE_REG
  LongInt ATime, CTime, MTime, DTime;
  Pointer InoInfo;
  PInode Next, Prev;
};

// The first block device whose name starts with Name and is not dedicated yet becomes core
// CPUID's: its interrupt goes there and its partitions become that core's minors (virtio-blk:
// 0..3 = the MBR's slots; ATA: 0 master, 1..4 its partitions, 5 slave, 6..9). Nothing happens if
// none is found (a console line says why).
void DedicateBlockDriver(const char* Name, LongInt CPUID);
// On the calling core: mounts filesystem FileSystemName (a name prefix: "fat", "ext2") on minor
// Minor of the block device BlockName dedicated to this core. Prints Toro's lines.
Boolean SysMount(const char* FileSystemName, const char* BlockName, LongInt Minor);
// 0 if not found (or a bad path, or no volume). Directories open too.
THandle SysOpenFile(const char* Path, LongInt Flags);
// Bytes read (0 at the end, for a directory, or on error); the position advances.
LongInt SysReadFile(THandle FileHandle, LongInt Count, Pointer Buffer);
// Bytes written (0 for a directory or on error); the file grows as needed.
LongInt SysWriteFile(THandle FileHandle, LongInt Count, const void* Buffer);
// The new position: SeekSet Offset, SeekCur position + Offset, SeekEof the size (Offset ignored).
LongInt SysSeekFile(THandle FileHandle, LongInt Offset, LongInt Whence);
// 1 and *Buffer filled if Path exists, else 0.
LongInt SysStatFile(const char* Path, PInode Buffer);
void SysCloseFile(THandle FileHandle);
// A new empty regular file, opened O_RDWR; 0 if it exists or cannot be created.
THandle SysCreateFile(const char* Path);
// 1 if the directory was created, else 0.
LongInt SysCreateDir(const char* Path);
