// One core's files (toro-spec §2.11.1, Toro's per-core Storages[core]): the mounted volume, its
// inode cache, path resolution and the open-file handles behind SysOpenFile/SysReadFile/...
// Portable; host-tested in tests/unit/fs/vfs_test.cpp over a real FAT or ext2 image.
//
//   fs::Vfs vfs;
//   vfs.init(memory, {.yield = sched_yield});
//   klib::Status s = vfs.mount(fs::fat::kType, io, options);
//   klib::Result<fs::Handle> h = vfs.open("/web/index.html", fs::kReadOnly);
//   klib::Result<size_t> n = vfs.read(h.value(), buffer, sizeof buffer);
//   vfs.close(h.value());                       // what was written is on the disk when it returns
//
// Where Toro's contract was unsafe, ours is defined: a path must start with '/' and be at most
// kMaxPath bytes before its NUL (else kInvalidArgument / kNameTooLong, nothing read past the
// limit); a component over kMaxName bytes is kNameTooLong; a handle is an index and a
// generation, so a handle used after close (or never opened) is kInvalidArgument, never a
// use-after-free. One volume per core; the calls of one core's threads are serialised on it
// (a thread waiting for the disk lets the others run, and they must not see a half-done
// allocation), so no lock is shared between cores.
#pragma once

#include <fs/filesystem.h>
#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace fs {

// Toro's open flags and seek origins (toro-spec §1.9).
constexpr uint32_t kReadOnly = 0;                               // O_RDONLY
constexpr uint32_t kWriteOnly = 1;                              // O_WRONLY
constexpr uint32_t kReadWrite = 2;                              // O_RDWR
enum class Whence : uint32_t { kSet = 0, kCur = 1, kEnd = 2 };  // SeekSet, SeekCur, SeekEof

// An open file: nonzero (so that Toro's "0 = failed" holds), the slot index in the low 32 bits
// (plus one) and the slot's generation above.
using Handle = uint64_t;

class Vfs {
 public:
  // How a core's thread waits for another one of the core (the volume is busy): the kernel
  // yields; a host test may run another task.
  struct Hooks {
    void (*yield)() = nullptr;
  };
  static constexpr size_t kMaxCachedInodes = 300;  // Toro's MAX_INODES_IN_CACHE (unreferenced ones)
  static constexpr size_t kMaxHandles = 65536;

  void init(const Memory& memory, const Hooks& hooks);

  // Mounts `type` over `io` (SysMount). kBusy if this core has a volume already; the driver's
  // error otherwise (kCorrupt, kNotSupported, kIoError).
  klib::Status mount(const FileSystemType& type, BlockIo& io, const MountOptions& options);
  bool mounted() const { return fs_ != nullptr; }
  // Syncs and unmounts; open handles become invalid. kBusy while handles are open unless `force`.
  klib::Status unmount(bool force = false);

  klib::Result<Handle> open(const char* path, uint32_t flags);
  // Creates a regular file and opens it for reading and writing (SysCreateFile); kExists.
  klib::Result<Handle> create(const char* path);
  klib::Status mkdir(const char* path);
  klib::Status stat(const char* path, Inode* out);
  // 0 at the end of the file, and for a directory (Toro's rule).
  klib::Result<size_t> read(Handle h, void* buffer, size_t count);
  // kInvalidArgument for a handle opened read-only; kIsDirectory for a directory.
  klib::Result<size_t> write(Handle h, const void* buffer, size_t count);
  // The new position (SeekEof: the size; Offset ignored, as Toro). A negative result position is
  // kInvalidArgument. Directories: 0.
  klib::Result<uint64_t> seek(Handle h, int64_t offset, Whence whence);
  // Writes back what the handle changed (its inode, the volume's dirty blocks) and flushes the
  // device before it returns; the handle is gone even if that fails (the error is returned).
  klib::Status close(Handle h);
  size_t open_handles() const { return open_count_; }

  struct Stats {
    size_t cached_inodes, referenced_inodes;
    uint64_t name_hits, name_misses;  // path components found in the name cache, or found by lookup()
  };
  Stats stats() const;

 private:
  struct Slot {
    uint32_t generation;
    bool used;
    bool written;
    uint32_t flags;
    Inode* inode;
    uint64_t position;
  };
  class Busy;  // the per-volume serialisation (RAII)

  klib::Result<Inode*> get_inode(uint64_t ino);
  void put_inode(Inode* inode);
  void evict_inode(Inode* inode);
  // The inode of `path`; with `parent`, the directory holding the last component instead, and
  // that component in *name/*length (kInvalidArgument for the root itself).
  klib::Result<Inode*> walk(const char* path, size_t length, Inode** parent, const char** name, size_t* name_length);
  // Creates the last component of `path` (`mode`: kInodeReg or kInodeDir) in its directory;
  // its inode number. The caller holds the volume.
  klib::Result<uint64_t> create_entry(const char* path, size_t length, uint32_t mode);
  klib::Result<Slot*> slot_of(Handle h);
  klib::Result<Handle> open_inode(Inode* inode, uint32_t flags);

  Memory memory_{};
  Hooks hooks_{};
  const FileSystemType* type_ = nullptr;
  FileSystem* fs_ = nullptr;
  bool busy_ = false;
  // Inodes: a hash of all cached ones, and a list of the unreferenced ones (least recently
  // released at the tail), at most kMaxCachedInodes long.
  static constexpr size_t kInodeChains = 64;
  Inode* inode_hash_[kInodeChains] = {};
  Inode* lru_head_ = nullptr;
  Inode* lru_tail_ = nullptr;
  size_t unreferenced_ = 0;
  size_t cached_ = 0;
  // Names: the components that lookup() found, as (directory inode, name) -> inode, direct-mapped
  // by a hash of both. StaticWebServer stats and opens the file of every request, and FAT's
  // directory scan (long names assembled and compared without case, the short name beside)
  // was a tenth of its instructions per request. Only found names are kept: no filesystem call
  // removes or renames an entry, so a found name stays right for the mount; a name not found
  // may be created next, and is looked up every time. Names longer than kCachedName are not
  // kept. Emptied by unmount (a new volume reuses inode numbers). This relies on each name
  // answering for one entry: FAT checks a new file's short alias (NAME~N.EXT) against long names
  // as well as short ones, so the alias cannot equal an older file's long name (which, in
  // deleted slots before that file, would make FAT's lookup find the new file while this cache
  // kept the old one).
  static constexpr size_t kNameSlots = 64;
  static constexpr size_t kCachedName = 40;
  struct CachedName {
    uint64_t dir, ino;  // ino 0: an empty slot
    uint8_t length;
    char name[kCachedName];
  };
  CachedName* name_slot(uint64_t dir, const char* name, size_t length);
  CachedName names_[kNameSlots] = {};
  uint64_t name_hits_ = 0, name_misses_ = 0;
  Slot* slots_ = nullptr;
  size_t slot_capacity_ = 0;
  size_t open_count_ = 0;
  uint32_t epoch_ = 0;  // mounts so far: the high bits of new slots' generations
};

// The length of a NUL-terminated path read at most `limit` bytes far (limit when no NUL came).
size_t bounded_length(const char* s, size_t limit);

}  // namespace fs
