// What a filesystem driver ('fat', 'ext2') gives the VFS (src/fs/vfs.h), and the inode the VFS
// keeps for it (toro-spec §2.11.1: Toro's TFileSystemDriver record, as a C++ interface). A
// driver is portable code over a BlockIo and a BlockCache; the VFS does the paths, the handles
// and the inode cache, so a driver only answers for one inode at a time.
//
//   klib::Result<fs::FileSystem*> v = fs::fat::kType.mount(io, memory, options);
//   fs::Inode root{.ino = v.value()->root_ino()};
//   v.value()->read_inode(root);
//   klib::Result<uint64_t> ino = v.value()->lookup(root, "index.html", 10);
//
// Contract for every driver (the fuzzer and the bad-disk tests hold them to it): a corrupt
// volume makes a call fail with kCorrupt (never a hang: every chain or tree walk is bounded by
// the volume's size; never a read or write outside the partition: BlockIo refuses those);
// names are byte strings with a length, not NUL-terminated, at most kMaxName bytes.
#pragma once

#include <fs/block_io.h>
#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace fs {

// Toro's constants (toro-spec §1.9).
constexpr uint32_t kInodeDir = 1;  // INODE_DIR
constexpr uint32_t kInodeReg = 2;  // INODE_REG
constexpr size_t kMaxName = 255;   // bytes of one path component (a FAT long name, an ext2 name)
constexpr size_t kMaxPath = 1024;  // bytes of a whole path

struct Inode {
  // Filled by the driver's read_inode (ino set by the caller), changed by write/truncate.
  uint64_t ino;
  uint32_t mode;                        // kInodeDir or kInodeReg
  uint64_t size;                        // bytes
  uint32_t atime, ctime, mtime, dtime;  // seconds since 1970 (0 when the volume has none)
  uint32_t links;
  bool dirty;  // the driver's metadata changed since write_inode
  // The VFS's: references and its cache lists. Drivers leave them alone.
  uint32_t refs;
  Inode* lru_prev;
  Inode* lru_next;
  Inode* hash_next;
  // The driver's own per-inode state (FAT: the first cluster and where the directory entry is;
  // ext2: its on-disk inode), up to kDriverBytes.
  static constexpr size_t kDriverBytes = 192;
  alignas(8) uint8_t driver[kDriverBytes];

  template <class T>
  T& as() {
    static_assert(sizeof(T) <= kDriverBytes);
    return *reinterpret_cast<T*>(driver);
  }
};

struct DirEntry {
  uint64_t ino;
  uint32_t mode;  // kInodeDir or kInodeReg
  uint16_t name_length;
  char name[kMaxName + 1];  // NUL-terminated copy
};

struct MountOptions {
  size_t cache_bytes = 4 << 20;  // the bound of the volume's block cache
  // Seconds since 1970 for new and changed files (the kernel's RTC; a host test's fixed clock).
  uint32_t (*now)() = nullptr;
};

class FileSystem {
 public:
  virtual uint64_t root_ino() const = 0;
  // `inode.ino` is set: fill in the rest (the VFS zeroes the inode first). kNotFound for an
  // inode number that names nothing, kCorrupt.
  virtual klib::Status read_inode(Inode& inode) = 0;
  // Puts the inode's metadata (size, times, the driver's fields) back into the cache; clears dirty.
  virtual klib::Status write_inode(Inode& inode) = 0;
  // The inode number of `name` in directory `dir`; kNotFound, kNotDirectory, kCorrupt.
  virtual klib::Result<uint64_t> lookup(Inode& dir, const char* name, size_t length) = 0;
  // Up to `count` bytes from `offset` (0 at or past the end); kIsDirectory.
  virtual klib::Result<size_t> read(Inode& file, uint64_t offset, void* buffer, size_t count) = 0;
  // Writes, extending the file (a hole before `offset` reads as zeros); sets size and dirty.
  // kNoSpace (what fitted is written and counted: a short write), kReadOnly, kIsDirectory.
  virtual klib::Result<size_t> write(Inode& file, uint64_t offset, const void* buffer, size_t count) = 0;
  // Shortens or lengthens (zeros) a regular file, freeing what is cut.
  virtual klib::Status truncate(Inode& file, uint64_t size) = 0;
  // Creates `name` in `dir` as a kInodeReg (empty) or kInodeDir (with what the format needs:
  // '.' and '..'); its inode number. kExists, kNoSpace, kNameTooLong, kReadOnly.
  virtual klib::Result<uint64_t> create(Inode& dir, const char* name, size_t length, uint32_t mode) = 0;
  // The next entry of `dir` after `*cookie` (start at 0), '.' and '..' left out; false at the end.
  virtual klib::Result<bool> read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) = 0;
  // Everything changed so far (data, metadata, allocation tables) written and the device
  // flushed: what SysCloseFile waits for.
  virtual klib::Status sync() = 0;
  // Free space, for tests and tools: bytes.
  virtual uint64_t free_bytes() = 0;
  // Steps taken along the volume's maps to find where file offsets live, since the mount (FAT:
  // clusters walked along chains; 0 where a lookup is direct): for statistics and tests.
  virtual uint64_t walk_steps() const { return 0; }
  // Syncs, then frees the driver's memory; the FileSystem is gone after it.
  virtual void unmount() = 0;

 protected:
  ~FileSystem() = default;
};

// A filesystem driver: Toro's name and how to mount a volume (read and check its superblock).
// kCorrupt or kNotSupported (not this format) when the volume is not one it can mount.
struct FileSystemType {
  const char* name;  // "fat", "ext2"
  klib::Result<FileSystem*> (*mount)(BlockIo& io, const Memory& memory, const MountOptions& options);
};

}  // namespace fs
