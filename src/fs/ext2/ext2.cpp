#include <fs/block_cache.h>
#include <fs/ext2/ext2.h>

#include <cstring>

namespace fs::ext2 {
namespace {

using Buffer = BlockCache::Buffer;

// The on-disk layout (little-endian, read and written byte-wise so that nothing depends on the
// host's alignment or order).
uint16_t ld16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t ld32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
void st16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void st32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

// Superblock fields (byte offsets).
constexpr uint32_t kSbInodesCount = 0, kSbBlocksCount = 4, kSbFreeBlocks = 12, kSbFreeInodes = 16,
                   kSbFirstDataBlock = 20, kSbLogBlockSize = 24, kSbBlocksPerGroup = 32, kSbInodesPerGroup = 40,
                   kSbWtime = 48, kSbMagic = 56, kSbRevLevel = 76, kSbFirstIno = 84, kSbInodeSize = 88,
                   kSbFeatureCompat = 92, kSbFeatureIncompat = 96, kSbFeatureRoCompat = 100;
constexpr uint16_t kMagic = 0xEF53;

constexpr uint32_t kIncompatCompression = 0x1, kIncompatFiletype = 0x2, kIncompatRecover = 0x4,
                   kIncompatJournalDev = 0x8, kIncompatMetaBg = 0x10, kIncompatExtents = 0x40, kIncompat64bit = 0x80,
                   kIncompatFlexBg = 0x200;
constexpr uint32_t kIncompatSupported = kIncompatFiletype | kIncompatFlexBg;
constexpr uint32_t kRoCompatSparseSuper = 0x1, kRoCompatLargeFile = 0x2, kRoCompatBtreeDir = 0x4;
constexpr uint32_t kRoCompatSupported = kRoCompatSparseSuper | kRoCompatLargeFile | kRoCompatBtreeDir;

// Group descriptor fields (32 bytes each; 64bit, which makes them longer, is refused).
constexpr uint32_t kGdBlockBitmap = 0, kGdInodeBitmap = 4, kGdInodeTable = 8, kGdFreeBlocks = 12, kGdFreeInodes = 14,
                   kGdUsedDirs = 16, kGdSize = 32;

// Inode fields: the first 128 bytes, which is all a revision 0 inode has and all we keep.
constexpr uint32_t kInodeBase = 128;
constexpr uint32_t kIMode = 0, kISize = 4, kIAtime = 8, kICtime = 12, kIMtime = 16, kIDtime = 20, kILinks = 26,
                   kIBlocks = 28, kIFlags = 32, kIBlock = 40, kISizeHigh = 108, kIExtraIsize = 128;
constexpr uint32_t kNDirect = 12, kIndirect1 = 12, kIndirect2 = 13, kIndirect3 = 14;
constexpr uint16_t kTypeMask = 0xF000, kTypeDir = 0x4000, kTypeReg = 0x8000;
constexpr uint32_t kFlagIndex = 0x1000, kFlagExtents = 0x80000, kFlagInlineData = 0x10000000;
constexpr uint32_t kRootIno = 2;
constexpr uint32_t kLinkMax = 32000;  // EXT2_LINK_MAX

// Directory entry: inode (4), rec_len (2), name_len (1 or 2), file_type (1 with FILETYPE), name.
constexpr uint32_t kDirHeader = 8;
constexpr uint8_t kFtReg = 1, kFtDir = 2;
uint32_t entry_size(uint32_t name_length) { return (kDirHeader + name_length + 3) & ~3u; }

// What the VFS's Inode carries for us: the on-disk inode and where the file last grew (the goal
// of its next block allocation, so that sequential writes land on contiguous blocks).
struct Node {
  uint8_t raw[kInodeBase];
  uint32_t last_block;
};
static_assert(sizeof(Node) <= Inode::kDriverBytes);

constexpr uint32_t kMaxRun = 1024;  // blocks per direct transfer

class Volume final : public FileSystem {
 public:
  static klib::Result<FileSystem*> mount(BlockIo& io, const Memory& memory, const MountOptions& options);

  uint64_t root_ino() const override { return kRootIno; }
  klib::Status read_inode(Inode& inode) override;
  klib::Status write_inode(Inode& inode) override;
  klib::Result<uint64_t> lookup(Inode& dir, const char* name, size_t length) override;
  klib::Result<size_t> read(Inode& file, uint64_t offset, void* buffer, size_t count) override;
  klib::Result<size_t> write(Inode& file, uint64_t offset, const void* buffer, size_t count) override;
  klib::Status truncate(Inode& file, uint64_t size) override;
  klib::Result<uint64_t> create(Inode& dir, const char* name, size_t length, uint32_t mode) override;
  klib::Result<bool> read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) override;
  klib::Status sync() override;
  uint64_t free_bytes() override;
  void unmount() override;

 private:
  // A record inside a referenced cache block (a group descriptor, an inode).
  struct Desc {
    Buffer* buffer;
    uint8_t* d;
  };
  // One directory entry, checked.
  struct Entry {
    uint32_t ino, rec_len, name_length;
    uint8_t type;
    const uint8_t* name;
  };

  uint8_t* sb() { return sb_buffer_->data + sb_offset_; }
  void sb_dirty() { cache_.mark_dirty(sb_buffer_); }
  uint32_t now() const { return options_.now != nullptr ? options_.now() : 0; }
  bool valid_block(uint32_t b) const { return b >= first_data_block_ && b < blocks_count_; }

  klib::Result<Buffer*> get(uint32_t block);
  klib::Result<Buffer*> get_zeroed(uint32_t block);
  klib::Result<Desc> desc(uint32_t group);
  klib::Result<Desc> inode_record(uint64_t ino);
  klib::Status load(uint64_t ino, uint8_t* raw);
  klib::Status store(uint64_t ino, const uint8_t* raw, bool fresh);
  void fill(Inode& inode);
  uint64_t file_size(const uint8_t* raw) const;
  void set_size(Inode& inode, uint64_t size);
  klib::Status touch(Inode& inode, bool changed);

  klib::Result<uint32_t> map(Inode& inode, uint64_t lbn, bool allocate, bool* fresh);
  klib::Result<uint32_t> alloc_block(Inode& inode, bool zero);
  klib::Status free_block(Inode& inode, uint32_t block);
  klib::Status free_from(Inode& inode, uint64_t keep);
  klib::Result<bool> free_tree(Inode& inode, uint32_t block, uint32_t level, uint64_t base, uint64_t keep);
  klib::Status zero_tail(Inode& inode, uint64_t size);
  klib::Result<uint32_t> take_bit(uint32_t bitmap, uint32_t lo, uint32_t from, uint32_t to);
  klib::Result<uint32_t> alloc_inode(uint32_t parent_group, bool dir);
  klib::Status free_inode(uint32_t ino, bool dir);
  void count_blocks(int32_t delta);

  klib::Status check_dir(Inode& dir);
  klib::Result<Buffer*> dir_block(Inode& dir, uint64_t lbn);
  bool parse(const uint8_t* block, uint32_t offset, Entry* e) const;
  klib::Status add_entry(Inode& dir, const char* name, size_t length, uint32_t ino, uint8_t type);
  void put_entry(uint8_t* at, uint32_t ino, uint32_t rec_len, const char* name, size_t length, uint8_t type) const;

  BlockCache cache_;
  Memory memory_{};
  MountOptions options_{};
  Buffer* sb_buffer_ = nullptr;  // referenced while mounted
  uint32_t sb_offset_ = 0;
  uint32_t block_size_ = 0, ptrs_ = 0;  // pointers per indirect block
  uint32_t blocks_count_ = 0, inodes_count_ = 0, first_data_block_ = 0;
  uint32_t blocks_per_group_ = 0, inodes_per_group_ = 0, groups_ = 0;
  uint32_t inode_size_ = 0, first_ino_ = 0, rev_ = 0;
  uint64_t max_blocks_ = 0;  // logical blocks a file can address
  bool filetype_ = false, read_only_ = false;
};

const char* reason(uint32_t incompat) {
  if (incompat & kIncompatRecover) return "the journal needs recovery (mount it as ext3 on a host first)";
  if (incompat & kIncompatCompression) return "compression is not supported";
  if (incompat & kIncompatJournalDev) return "an external journal device, not a filesystem";
  if (incompat & kIncompatMetaBg) return "meta_bg is not supported";
  if (incompat & kIncompatExtents) return "extents (ext4) are not supported";
  if (incompat & kIncompat64bit) return "64bit (ext4) is not supported";
  if (incompat & ~kIncompatSupported) return "an unknown incompatible feature";
  return nullptr;
}

klib::Result<FileSystem*> Volume::mount(BlockIo& io, const Memory& memory, const MountOptions& options) {
  // The superblock is 1024 bytes at byte 1024, whatever the block size.
  uint8_t s[1024];
  if (io.sectors() < 4) return klib::Error::kNotSupported;
  klib::Status rs = io.read(2, 2, s);
  if (!rs) return rs.error();
  if (ld16(s + kSbMagic) != kMagic) return klib::Error::kNotSupported;
  const uint32_t log = ld32(s + kSbLogBlockSize);
  const uint32_t rev = ld32(s + kSbRevLevel);
  if (log > 2 || rev > 1) return klib::Error::kNotSupported;
  const uint32_t incompat = rev >= 1 ? ld32(s + kSbFeatureIncompat) : 0;
  const uint32_t ro_compat = rev >= 1 ? ld32(s + kSbFeatureRoCompat) : 0;
  if (reason(incompat) != nullptr) return klib::Error::kNotSupported;

  const uint32_t bs = 1024u << log;
  const uint32_t blocks = ld32(s + kSbBlocksCount), inodes = ld32(s + kSbInodesCount);
  const uint32_t first_data = ld32(s + kSbFirstDataBlock);
  const uint32_t bpg = ld32(s + kSbBlocksPerGroup), ipg = ld32(s + kSbInodesPerGroup);
  const uint32_t isize = rev >= 1 ? ld16(s + kSbInodeSize) : 128;
  const uint32_t first_ino = rev >= 1 ? ld32(s + kSbFirstIno) : 11;
  if (first_data != (bs == 1024 ? 1u : 0u) || blocks <= first_data + 2) return klib::Error::kCorrupt;
  if (bpg < 8 || bpg > 8 * bs || bpg % 8 != 0 || ipg == 0 || ipg > 8 * bs) return klib::Error::kCorrupt;
  if (isize < kInodeBase || isize > bs || (isize & (isize - 1)) != 0) return klib::Error::kCorrupt;
  const uint32_t groups = (blocks - first_data + bpg - 1) / bpg;
  if (inodes < kRootIno || inodes > uint64_t(groups) * ipg || first_ino <= kRootIno || first_ino > inodes) {
    return klib::Error::kCorrupt;
  }
  const uint64_t gdt_blocks = (uint64_t(groups) * kGdSize + bs - 1) / bs;
  if (first_data + 1 + gdt_blocks > blocks) return klib::Error::kCorrupt;

  Volume* v = memory.make<Volume>();
  if (v == nullptr) return klib::Error::kNoMemory;
  v->memory_ = memory;
  v->options_ = options;
  klib::Status cs = v->cache_.init(&io, bs, options.cache_bytes, memory);
  if (!cs) {
    memory.destroy(v);
    return cs.error();
  }
  v->block_size_ = bs;
  v->ptrs_ = bs / 4;
  v->blocks_count_ = blocks;
  v->inodes_count_ = inodes;
  v->first_data_block_ = first_data;
  v->blocks_per_group_ = bpg;
  v->inodes_per_group_ = ipg;
  v->groups_ = groups;
  v->inode_size_ = isize;
  v->first_ino_ = first_ino;
  v->rev_ = rev;
  const uint64_t p = v->ptrs_;
  v->max_blocks_ = kNDirect + p + p * p + p * p * p;
  v->filetype_ = (incompat & kIncompatFiletype) != 0;
  // A volume larger than its partition (a truncated image) is read where it can be, never grown.
  v->read_only_ = io.read_only() || (ro_compat & ~kRoCompatSupported) != 0 || blocks > v->cache_.blocks();
  v->sb_offset_ = bs == 1024 ? 0 : 1024;
  klib::Result<Buffer*> sb = v->cache_.get(bs == 1024 ? 1 : 0);
  klib::Status ok;
  if (!sb) {
    ok = sb.error();
  } else {
    v->sb_buffer_ = sb.value();
    // The root must be a directory we can read.
    Inode root{};
    root.ino = kRootIno;
    ok = v->read_inode(root);
    if (ok && root.mode != kInodeDir) ok = klib::Error::kCorrupt;
  }
  if (!ok) {
    if (v->sb_buffer_ != nullptr) v->cache_.put(v->sb_buffer_);
    v->cache_.release();
    memory.destroy(v);
    return ok.error() == klib::Error::kNotFound ? klib::Error::kCorrupt : ok.error();
  }
  return static_cast<FileSystem*>(v);
}

// A block of the volume through the cache; a number outside the volume is corruption, one
// beyond the partition (a truncated image) an I/O error.
klib::Result<Buffer*> Volume::get(uint32_t block) {
  if (block >= blocks_count_) return klib::Error::kCorrupt;
  klib::Result<Buffer*> r = cache_.get(block);
  if (!r && r.error() == klib::Error::kInvalidArgument) return klib::Error::kIoError;
  return r;
}

klib::Result<Buffer*> Volume::get_zeroed(uint32_t block) {
  if (block >= blocks_count_) return klib::Error::kCorrupt;
  klib::Result<Buffer*> r = cache_.get_zeroed(block);
  if (!r && r.error() == klib::Error::kInvalidArgument) return klib::Error::kIoError;
  return r;
}

// Group `group`'s descriptor, checked (its bitmaps and inode table inside the volume); the
// caller puts the buffer.
klib::Result<Volume::Desc> Volume::desc(uint32_t group) {
  if (group >= groups_) return klib::Error::kCorrupt;
  const uint32_t per_block = block_size_ / kGdSize;
  klib::Result<Buffer*> b = get(first_data_block_ + 1 + group / per_block);
  if (!b) return b.error();
  uint8_t* d = b.value()->data + (group % per_block) * kGdSize;
  const uint64_t table_blocks = (uint64_t(inodes_per_group_) * inode_size_ + block_size_ - 1) / block_size_;
  if (!valid_block(ld32(d + kGdBlockBitmap)) || !valid_block(ld32(d + kGdInodeBitmap)) ||
      !valid_block(ld32(d + kGdInodeTable)) || ld32(d + kGdInodeTable) + table_blocks > blocks_count_) {
    cache_.put(b.value());
    return klib::Error::kCorrupt;
  }
  return Desc{b.value(), d};
}

// Where inode `ino` lies in its table: the block (referenced: the caller puts it) and the record.
klib::Result<Volume::Desc> Volume::inode_record(uint64_t ino) {
  if (ino == 0 || ino > inodes_count_) return klib::Error::kNotFound;
  const uint32_t group = uint32_t((ino - 1) / inodes_per_group_);
  const uint64_t at = ((ino - 1) % inodes_per_group_) * inode_size_;
  klib::Result<Desc> d = desc(group);
  if (!d) return d.error();
  const uint32_t table = ld32(d.value().d + kGdInodeTable);
  cache_.put(d.value().buffer);
  klib::Result<Buffer*> b = get(uint32_t(table + at / block_size_));
  if (!b) return b.error();
  return Desc{b.value(), b.value()->data + at % block_size_};
}

// The first 128 bytes of inode `ino` into `raw`.
klib::Status Volume::load(uint64_t ino, uint8_t* raw) {
  klib::Result<Desc> r = inode_record(ino);
  if (!r) return r.error();
  memcpy(raw, r.value().d, kInodeBase);
  cache_.put(r.value().buffer);
  return {};
}

// Writes `raw` back as inode `ino`; `fresh`: a new inode, whose whole record is reset first.
klib::Status Volume::store(uint64_t ino, const uint8_t* raw, bool fresh) {
  klib::Result<Desc> r = inode_record(ino);
  if (!r) return r.error();
  uint8_t* p = r.value().d;
  if (fresh) {
    memset(p, 0, inode_size_);
    // The extra fields Linux's ext2 and e2fsck expect in a large inode (i_extra_isize).
    if (inode_size_ >= kInodeBase + 32) st16(p + kIExtraIsize, 32);
  }
  memcpy(p, raw, kInodeBase);
  cache_.mark_dirty(r.value().buffer);
  cache_.put(r.value().buffer);
  return {};
}

uint64_t Volume::file_size(const uint8_t* raw) const {
  uint64_t size = ld32(raw + kISize);
  if (rev_ >= 1 && (ld16(raw + kIMode) & kTypeMask) == kTypeReg) size |= uint64_t(ld32(raw + kISizeHigh)) << 32;
  return size;
}

void Volume::fill(Inode& inode) {
  const uint8_t* raw = inode.as<Node>().raw;
  inode.mode = (ld16(raw + kIMode) & kTypeMask) == kTypeDir ? kInodeDir : kInodeReg;
  inode.size = file_size(raw);
  inode.atime = ld32(raw + kIAtime);
  inode.ctime = ld32(raw + kICtime);
  inode.mtime = ld32(raw + kIMtime);
  inode.dtime = ld32(raw + kIDtime);
  inode.links = ld16(raw + kILinks);
}

klib::Status Volume::read_inode(Inode& inode) {
  Node& n = inode.as<Node>();
  klib::Status s = load(inode.ino, n.raw);
  if (!s) return s;
  n.last_block = 0;
  const uint16_t mode = ld16(n.raw + kIMode);
  if (mode == 0 || ld16(n.raw + kILinks) == 0) return klib::Error::kNotFound;  // a free inode
  fill(inode);
  // Sizes the block tree cannot hold, or a directory larger than the volume: not ext2's.
  if (inode.size > max_blocks_ * block_size_) return klib::Error::kCorrupt;
  if ((mode & kTypeMask) == kTypeDir && (inode.size % block_size_ != 0 || inode.size / block_size_ > blocks_count_)) {
    return klib::Error::kCorrupt;
  }
  inode.dirty = false;
  return {};
}

klib::Status Volume::write_inode(Inode& inode) {
  if (read_only_) return klib::Error::kReadOnly;
  uint8_t* raw = inode.as<Node>().raw;
  st32(raw + kISize, uint32_t(inode.size));
  if (rev_ >= 1 && (ld16(raw + kIMode) & kTypeMask) == kTypeReg) st32(raw + kISizeHigh, uint32_t(inode.size >> 32));
  st32(raw + kIAtime, inode.atime);
  st32(raw + kICtime, inode.ctime);
  st32(raw + kIMtime, inode.mtime);
  klib::Status s = store(inode.ino, raw, false);
  if (s) inode.dirty = false;
  return s;
}

void Volume::set_size(Inode& inode, uint64_t size) {
  inode.size = size;
  uint8_t* raw = inode.as<Node>().raw;
  st32(raw + kISize, uint32_t(size));
  if (rev_ >= 1 && (ld16(raw + kIMode) & kTypeMask) == kTypeReg) {
    st32(raw + kISizeHigh, uint32_t(size >> 32));
    // Files of 2 GiB and more need LARGE_FILE, which a revision 1 volume can take on.
    if (size > 0x7FFFFFFFu && (ld32(sb() + kSbFeatureRoCompat) & kRoCompatLargeFile) == 0) {
      st32(sb() + kSbFeatureRoCompat, ld32(sb() + kSbFeatureRoCompat) | kRoCompatLargeFile);
      sb_dirty();
    }
  }
}

// After a change: times, and the inode written through to its table (so that the block
// pointers on disk always match the bitmaps); `dirty` stays set for the VFS.
klib::Status Volume::touch(Inode& inode, bool changed) {
  if (changed) inode.mtime = inode.ctime = now();
  klib::Status s = write_inode(inode);
  inode.dirty = true;
  return s;
}

void Volume::count_blocks(int32_t delta) {
  // The free count of the superblock (the group's is kept by the caller).
  st32(sb() + kSbFreeBlocks, ld32(sb() + kSbFreeBlocks) + uint32_t(delta));
  sb_dirty();
}

// Sets the first clear bit of bitmap block `bitmap` in [from, to), else in [lo, from): its
// number, or ~0u when every bit is set.
klib::Result<uint32_t> Volume::take_bit(uint32_t bitmap, uint32_t lo, uint32_t from, uint32_t to) {
  klib::Result<Buffer*> bm = get(bitmap);
  if (!bm) return bm.error();
  uint8_t* map = bm.value()->data;
  uint32_t found = ~0u;
  for (uint32_t pass = 0; pass < 2 && found == ~0u; ++pass) {
    const uint32_t begin = pass == 0 ? from : lo, end = pass == 0 ? to : from;
    for (uint32_t i = begin; i < end; ++i) {
      if ((i & 7) == 0 && map[i >> 3] == 0xFF && i + 8 <= end) {
        i += 7;  // a full byte
        continue;
      }
      if ((map[i >> 3] & (1u << (i & 7))) == 0) {
        found = i;
        break;
      }
    }
  }
  if (found != ~0u) {
    map[found >> 3] |= uint8_t(1u << (found & 7));
    cache_.mark_dirty(bm.value());
  }
  cache_.put(bm.value());
  return found;
}

// A free block near the file's last one (or its inode's group), marked used and counted in
// the inode's i_blocks. `zero`: cleared in the cache (indirect blocks and partial data blocks).
klib::Result<uint32_t> Volume::alloc_block(Inode& inode, bool zero) {
  Node& n = inode.as<Node>();
  uint32_t goal = n.last_block + 1;
  if (n.last_block == 0 || !valid_block(goal)) {
    goal = first_data_block_ + uint32_t((inode.ino - 1) / inodes_per_group_) * blocks_per_group_;
  }
  if (!valid_block(goal)) goal = first_data_block_;
  const uint32_t g0 = (goal - first_data_block_) / blocks_per_group_;
  for (uint32_t k = 0; k <= groups_; ++k) {
    const uint32_t g = (g0 + k) % groups_;
    klib::Result<Desc> d = desc(g);
    if (!d) return d.error();
    uint8_t* gd = d.value().d;
    if (ld16(gd + kGdFreeBlocks) == 0) {
      cache_.put(d.value().buffer);
      continue;
    }
    const uint32_t base = first_data_block_ + g * blocks_per_group_;
    const uint32_t bits = blocks_count_ - base < blocks_per_group_ ? blocks_count_ - base : blocks_per_group_;
    // From the goal to the group's end, then from its start (the goal's group only).
    const uint32_t start = (k == 0 && goal >= base) ? goal - base : 0;
    klib::Result<uint32_t> found = take_bit(ld32(gd + kGdBlockBitmap), 0, start, bits);
    if (!found || found.value() == ~0u) {  // none: the count said free, the bitmap says full
      cache_.put(d.value().buffer);
      if (!found) return found.error();
      continue;
    }
    st16(gd + kGdFreeBlocks, ld16(gd + kGdFreeBlocks) - 1u);
    cache_.mark_dirty(d.value().buffer);
    cache_.put(d.value().buffer);
    count_blocks(-1);
    const uint32_t block = base + found.value();
    uint8_t* raw = n.raw;
    st32(raw + kIBlocks, ld32(raw + kIBlocks) + block_size_ / 512);
    n.last_block = block;
    if (zero) {
      klib::Result<Buffer*> z = get_zeroed(block);
      if (!z) return z.error();
      cache_.mark_dirty(z.value());
      cache_.put(z.value());
    } else {
      cache_.forget(block);  // whatever a cache holds of its past life is stale
    }
    return block;
  }
  return klib::Error::kNoSpace;
}

klib::Status Volume::free_block(Inode& inode, uint32_t block) {
  if (!valid_block(block)) return klib::Error::kCorrupt;
  const uint32_t g = (block - first_data_block_) / blocks_per_group_;
  const uint32_t bit = (block - first_data_block_) % blocks_per_group_;
  klib::Result<Desc> d = desc(g);
  if (!d) return d.error();
  klib::Result<Buffer*> bm = get(ld32(d.value().d + kGdBlockBitmap));
  if (!bm) {
    cache_.put(d.value().buffer);
    return bm.error();
  }
  uint8_t& byte = bm.value()->data[bit >> 3];
  const bool used = (byte & (1u << (bit & 7))) != 0;
  if (used) {
    byte &= uint8_t(~(1u << (bit & 7)));
    cache_.mark_dirty(bm.value());
    st16(d.value().d + kGdFreeBlocks, ld16(d.value().d + kGdFreeBlocks) + 1u);
    cache_.mark_dirty(d.value().buffer);
    count_blocks(1);
  }
  cache_.put(bm.value());
  cache_.put(d.value().buffer);
  if (!used) return klib::Error::kCorrupt;  // freed twice: two files claim it
  cache_.forget(block);
  uint8_t* raw = inode.as<Node>().raw;
  const uint32_t sectors = ld32(raw + kIBlocks);
  st32(raw + kIBlocks, sectors >= block_size_ / 512 ? sectors - block_size_ / 512 : 0);
  return {};
}

// The physical block of logical block `lbn`, 0 for a hole; with `allocate`, holes on the way
// are filled (indirect blocks zeroed) and *fresh tells whether the data block is new.
klib::Result<uint32_t> Volume::map(Inode& inode, uint64_t lbn, bool allocate, bool* fresh) {
  if (fresh != nullptr) *fresh = false;
  if (lbn >= max_blocks_) return allocate ? klib::Error::kNoSpace : klib::Error::kCorrupt;
  uint32_t path[4];
  uint32_t depth;
  const uint64_t p = ptrs_;
  if (lbn < kNDirect) {
    path[0] = uint32_t(lbn);
    depth = 0;
  } else if ((lbn -= kNDirect) < p) {
    path[0] = kIndirect1;
    path[1] = uint32_t(lbn);
    depth = 1;
  } else if ((lbn -= p) < p * p) {
    path[0] = kIndirect2;
    path[1] = uint32_t(lbn / p);
    path[2] = uint32_t(lbn % p);
    depth = 2;
  } else {
    lbn -= p * p;
    path[0] = kIndirect3;
    path[1] = uint32_t(lbn / (p * p));
    path[2] = uint32_t(lbn / p % p);
    path[3] = uint32_t(lbn % p);
    depth = 3;
  }
  uint8_t* raw = inode.as<Node>().raw;
  uint32_t cur = ld32(raw + kIBlock + 4 * path[0]);
  if (cur == 0) {
    if (!allocate) return 0u;
    klib::Result<uint32_t> a = alloc_block(inode, depth > 0);
    if (!a) return a.error();
    cur = a.value();
    st32(raw + kIBlock + 4 * path[0], cur);
    if (depth == 0 && fresh != nullptr) *fresh = true;
  }
  if (!valid_block(cur)) return klib::Error::kCorrupt;
  for (uint32_t level = 1; level <= depth; ++level) {
    klib::Result<Buffer*> b = get(cur);
    if (!b) return b.error();
    uint8_t* slot = b.value()->data + 4 * path[level];
    uint32_t next = ld32(slot);
    if (next == 0) {
      if (!allocate) {
        cache_.put(b.value());
        return 0u;
      }
      klib::Result<uint32_t> a = alloc_block(inode, level < depth);
      if (!a) {
        cache_.put(b.value());
        return a.error();
      }
      next = a.value();
      st32(slot, next);
      cache_.mark_dirty(b.value());
      if (level == depth && fresh != nullptr) *fresh = true;
    }
    cache_.put(b.value());
    if (!valid_block(next)) return klib::Error::kCorrupt;
    cur = next;
  }
  return cur;
}

klib::Result<size_t> Volume::read(Inode& file, uint64_t offset, void* buffer, size_t count) {
  if (file.mode == kInodeDir) return klib::Error::kIsDirectory;
  const uint8_t* raw = file.as<Node>().raw;
  if ((ld16(raw + kIMode) & kTypeMask) != kTypeReg) return klib::Error::kNotSupported;  // symlinks, devices
  if (ld32(raw + kIFlags) & (kFlagExtents | kFlagInlineData)) return klib::Error::kNotSupported;
  if (offset >= file.size) return size_t(0);
  if (count > file.size - offset) count = size_t(file.size - offset);
  auto* out = static_cast<uint8_t*>(buffer);
  size_t done = 0;
  while (done < count) {
    const uint64_t pos = offset + done;
    const uint64_t lbn = pos / block_size_;
    const uint32_t in = uint32_t(pos % block_size_);
    klib::Result<uint32_t> m = map(file, lbn, false, nullptr);
    if (!m) return m.error();
    const uint32_t block = m.value();
    size_t chunk = block_size_ - in;
    if (chunk > count - done) chunk = count - done;
    if (block == 0) {
      memset(out + done, 0, chunk);  // a hole
    } else if (in == 0 && chunk == block_size_) {
      // Whole blocks: as many physically contiguous ones as follow, in one transfer.
      uint32_t run = 1;
      while (run < kMaxRun && (count - done) / block_size_ > run) {
        klib::Result<uint32_t> next = map(file, lbn + run, false, nullptr);
        if (!next) return next.error();
        if (next.value() != block + run) break;
        ++run;
      }
      klib::Status s = cache_.read_direct(block, run, out + done);
      if (!s) return s.error() == klib::Error::kInvalidArgument ? klib::Error::kIoError : s.error();
      chunk = size_t(run) * block_size_;
    } else {
      klib::Result<Buffer*> b = get(block);
      if (!b) return b.error();
      memcpy(out + done, b.value()->data + in, chunk);
      cache_.put(b.value());
    }
    done += chunk;
  }
  return done;
}

// Zeros the bytes after `size` in its block, so that growing the file later shows zeros there.
klib::Status Volume::zero_tail(Inode& inode, uint64_t size) {
  const uint32_t in = uint32_t(size % block_size_);
  if (in == 0) return {};
  klib::Result<uint32_t> m = map(inode, size / block_size_, false, nullptr);
  if (!m) return m.error();
  if (m.value() == 0) return {};
  klib::Result<Buffer*> b = get(m.value());
  if (!b) return b.error();
  memset(b.value()->data + in, 0, block_size_ - in);
  cache_.mark_dirty(b.value());
  cache_.put(b.value());
  return {};
}

klib::Result<size_t> Volume::write(Inode& file, uint64_t offset, const void* buffer, size_t count) {
  if (read_only_) return klib::Error::kReadOnly;
  if (file.mode == kInodeDir) return klib::Error::kIsDirectory;
  const uint8_t* raw = file.as<Node>().raw;
  if ((ld16(raw + kIMode) & kTypeMask) != kTypeReg) return klib::Error::kNotSupported;
  if (ld32(raw + kIFlags) & (kFlagExtents | kFlagInlineData)) return klib::Error::kNotSupported;
  // The largest size: what the block tree addresses, 2 GiB on revision 0, and i_blocks' 2 TiB.
  uint64_t limit = max_blocks_ * block_size_;
  if (rev_ == 0 && limit > 0x7FFFFFFFu) limit = 0x7FFFFFFFu;
  if (limit > (uint64_t(1) << 40)) limit = uint64_t(1) << 40;
  if (offset >= limit) return klib::Error::kNoSpace;
  if (count > limit - offset) count = size_t(limit - offset);
  if (count == 0) return size_t(0);
  if (offset > file.size) {
    klib::Status z = zero_tail(file, file.size);
    if (!z) return z.error();
  }
  const auto* in = static_cast<const uint8_t*>(buffer);
  size_t done = 0;
  klib::Error error = klib::Error::kNone;
  // Whole blocks on contiguous disk blocks are gathered into one transfer.
  uint32_t run_block = 0, run = 0;
  size_t run_from = 0;
  auto flush = [&]() -> bool {
    if (run == 0) return true;
    klib::Status s = cache_.write_direct(run_block, run, in + run_from);
    run = 0;
    if (!s) {
      error = s.error() == klib::Error::kInvalidArgument ? klib::Error::kIoError : s.error();
      done = run_from;
      return false;
    }
    return true;
  };
  while (done < count) {
    const uint64_t pos = offset + done;
    const uint32_t at = uint32_t(pos % block_size_);
    size_t chunk = block_size_ - at;
    if (chunk > count - done) chunk = count - done;
    bool fresh = false;
    klib::Result<uint32_t> m = map(file, pos / block_size_, true, &fresh);
    if (!m) {
      error = m.error();
      break;
    }
    const uint32_t block = m.value();
    if (chunk == block_size_) {
      if (run != 0 && block == run_block + run && run < kMaxRun) {
        ++run;
      } else {
        if (!flush()) break;
        run_block = block;
        run_from = done;
        run = 1;
      }
    } else {
      if (!flush()) break;
      klib::Result<Buffer*> b = fresh ? get_zeroed(block) : get(block);
      if (!b) {
        error = b.error();
        break;
      }
      memcpy(b.value()->data + at, in + done, chunk);
      cache_.mark_dirty(b.value());
      cache_.put(b.value());
    }
    done += chunk;
  }
  flush();
  if (done > 0 && offset + done > file.size) set_size(file, offset + done);
  if (error != klib::Error::kNone) {
    // Blocks the failed part took past the end (an indirect block whose data block did not
    // fit, a run that was not written) go back: e2fsck wants none after i_size.
    klib::Status f = free_from(file, (file.size + block_size_ - 1) / block_size_);
    (void)f;
  }
  klib::Status t = touch(file, done > 0);
  if (done == 0 && error != klib::Error::kNone) return error;
  if (!t && done == 0) return t.error();
  return done;
}

// Frees the blocks under indirect block `block` (of `level`, its first logical block `base`)
// that hold logical blocks `keep` and after; true when nothing under it is left.
klib::Result<bool> Volume::free_tree(Inode& inode, uint32_t block, uint32_t level, uint64_t base, uint64_t keep) {
  uint64_t span = 1;
  for (uint32_t i = 1; i < level; ++i) span *= ptrs_;
  klib::Result<Buffer*> b = get(block);
  if (!b) return b.error();
  bool empty = true;
  klib::Status status;
  for (uint32_t j = 0; j < ptrs_ && status; ++j) {
    uint8_t* slot = b.value()->data + 4 * j;
    const uint32_t child = ld32(slot);
    if (child == 0) continue;
    const uint64_t child_base = base + j * span;
    if (child_base + span <= keep) {
      empty = false;
      continue;
    }
    if (level > 1) {
      klib::Result<bool> r = free_tree(inode, child, level - 1, child_base, keep);
      if (!r) {
        status = r.error();
        break;
      }
      if (!r.value()) {
        empty = false;
        continue;
      }
    }
    status = free_block(inode, child);
    st32(slot, 0);
    cache_.mark_dirty(b.value());
  }
  cache_.put(b.value());
  if (!status) return status.error();
  return empty;
}

// Frees logical blocks `keep` and after, with the indirect blocks left empty.
klib::Status Volume::free_from(Inode& inode, uint64_t keep) {
  uint8_t* raw = inode.as<Node>().raw;
  for (uint32_t i = 0; i < kNDirect; ++i) {
    const uint32_t b = ld32(raw + kIBlock + 4 * i);
    if (i < keep || b == 0) continue;
    klib::Status s = free_block(inode, b);
    st32(raw + kIBlock + 4 * i, 0);
    if (!s) return s;
  }
  uint64_t base = kNDirect, span = ptrs_;
  for (uint32_t level = 1; level <= 3; ++level, base += span, span *= ptrs_) {
    const uint32_t slot = kNDirect - 1 + level;
    const uint32_t b = ld32(raw + kIBlock + 4 * slot);
    if (b == 0 || base + span <= keep) continue;
    if (!valid_block(b)) return klib::Error::kCorrupt;
    klib::Result<bool> r = free_tree(inode, b, level, base, keep);
    if (!r) return r.error();
    if (r.value()) {
      klib::Status s = free_block(inode, b);
      st32(raw + kIBlock + 4 * slot, 0);
      if (!s) return s;
    }
  }
  return {};
}

klib::Status Volume::truncate(Inode& file, uint64_t size) {
  if (read_only_) return klib::Error::kReadOnly;
  if (file.mode == kInodeDir) return klib::Error::kIsDirectory;
  const uint8_t* raw = file.as<Node>().raw;
  if ((ld16(raw + kIMode) & kTypeMask) != kTypeReg) return klib::Error::kNotSupported;
  if (ld32(raw + kIFlags) & (kFlagExtents | kFlagInlineData)) return klib::Error::kNotSupported;
  uint64_t limit = max_blocks_ * block_size_;
  if (rev_ == 0 && limit > 0x7FFFFFFFu) limit = 0x7FFFFFFFu;
  if (size > limit) return klib::Error::kNoSpace;
  klib::Status s;
  if (size < file.size) {
    s = free_from(file, (size + block_size_ - 1) / block_size_);
    if (s) s = zero_tail(file, size);
  } else if (size > file.size) {
    s = zero_tail(file, file.size);
  }
  if (size != file.size) set_size(file, size);
  file.as<Node>().last_block = 0;
  klib::Status t = touch(file, true);
  return s ? t : s;
}

// Entry at `offset` of a directory block, checked: a record inside the block, long enough for
// its name, a name of at most 255 bytes, an inode number inside the volume.
bool Volume::parse(const uint8_t* block, uint32_t offset, Entry* e) const {
  if (offset % 4 != 0 || offset + kDirHeader > block_size_) return false;
  const uint8_t* p = block + offset;
  e->ino = ld32(p);
  e->rec_len = ld16(p + 4);
  e->name_length = filetype_ ? p[6] : ld16(p + 6);
  e->type = filetype_ ? p[7] : 0;
  e->name = p + kDirHeader;
  if (e->rec_len < kDirHeader || e->rec_len % 4 != 0 || e->rec_len > block_size_ - offset) return false;
  if (e->name_length > kMaxName || kDirHeader + e->name_length > e->rec_len) return false;
  if (e->ino > inodes_count_) return false;
  return true;
}

// Block `lbn` of directory `dir`, referenced (directories have no holes).
klib::Result<Buffer*> Volume::dir_block(Inode& dir, uint64_t lbn) {
  klib::Result<uint32_t> m = map(dir, lbn, false, nullptr);
  if (!m) return m.error();
  if (m.value() == 0) return klib::Error::kCorrupt;
  return get(m.value());
}

klib::Status Volume::check_dir(Inode& dir) {
  if (dir.mode != kInodeDir) return klib::Error::kNotDirectory;
  if (dir.size % block_size_ != 0 || dir.size / block_size_ > blocks_count_) return klib::Error::kCorrupt;
  return {};
}

klib::Result<uint64_t> Volume::lookup(Inode& dir, const char* name, size_t length) {
  klib::Status c = check_dir(dir);
  if (!c) return c.error();
  if (length == 0 || length > kMaxName) return length == 0 ? klib::Error::kNotFound : klib::Error::kNameTooLong;
  const uint64_t blocks = dir.size / block_size_;
  for (uint64_t lbn = 0; lbn < blocks; ++lbn) {
    klib::Result<Buffer*> b = dir_block(dir, lbn);
    if (!b) return b.error();
    const uint8_t* data = b.value()->data;
    uint64_t found = 0;
    bool bad = false;
    for (uint32_t off = 0; off < block_size_;) {
      Entry e;
      if (!parse(data, off, &e)) {
        bad = true;
        break;
      }
      if (e.ino != 0 && e.name_length == length && memcmp(e.name, name, length) == 0) {
        found = e.ino;
        break;
      }
      off += e.rec_len;
    }
    cache_.put(b.value());
    if (bad) return klib::Error::kCorrupt;
    if (found != 0) return found;
  }
  return klib::Error::kNotFound;
}

klib::Result<bool> Volume::read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) {
  klib::Status c = check_dir(dir);
  if (!c) return c.error();
  // The cookie is the byte offset of the next entry to look at.
  while (*cookie < dir.size) {
    const uint64_t lbn = *cookie / block_size_;
    klib::Result<Buffer*> b = dir_block(dir, lbn);
    if (!b) return b.error();
    const uint8_t* data = b.value()->data;
    uint32_t off = uint32_t(*cookie % block_size_);
    bool bad = false, got = false;
    Entry e{};
    while (off < block_size_) {
      if (!parse(data, off, &e)) {
        bad = true;
        break;
      }
      off += e.rec_len;
      const bool dots =
          (e.name_length == 1 && e.name[0] == '.') || (e.name_length == 2 && e.name[0] == '.' && e.name[1] == '.');
      // A name with a NUL or a '/' could never be looked up by path: not listed.
      bool plain = true;
      for (uint32_t i = 0; i < e.name_length && plain; ++i) plain = e.name[i] != '\0' && e.name[i] != '/';
      if (e.ino != 0 && e.name_length != 0 && !dots && plain) {
        entry->ino = e.ino;
        entry->name_length = uint16_t(e.name_length);
        memcpy(entry->name, e.name, e.name_length);
        entry->name[e.name_length] = '\0';
        got = true;
        break;
      }
    }
    cache_.put(b.value());
    if (bad) return klib::Error::kCorrupt;
    *cookie = lbn * block_size_ + off;
    if (!got) continue;
    if (e.type == kFtDir) {
      entry->mode = kInodeDir;
    } else if (e.type != 0) {
      entry->mode = kInodeReg;
    } else {
      // No file type in the entry (revision 0): the inode says.
      uint8_t raw[kInodeBase];
      klib::Status s = load(e.ino, raw);
      if (!s) return s.error() == klib::Error::kNotFound ? klib::Error::kCorrupt : s.error();
      entry->mode = (ld16(raw + kIMode) & kTypeMask) == kTypeDir ? kInodeDir : kInodeReg;
    }
    return true;
  }
  return false;
}

void Volume::put_entry(uint8_t* at, uint32_t ino, uint32_t rec_len, const char* name, size_t length,
                       uint8_t type) const {
  st32(at, ino);
  st16(at + 4, rec_len);
  if (filetype_) {
    at[6] = uint8_t(length);
    at[7] = type;
  } else {
    st16(at + 6, uint32_t(length));
  }
  memcpy(at + kDirHeader, name, length);
  // The padding after the name is zero, as e2fsck likes it.
  memset(at + kDirHeader + length, 0, entry_size(uint32_t(length)) - kDirHeader - length);
}

// Adds `name` -> `ino` to `dir`: in the first record with room for it, else in a new block.
klib::Status Volume::add_entry(Inode& dir, const char* name, size_t length, uint32_t ino, uint8_t type) {
  const uint32_t need = entry_size(uint32_t(length));
  uint8_t* raw = dir.as<Node>().raw;
  // An htree index would not know the new name: the directory becomes a plain list (which an
  // indexed directory also is, so nothing else changes).
  if (ld32(raw + kIFlags) & kFlagIndex) st32(raw + kIFlags, ld32(raw + kIFlags) & ~kFlagIndex);
  const uint64_t blocks = dir.size / block_size_;
  for (uint64_t lbn = 0; lbn < blocks; ++lbn) {
    klib::Result<Buffer*> b = dir_block(dir, lbn);
    if (!b) return b.error();
    uint8_t* data = b.value()->data;
    for (uint32_t off = 0; off < block_size_;) {
      Entry e;
      if (!parse(data, off, &e)) {
        cache_.put(b.value());
        return klib::Error::kCorrupt;
      }
      const uint32_t used = e.ino == 0 ? 0 : entry_size(e.name_length);
      if (e.rec_len >= used + need) {
        if (used == 0) {
          put_entry(data + off, ino, e.rec_len, name, length, type);
        } else {
          st16(data + off + 4, used);
          put_entry(data + off + used, ino, e.rec_len - used, name, length, type);
        }
        cache_.mark_dirty(b.value());
        cache_.put(b.value());
        return touch(dir, true);
      }
      off += e.rec_len;
    }
    cache_.put(b.value());
  }
  // No room: one more block, the new entry spanning it.
  if (blocks + 1 > max_blocks_ || dir.size + block_size_ > 0xFFFFFFFFu) return klib::Error::kNoSpace;
  bool fresh = false;
  klib::Result<uint32_t> m = map(dir, blocks, true, &fresh);
  if (!m) {
    klib::Status t = touch(dir, false);  // indirect blocks it may have got
    (void)t;
    return m.error();
  }
  klib::Result<Buffer*> b = get_zeroed(m.value());
  if (!b) return b.error();
  put_entry(b.value()->data, ino, block_size_, name, length, type);
  cache_.mark_dirty(b.value());
  cache_.put(b.value());
  set_size(dir, dir.size + block_size_);
  return touch(dir, true);
}

// A free inode: a directory goes to a group with fewer directories than average and the most
// free blocks (spreading the tree), a file to its parent's group or the next with room.
klib::Result<uint32_t> Volume::alloc_inode(uint32_t parent_group, bool dir) {
  uint32_t first = parent_group < groups_ ? parent_group : 0;
  if (dir) {
    const uint32_t avg_free = ld32(sb() + kSbFreeInodes) / groups_;
    uint32_t best = ~0u, best_blocks = 0;
    for (uint32_t g = 0; g < groups_; ++g) {
      klib::Result<Desc> d = desc(g);
      if (!d) return d.error();
      const uint32_t fi = ld16(d.value().d + kGdFreeInodes), fb = ld16(d.value().d + kGdFreeBlocks);
      cache_.put(d.value().buffer);
      if (fi == 0 || fi < avg_free) continue;
      if (best == ~0u || fb > best_blocks) {
        best = g;
        best_blocks = fb;
      }
    }
    if (best != ~0u) first = best;
  }
  for (uint32_t k = 0; k < groups_; ++k) {
    const uint32_t g = (first + k) % groups_;
    klib::Result<Desc> d = desc(g);
    if (!d) return d.error();
    uint8_t* gd = d.value().d;
    if (ld16(gd + kGdFreeInodes) == 0) {
      cache_.put(d.value().buffer);
      continue;
    }
    // Inodes below first_ino are reserved (root, the resize inode, a journal, ...).
    const uint64_t first = uint64_t(g) * inodes_per_group_ + 1;
    const uint64_t left = first <= inodes_count_ ? inodes_count_ - first + 1 : 0;
    const uint32_t to = left < inodes_per_group_ ? uint32_t(left) : inodes_per_group_;
    uint32_t lo = first < first_ino_ ? uint32_t(first_ino_ - first) : 0;
    if (lo > to) lo = to;
    klib::Result<uint32_t> found = take_bit(ld32(gd + kGdInodeBitmap), lo, lo, to);
    if (!found || found.value() == ~0u) {
      cache_.put(d.value().buffer);
      if (!found) return found.error();
      continue;
    }
    st16(gd + kGdFreeInodes, ld16(gd + kGdFreeInodes) - 1u);
    if (dir) st16(gd + kGdUsedDirs, ld16(gd + kGdUsedDirs) + 1u);
    cache_.mark_dirty(d.value().buffer);
    cache_.put(d.value().buffer);
    st32(sb() + kSbFreeInodes, ld32(sb() + kSbFreeInodes) - 1);
    sb_dirty();
    return g * inodes_per_group_ + found.value() + 1;
  }
  return klib::Error::kNoSpace;
}

// Undoes alloc_inode (a create that failed half-way).
klib::Status Volume::free_inode(uint32_t ino, bool dir) {
  const uint32_t g = (ino - 1) / inodes_per_group_, bit = (ino - 1) % inodes_per_group_;
  klib::Result<Desc> d = desc(g);
  if (!d) return d.error();
  klib::Result<Buffer*> bm = get(ld32(d.value().d + kGdInodeBitmap));
  if (!bm) {
    cache_.put(d.value().buffer);
    return bm.error();
  }
  bm.value()->data[bit >> 3] &= uint8_t(~(1u << (bit & 7)));
  cache_.mark_dirty(bm.value());
  cache_.put(bm.value());
  uint8_t* gd = d.value().d;
  st16(gd + kGdFreeInodes, ld16(gd + kGdFreeInodes) + 1u);
  if (dir) st16(gd + kGdUsedDirs, ld16(gd + kGdUsedDirs) - 1u);
  cache_.mark_dirty(d.value().buffer);
  cache_.put(d.value().buffer);
  st32(sb() + kSbFreeInodes, ld32(sb() + kSbFreeInodes) + 1);
  sb_dirty();
  return {};
}

klib::Result<uint64_t> Volume::create(Inode& dir, const char* name, size_t length, uint32_t mode) {
  if (read_only_) return klib::Error::kReadOnly;
  klib::Status c = check_dir(dir);
  if (!c) return c.error();
  if (mode != kInodeReg && mode != kInodeDir) return klib::Error::kInvalidArgument;
  if (length > kMaxName) return klib::Error::kNameTooLong;
  if (length == 0) return klib::Error::kInvalidArgument;
  for (size_t i = 0; i < length; ++i) {
    if (name[i] == '/' || name[i] == '\0') return klib::Error::kInvalidArgument;
  }
  if ((length == 1 && name[0] == '.') || (length == 2 && name[0] == '.' && name[1] == '.')) {
    return klib::Error::kExists;
  }
  klib::Result<uint64_t> existing = lookup(dir, name, length);
  if (existing) return klib::Error::kExists;
  if (existing.error() != klib::Error::kNotFound) return existing.error();
  const bool is_dir = mode == kInodeDir;
  if (is_dir && dir.links >= kLinkMax) return klib::Error::kNoSpace;

  klib::Result<uint32_t> ino = alloc_inode(uint32_t((dir.ino - 1) / inodes_per_group_), is_dir);
  if (!ino) return ino.error();
  // The new inode, built in an Inode of our own so that map() and the allocator can work on it.
  Inode child{};
  child.ino = ino.value();
  Node& n = child.as<Node>();
  memset(n.raw, 0, sizeof(n.raw));
  const uint32_t t = now();
  st16(n.raw + kIMode, is_dir ? kTypeDir | 0755u : kTypeReg | 0644u);
  st16(n.raw + kILinks, is_dir ? 2 : 1);
  st32(n.raw + kIAtime, t);
  st32(n.raw + kICtime, t);
  st32(n.raw + kIMtime, t);
  fill(child);
  klib::Status s = store(child.ino, n.raw, true);
  if (s && is_dir) {
    // Its first block: '.' and '..'.
    klib::Result<uint32_t> m = map(child, 0, true, nullptr);
    if (!m) {
      s = m.error();
    } else {
      klib::Result<Buffer*> b = get_zeroed(m.value());
      if (!b) {
        s = b.error();
      } else {
        put_entry(b.value()->data, child.ino, 12, ".", 1, kFtDir);
        put_entry(b.value()->data + 12, uint32_t(dir.ino), block_size_ - 12, "..", 2, kFtDir);
        cache_.mark_dirty(b.value());
        cache_.put(b.value());
        set_size(child, block_size_);
      }
    }
    klib::Status w = write_inode(child);
    if (s) s = w;
  }
  if (s) s = add_entry(dir, name, length, child.ino, is_dir ? kFtDir : kFtReg);
  if (!s) {
    // Give back what the new inode took; the volume stays consistent.
    klib::Status f = free_from(child, 0);
    (void)f;
    st16(n.raw + kILinks, 0);
    st16(n.raw + kIMode, 0);
    st32(n.raw + kIDtime, t);
    klib::Status w = store(child.ino, n.raw, false);
    (void)w;
    klib::Status fi = free_inode(child.ino, is_dir);
    (void)fi;
    return s.error();
  }
  if (is_dir) {
    dir.links += 1;
    st16(dir.as<Node>().raw + kILinks, dir.links);
    klib::Status w = touch(dir, true);
    if (!w) return w.error();
  }
  return uint64_t(child.ino);
}

klib::Status Volume::sync() {
  if (read_only_) return {};
  // The last write time, when there was a write and a clock to tell it.
  if (options_.now != nullptr && cache_.stats().dirty != 0) {
    st32(sb() + kSbWtime, now());
    sb_dirty();
  }
  return cache_.sync();
}

uint64_t Volume::free_bytes() { return uint64_t(ld32(sb() + kSbFreeBlocks)) * block_size_; }

void Volume::unmount() {
  klib::Status s = sync();
  (void)s;  // nothing to tell it to: the volume is going
  cache_.put(sb_buffer_);
  cache_.release();
  Memory memory = memory_;
  memory.destroy(this);
}

}  // namespace

const char* unsupported_reason(uint32_t feature_incompat) { return reason(feature_incompat); }

constinit const FileSystemType kType = {"ext2", &Volume::mount};

}  // namespace fs::ext2
