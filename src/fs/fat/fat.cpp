// FAT12/16/32 (Microsoft's "FAT: General Overview of On-Disk Format", 1.03). The tables and the
// directories go through the block cache in 512-byte blocks; file data moves between the
// caller's buffer and the device in runs of contiguous clusters (read_direct/write_direct).
// Every walk of a chain is bounded by the volume's cluster count, and every cluster number read
// from the disk is checked against it, so a corrupt volume gives kCorrupt, not a hang.
#include <fs/block_cache.h>
#include <fs/fat/fat.h>

#include <cstring>

namespace fs::fat {
namespace {

using klib::Error;
using klib::Result;
using klib::Status;
using Buffer = BlockCache::Buffer;

constexpr uint32_t kEntriesPerSector = kSectorSize / 32;
constexpr uint32_t kMaxDirEntries = 65536;  // the format's limit for one directory
constexpr uint32_t kEndOfDir = ~uint32_t(0);
constexpr uint32_t kUnknown = ~uint32_t(0);
constexpr uint64_t kMaxFileSize = 0xFFFFFFFF;
constexpr uint64_t kRootIno = 1;
constexpr size_t kMaxLfnEntries = 20;  // 255 characters, 13 an entry
constexpr size_t kZeroBytes = 8192;    // the buffer that zero-fills holes

constexpr uint8_t kAttrVolume = 0x08, kAttrDir = 0x10, kAttrArchive = 0x20, kAttrLfn = 0x0F;
constexpr uint8_t kLfnAttrMask = 0x3F;
constexpr uint8_t kDeleted = 0xE5;
constexpr uint8_t kLowerBase = 0x08, kLowerExt = 0x10;  // NT's case flags (byte 12)

uint16_t ld16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t ld32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24; }
void st16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void st32(uint8_t* p, uint32_t v) {
  st16(p, v);
  st16(p + 2, v >> 16);
}

// ---- Dates: FAT stores local civil time in 2-second steps from 1980; we store UTC there.

int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = uint32_t(y - era * 400);
  const uint32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t* y, uint32_t* m, uint32_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const uint32_t doe = uint32_t(z - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = int64_t(yoe) + era * 400 + (*m <= 2);
}

void encode_time(uint32_t t, uint16_t* date, uint16_t* time) {
  int64_t y;
  uint32_t m, d;
  civil_from_days(t / 86400, &y, &m, &d);
  const uint32_t s = t % 86400;
  if (y < 1980) {  // the format starts in 1980
    *date = 1 << 5 | 1;
    *time = 0;
  } else if (y > 2107) {
    *date = 127 << 9 | 12 << 5 | 31;
    *time = 23 << 11 | 59 << 5 | 29;
  } else {
    *date = uint16_t((y - 1980) << 9 | m << 5 | d);
    *time = uint16_t((s / 3600) << 11 | (s / 60 % 60) << 5 | (s % 60) / 2);
  }
}

uint32_t decode_time(uint16_t date, uint16_t time) {
  if (date == 0) return 0;
  uint32_t m = (date >> 5) & 15, d = date & 31;
  if (m < 1 || m > 12) m = 1;
  if (d < 1) d = 1;
  uint32_t h = time >> 11, mi = (time >> 5) & 63, s = (time & 31) * 2;
  if (h > 23) h = 23;
  if (mi > 59) mi = 59;
  if (s > 59) s = 59;
  const int64_t days = days_from_civil(1980 + (date >> 9), m, d);
  return uint32_t(days * 86400 + h * 3600 + mi * 60 + s);
}

// ---- Names

uint8_t lfn_checksum(const uint8_t* short_name) {
  uint8_t sum = 0;
  for (int i = 0; i < 11; ++i) sum = uint8_t(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
  return sum;
}

// Case folding as Windows compares names, for the ranges that have simple upper cases: ASCII,
// Latin-1, Greek and Cyrillic.
uint16_t fold(uint16_t c) {
  if (c >= 'a' && c <= 'z') return uint16_t(c - 32);
  if (c < 0xE0) return c;
  if (c <= 0xFE && c != 0xF7) return uint16_t(c - 32);
  if (c == 0xFF) return 0x178;
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return uint16_t(c - 32);
  if (c >= 0x430 && c <= 0x44F) return uint16_t(c - 32);
  if (c >= 0x450 && c <= 0x45F) return uint16_t(c - 80);
  return c;
}

char upper_ascii(char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; }

// Strict UTF-8 to UTF-16 (surrogate pairs above U+FFFF); false if invalid or over 255 units.
bool utf8_to_utf16(const char* s, size_t n, uint16_t* out, size_t* units) {
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    const uint8_t b = uint8_t(s[i]);
    uint32_t c;
    size_t k;
    if (b < 0x80) {
      c = b, k = 1;
    } else if ((b & 0xE0) == 0xC0) {
      c = b & 0x1F, k = 2;
    } else if ((b & 0xF0) == 0xE0) {
      c = b & 0x0F, k = 3;
    } else if ((b & 0xF8) == 0xF0) {
      c = b & 0x07, k = 4;
    } else {
      return false;
    }
    if (i + k > n) return false;
    for (size_t j = 1; j < k; ++j) {
      const uint8_t t = uint8_t(s[i + j]);
      if ((t & 0xC0) != 0x80) return false;
      c = c << 6 | (t & 0x3F);
    }
    constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kMin[k] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) return false;
    i += k;
    if (c >= 0x10000) {
      if (o + 2 > kMaxName) return false;
      c -= 0x10000;
      out[o++] = uint16_t(0xD800 + (c >> 10));
      out[o++] = uint16_t(0xDC00 + (c & 0x3FF));
    } else {
      if (o + 1 > kMaxName) return false;
      out[o++] = uint16_t(c);
    }
  }
  *units = o;
  return true;
}

// UTF-16 to UTF-8 into out[kMaxName + 1] (NUL-terminated), lone surrogates as '?'; 0 when the
// result would not fit in kMaxName bytes.
size_t utf16_to_utf8(const uint16_t* s, size_t n, char* out) {
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t c = s[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00u);
      ++i;
    } else if (c >= 0xD800 && c < 0xE000) {
      c = '?';
    }
    const size_t k = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (o + k > kMaxName) return 0;
    if (k == 1) {
      out[o++] = char(c);
    } else {
      out[o++] = char((k == 2 ? 0xC0 : k == 3 ? 0xE0 : 0xF0) | (c >> (6 * (k - 1))));
      for (size_t j = k - 1; j-- > 0;) out[o++] = char(0x80 | ((c >> (6 * j)) & 0x3F));
    }
  }
  out[o] = 0;
  return o;
}

// The 8.3 name as Windows shows it: "NAME.EXT", lower case where NT's flags say so.
size_t short_display(const uint8_t* e, char* out) {
  size_t o = 0;
  int base = 8, ext = 3;
  while (base > 0 && e[base - 1] == ' ') --base;
  while (ext > 0 && e[8 + ext - 1] == ' ') --ext;
  auto put = [&](uint8_t c, bool lower) {
    if (c >= 0x80 || c < 0x20) {
      c = '?';  // an OEM code page character, or a control character from a damaged entry
    } else if (lower && c >= 'A' && c <= 'Z') {
      c = uint8_t(c + 32);
    }
    out[o++] = char(c);
  };
  for (int i = 0; i < base; ++i) put(i == 0 && e[0] == 0x05 ? kDeleted : e[i], e[12] & kLowerBase);
  if (ext > 0) out[o++] = '.';
  for (int i = 0; i < ext; ++i) put(e[8 + i], e[12] & kLowerExt);
  out[o] = 0;
  return o;
}

bool short_char(uint8_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (const char* p = "$%'-_@~`!(){}^#&"; *p != 0; ++p) {
    if (c == uint8_t(*p)) return true;
  }
  return false;
}

// `name` as an exact 8.3 name (no long entries needed): its 11 bytes and NT's case flags.
bool exact_short_name(const char* name, size_t n, uint8_t* sn, uint8_t* nt) {
  memset(sn, ' ', 11);
  *nt = 0;
  size_t dot = n;
  for (size_t i = 0; i < n; ++i) {
    if (name[i] != '.') continue;
    if (dot != n) return false;  // two dots
    dot = i;
  }
  if (dot == 0 || dot > 8 || (dot < n && n - dot - 1 > 3) || (dot < n && n - dot - 1 == 0)) return false;
  for (int part = 0; part < 2; ++part) {
    const size_t from = part == 0 ? 0 : dot + 1, to = part == 0 ? dot : n;
    bool upper = false, lower = false;
    for (size_t i = from; i < to; ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') {
        lower = true;
        c = char(c - 32);
      } else if (c >= 'A' && c <= 'Z') {
        upper = true;
      }
      if (!short_char(uint8_t(c))) return false;
      sn[(part == 0 ? 0 : 8) + (i - from)] = uint8_t(c);
    }
    if (upper && lower) return false;  // mixed case needs a long name to keep it
    if (lower) *nt |= part == 0 ? kLowerBase : kLowerExt;
  }
  return true;
}

// The basis of a short alias (Microsoft's "numeric-tail" generation, without the tail yet):
// upper case, invalid characters as '_', spaces and leading dots dropped; base and extension
// from the last dot.
void alias_basis(const uint16_t* q, size_t n, uint8_t* base, size_t* base_n, uint8_t* ext) {
  size_t start = 0;
  while (start < n && q[start] == '.') ++start;
  size_t last_dot = n;
  for (size_t i = start; i < n; ++i) {
    if (q[i] == '.') last_dot = i;
  }
  auto conv = [](uint16_t c) -> uint8_t {
    if (c < 0x80) {
      const uint8_t u = uint8_t(upper_ascii(char(c)));
      if (short_char(u)) return u;
    }
    return '_';
  };
  *base_n = 0;
  for (size_t i = start; i < last_dot && *base_n < 8; ++i) {
    if (q[i] != ' ' && q[i] != '.') base[(*base_n)++] = conv(q[i]);
  }
  if (*base_n == 0) base[(*base_n)++] = '_';
  memset(ext, ' ', 3);
  size_t e = 0;
  for (size_t i = last_dot + 1; i < n && e < 3; ++i) {
    if (q[i] != ' ' && q[i] != '.') ext[e++] = conv(q[i]);
  }
}

// The short alias BASE~N.EXT: as much of the basis as fits before the tail.
void make_alias(const uint8_t* base, size_t base_n, const uint8_t* ext, uint32_t tail, uint8_t* sn) {
  char digits[8];
  size_t dn = 0;
  for (uint32_t t = tail; t != 0; t /= 10) digits[dn++] = char('0' + t % 10);
  const size_t keep = base_n < 7 - dn ? base_n : 7 - dn;
  memset(sn, ' ', 11);
  memcpy(sn, base, keep);
  sn[keep] = '~';
  for (size_t i = 0; i < dn; ++i) sn[keep + 1 + i] = uint8_t(digits[dn - 1 - i]);
  memcpy(sn + 8, ext, 3);
}

// The long name gathered from LFN entries as they go by, checked against the short entry that
// ends them (order numbers descending from the 0x40 one, one checksum).
struct LongName {
  uint16_t chars[kMaxLfnEntries * 13];
  uint8_t sum = 0;
  uint8_t count = 0;  // entries of the set; 0: none under way
  uint8_t next = 0;   // the order number expected next

  void reset() { count = next = 0; }
  void feed(const uint8_t* e) {
    const uint8_t ord = e[0] & 0x1F;
    if (e[0] & 0x40) {
      if (ord == 0 || ord > kMaxLfnEntries) return reset();
      count = ord;
      sum = e[13];
    } else if (count == 0 || ord != next || ord == 0 || e[13] != sum) {
      return reset();
    }
    next = uint8_t(ord - 1);
    uint16_t* p = chars + (ord - 1) * 13;
    for (int i = 0; i < 5; ++i) p[i] = ld16(e + 1 + 2 * i);
    for (int i = 0; i < 6; ++i) p[5 + i] = ld16(e + 14 + 2 * i);
    for (int i = 0; i < 2; ++i) p[11 + i] = ld16(e + 28 + 2 * i);
  }
  // Its length in UTF-16 units if it belongs to this short entry, else 0.
  size_t finish(const uint8_t* short_entry) {
    const bool ok = count != 0 && next == 0 && lfn_checksum(short_entry) == sum;
    const size_t max = size_t(count) * 13;
    reset();
    if (!ok) return 0;
    size_t n = 0;
    while (n < max && chars[n] != 0) ++n;
    return n;
  }
};

bool is_lfn(const uint8_t* e) { return (e[11] & kLfnAttrMask) == kAttrLfn; }
// An entry that names a file or directory (not free, not long-name, not the volume label).
bool is_file_entry(const uint8_t* e) {
  return e[0] != 0 && e[0] != kDeleted && !is_lfn(e) && (e[11] & kAttrVolume) == 0;
}
bool is_dot_entry(const uint8_t* e) { return e[0] == '.'; }
// A file's inode number: where its short entry is (fat.h).
uint64_t entry_ino(const BlockCache::Buffer* b, const uint8_t* e) {
  return b->block * kEntriesPerSector + uint64_t(e - b->data) / 32;
}

// What a FAT inode keeps in Inode::driver.
struct Node {
  uint32_t first;        // first cluster; 0: none (an empty file, or the fixed FAT12/16 root)
  uint32_t pos_index;    // a known point of the chain: cluster number pos_index is pos_cluster
  uint32_t pos_cluster;  // (0: none), so that sequential access never walks from the start
  // Clusters 0..contig-1 of the chain are known to be first, first+1, ... (a file written in
  // one go usually is): a seek into them costs nothing, one past them walks from their end.
  // Learnt by walks, cut by truncation; 0: not known yet.
  uint32_t contig;
  // Known points of a fragmented chain, so that a seek walks at most `stride` clusters from one:
  // checkpoint[k] is cluster number (k + 1) * stride (0: not learnt yet). Walks fill them in;
  // when a chain outgrows kCheckpoints * stride the stride doubles (every other point stays).
  // Cut by truncation. stride 0: none yet.
  static constexpr uint32_t kCheckpoints = 32, kFirstStride = 32;
  uint32_t stride;
  uint32_t checkpoint[kCheckpoints];
  uint8_t attr;

  // The known point nearest below or at `index`: its index and cluster (false: none).
  bool checkpoint_below(uint32_t index, uint32_t* at, uint32_t* cluster) const {
    if (stride == 0 || index < stride) return false;
    for (uint32_t k = (index / stride - 1 < kCheckpoints ? index / stride - 1 : kCheckpoints - 1) + 1; k-- > 0;) {
      if (checkpoint[k] != 0) {
        *at = (k + 1) * stride;
        *cluster = checkpoint[k];
        return true;
      }
    }
    return false;
  }
  // A walk found cluster number `index` to be `cluster`.
  void learn(uint32_t index, uint32_t cluster) {
    if (stride == 0) stride = kFirstStride;
    while (index / stride > kCheckpoints) {  // past the last point: twice the stride
      for (uint32_t k = 0; k < kCheckpoints / 2; ++k) checkpoint[k] = checkpoint[2 * k + 1];
      for (uint32_t k = kCheckpoints / 2; k < kCheckpoints; ++k) checkpoint[k] = 0;
      stride *= 2;
    }
    if (index != 0 && index % stride == 0) checkpoint[index / stride - 1] = cluster;
  }
  // The chain keeps only its first `keep` clusters.
  void forget_from(uint32_t keep) {
    if (keep == 0) stride = 0;  // a new chain starts with the first stride again
    for (uint32_t k = 0; k < kCheckpoints; ++k) {
      if ((k + 1) * stride >= keep) checkpoint[k] = 0;
    }
  }
};

enum class Step { kNext, kStop };

class Volume final : public FileSystem {
 public:
  static Result<FileSystem*> mount(BlockIo& io, const Memory& memory, const MountOptions& options);

  uint64_t root_ino() const override { return kRootIno; }
  Status read_inode(Inode& inode) override;
  Status write_inode(Inode& inode) override;
  Result<uint64_t> lookup(Inode& dir, const char* name, size_t length) override;
  Result<size_t> read(Inode& file, uint64_t offset, void* buffer, size_t count) override;
  Result<size_t> write(Inode& file, uint64_t offset, const void* buffer, size_t count) override;
  Status truncate(Inode& file, uint64_t size) override;
  Result<uint64_t> create(Inode& dir, const char* name, size_t length, uint32_t mode) override;
  Result<bool> read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) override;
  Status sync() override;
  uint64_t free_bytes() override;
  void unmount() override;
  uint64_t walk_steps() const override { return walk_steps_; }

 private:
  Status init(BlockIo& io, const Memory& memory, const MountOptions& options);
  uint32_t now() const { return options_.now != nullptr ? options_.now() : 0; }

  // The allocation table.
  Result<uint32_t> fat_get(uint32_t cluster);
  Status fat_set(uint32_t cluster, uint32_t value);
  Status fat_set_byte(uint64_t sector, uint32_t offset, uint8_t value, uint8_t keep);
  Result<uint32_t> next(uint32_t cluster);  // 0 at the chain's end
  Result<uint32_t> allocate(uint32_t prefer);
  Status free_chain(uint32_t cluster);
  uint32_t count_free();
  bool valid_cluster(uint32_t c) const { return c >= 2 && c - 2 < clusters_; }
  // A sector a directory entry can be in: the fixed root or a data cluster (an inode number
  // from elsewhere names nothing, and nothing else is written for it).
  bool entry_sector(uint64_t sector) const {
    return (sector >= root_start_ && sector - root_start_ < root_sectors_) ||
           (sector >= data_start_ && sector - data_start_ < (uint64_t(clusters_) << spc_shift_));
  }
  // The largest size a file can have here: the format's 4 GiB - 1, or the whole volume.
  uint64_t max_size() const {
    const uint64_t volume = uint64_t(clusters_) << cluster_shift_;
    return volume < kMaxFileSize ? volume : kMaxFileSize;
  }
  uint64_t cluster_sector(uint32_t c) const { return data_start_ + (uint64_t(c - 2) << spc_shift_); }
  Status zero_cluster_cached(uint32_t c);

  // File data.
  Result<uint32_t> cluster_at(Node& n, uint32_t index);
  Result<uint32_t> ensure(Inode& file, uint32_t clusters);
  Result<size_t> transfer(Node& n, uint64_t offset, uint8_t* buffer, size_t count, bool write);
  Status move_sectors(uint64_t sector, uint32_t skip, uint8_t* buffer, size_t count, bool write);
  Status zero_fill(Inode& file, uint64_t to);

  // Directories: `first` is the directory's first cluster, 0 for the fixed root.
  struct Cursor {
    uint32_t index = 0, cluster = 0;
  };
  Result<uint64_t> dir_sector(uint32_t first, uint32_t sector_index, Cursor& cur);
  template <class F>
  Result<uint32_t> scan(uint32_t first, uint32_t start, F&& visit, Cursor* cursor = nullptr);
  template <class F>
  Result<uint32_t> scan_named(uint32_t first, uint32_t start, F&& visit, Cursor* cursor = nullptr);
  Result<uint64_t> find(uint32_t first, const char* name, size_t length);
  Result<uint32_t> free_tail(uint32_t first, const uint8_t* base, size_t base_n, const uint8_t* ext, uint32_t from);
  Result<bool> alias_taken(uint32_t first, const uint8_t* sn);
  Result<uint32_t> free_slots(uint32_t first, uint32_t count);
  Result<uint64_t> put_entry(uint32_t first, uint32_t index, const uint8_t* entry);
  Result<uint64_t> parent_of(Inode& dir);
  void make_entry(uint8_t* e, const uint8_t* sn, uint8_t attr, uint8_t nt, uint32_t cluster, uint32_t t) const;
  void fill(Inode& inode, const uint8_t* e) const;
  uint32_t entry_cluster(const uint8_t* e) const {
    return ld16(e + 26) | (type_ == 32 ? uint32_t(ld16(e + 20)) << 16 : 0);
  }

  BlockIo* io_ = nullptr;
  Memory memory_{};
  MountOptions options_{};
  BlockCache cache_;
  bool read_only_ = false;
  uint8_t type_ = 0;  // 12, 16, 32
  uint32_t spc_ = 0, spc_shift_ = 0, cluster_bytes_ = 0, cluster_shift_ = 0;
  uint32_t fat_start_ = 0, fat_sectors_ = 0, fats_ = 0;  // fat_start_: the FAT read from
  bool mirror_ = true;                                   // writes go to every copy
  uint32_t reserved_ = 0;
  uint32_t root_start_ = 0, root_sectors_ = 0;  // the fixed root (FAT12/16)
  uint64_t data_start_ = 0;
  uint32_t clusters_ = 0;    // data clusters, numbered 2 .. clusters_ + 1
  uint64_t walk_steps_ = 0;  // clusters walked along chains (walk_steps())
  uint32_t root_cluster_ = 0;
  uint32_t eoc_ = 0, eoc_min_ = 0;
  uint32_t fsinfo_sector_ = 0;  // 0: none
  uint32_t free_ = kUnknown, next_free_ = 2;
  bool fsinfo_dirty_ = false;
  uint8_t* zeros_ = nullptr;
  alignas(64) uint8_t sector_[kSectorSize];
};

// ---- Mount

Result<FileSystem*> Volume::mount(BlockIo& io, const Memory& memory, const MountOptions& options) {
  Volume* v = memory.make<Volume>();
  if (v == nullptr) return Error::kNoMemory;
  Status s = v->init(io, memory, options);
  if (!s) {
    v->cache_.release();
    if (v->zeros_ != nullptr) memory.release(v->zeros_);
    memory.destroy(v);
    return s.error();
  }
  return static_cast<FileSystem*>(v);
}

Status Volume::init(BlockIo& io, const Memory& memory, const MountOptions& options) {
  io_ = &io;
  memory_ = memory;
  options_ = options;
  read_only_ = io.read_only();
  if (io.sectors() == 0) return Error::kNotSupported;
  Status s = io.read(0, 1, sector_);
  if (!s) return s;
  const uint8_t* bs = sector_;
  // Not a FAT boot sector at all: neither the x86 jump nor the signature.
  if (bs[0] != 0xEB && bs[0] != 0xE9 && !(bs[510] == 0x55 && bs[511] == 0xAA)) return Error::kNotSupported;
  const uint32_t bps = ld16(bs + 11);
  if (bps < 512 || bps > 4096 || (bps & (bps - 1)) != 0) return Error::kCorrupt;
  if (bps != kSectorSize) return Error::kNotSupported;
  spc_ = bs[13];
  if (spc_ == 0 || (spc_ & (spc_ - 1)) != 0) return Error::kCorrupt;
  while ((1u << spc_shift_) < spc_) ++spc_shift_;
  cluster_bytes_ = spc_ * kSectorSize;
  cluster_shift_ = spc_shift_ + 9;
  reserved_ = ld16(bs + 14);
  fats_ = bs[16];
  const uint32_t root_entries = ld16(bs + 17);
  const uint32_t total16 = ld16(bs + 19), fat16 = ld16(bs + 22);
  const uint64_t total = total16 != 0 ? total16 : ld32(bs + 32);
  fat_sectors_ = fat16 != 0 ? fat16 : ld32(bs + 36);
  if (reserved_ == 0 || fats_ == 0 || fat_sectors_ == 0 || total == 0) return Error::kCorrupt;
  root_sectors_ = (root_entries * 32 + kSectorSize - 1) / kSectorSize;
  fat_start_ = reserved_;
  root_start_ = uint32_t(reserved_ + uint64_t(fats_) * fat_sectors_);
  const uint64_t meta = reserved_ + uint64_t(fats_) * fat_sectors_ + root_sectors_;
  // The tables and the fixed root must lie in the partition; data clusters past a truncated
  // image's end fail when read (BlockIo refuses them), they are not assumed away.
  if (meta >= total || meta > io.sectors()) return Error::kCorrupt;
  data_start_ = meta;
  const uint64_t clusters = (total - meta) >> spc_shift_;
  if (clusters == 0 || clusters > 0x0FFFFFF5) return Error::kCorrupt;
  clusters_ = uint32_t(clusters);
  // Microsoft's rule: the type is decided by the cluster count alone.
  type_ = clusters_ < 4085 ? 12 : clusters_ < 65525 ? 16 : 32;
  eoc_ = type_ == 12 ? 0xFFF : type_ == 16 ? 0xFFFF : 0x0FFFFFFF;
  eoc_min_ = eoc_ - 7;
  const uint64_t entries = uint64_t(clusters_) + 2;
  const uint64_t fat_bytes = type_ == 12 ? (entries * 3 + 1) / 2 : entries * (type_ / 8);
  if (fat_bytes > uint64_t(fat_sectors_) * kSectorSize) return Error::kCorrupt;
  if (type_ == 32) {
    if (root_entries != 0 || fat16 != 0) return Error::kCorrupt;
    if (ld16(bs + 42) != 0) return Error::kNotSupported;  // a FAT32 version we do not know
    const uint16_t ext_flags = ld16(bs + 40);
    if (ext_flags & 0x80) {  // mirroring off: only the active FAT is used
      if ((ext_flags & 0xF) >= fats_) return Error::kCorrupt;
      mirror_ = false;
      fat_start_ = reserved_ + (ext_flags & 0xF) * fat_sectors_;
    }
    root_cluster_ = ld32(bs + 44);
    if (!valid_cluster(root_cluster_)) return Error::kCorrupt;
    const uint32_t fsinfo = ld16(bs + 48);
    if (fsinfo >= 1 && fsinfo < reserved_) fsinfo_sector_ = fsinfo;
  } else if (root_entries == 0) {
    return Error::kCorrupt;
  }
  s = cache_.init(&io, kSectorSize, options.cache_bytes, memory);
  if (!s) return s;
  zeros_ = static_cast<uint8_t*>(memory.allocate(kZeroBytes, 64));
  if (zeros_ == nullptr) return Error::kNoMemory;
  memset(zeros_, 0, kZeroBytes);
  if (fsinfo_sector_ != 0) {
    Result<Buffer*> b = cache_.get(fsinfo_sector_);
    if (!b) return b.error();
    const uint8_t* fi = b.value()->data;
    if (ld32(fi) == 0x41615252 && ld32(fi + 484) == 0x61417272 && ld32(fi + 508) == 0xAA550000) {
      const uint32_t count = ld32(fi + 488), hint = ld32(fi + 492);
      if (count <= clusters_) free_ = count;  // a hint only; counted again when it is absurd
      if (valid_cluster(hint)) next_free_ = hint;
    } else {
      fsinfo_sector_ = 0;
    }
    cache_.put(b.value());
  }
  // FAT12/16 tables are small: the free count is counted, not trusted.
  if (type_ != 32) free_ = count_free();
  return {};
}

// ---- The allocation table

Result<uint32_t> Volume::fat_get(uint32_t c) {
  const uint64_t off = type_ == 12 ? c + c / 2 : uint64_t(c) * (type_ / 8);
  const uint64_t sector = fat_start_ + off / kSectorSize;
  const uint32_t in = uint32_t(off % kSectorSize);
  Result<Buffer*> b = cache_.get(sector);
  if (!b) return b.error();
  const uint8_t* d = b.value()->data;
  uint32_t v;
  if (type_ == 32) {
    v = ld32(d + in) & 0x0FFFFFFF;
  } else if (type_ == 16) {
    v = ld16(d + in);
  } else {
    uint32_t lo = d[in], hi;
    if (in + 1 < kSectorSize) {
      hi = d[in + 1];
    } else {  // a FAT12 entry across two sectors
      Result<Buffer*> b2 = cache_.get(sector + 1);
      if (!b2) {
        cache_.put(b.value());
        return b2.error();
      }
      hi = b2.value()->data[0];
      cache_.put(b2.value());
    }
    v = lo | hi << 8;
    v = (c & 1) ? v >> 4 : v & 0xFFF;
  }
  cache_.put(b.value());
  return v;
}

Status Volume::fat_set_byte(uint64_t sector, uint32_t offset, uint8_t value, uint8_t keep) {
  Result<Buffer*> b = cache_.get(sector + offset / kSectorSize);
  if (!b) return b.error();
  uint8_t& d = b.value()->data[offset % kSectorSize];
  d = uint8_t((d & keep) | (value & ~keep));
  cache_.mark_dirty(b.value());
  cache_.put(b.value());
  return {};
}

Status Volume::fat_set(uint32_t c, uint32_t v) {
  for (uint32_t copy = 0; copy < fats_; ++copy) {
    const uint64_t start = mirror_ ? reserved_ + uint64_t(copy) * fat_sectors_ : fat_start_;
    if (!mirror_ && copy > 0) break;
    Status s;
    if (type_ == 12) {
      const uint32_t off = c + c / 2;
      if (c & 1) {
        s = fat_set_byte(start, off, uint8_t(v << 4), 0x0F);
        if (s) s = fat_set_byte(start, off + 1, uint8_t(v >> 4), 0x00);
      } else {
        s = fat_set_byte(start, off, uint8_t(v), 0x00);
        if (s) s = fat_set_byte(start, off + 1, uint8_t(v >> 8), 0xF0);
      }
    } else {
      const uint32_t bytes = type_ / 8;
      const uint64_t off = uint64_t(c) * bytes;
      for (uint32_t i = 0; i < bytes && s; ++i) {
        // FAT32's top four bits are reserved: kept as they are.
        const uint8_t keep = type_ == 32 && i == 3 ? 0xF0 : 0x00;
        s = fat_set_byte(start + off / kSectorSize, uint32_t(off % kSectorSize) + i, uint8_t(v >> (8 * i)), keep);
      }
    }
    if (!s) return s;
  }
  return {};
}

Result<uint32_t> Volume::next(uint32_t c) {
  Result<uint32_t> v = fat_get(c);
  if (!v) return v;
  if (v.value() >= eoc_min_) return 0u;
  // Free, reserved, bad (0xFF7...) or beyond the volume: a chain cannot go there.
  if (!valid_cluster(v.value())) return Error::kCorrupt;
  return v.value();
}

uint32_t Volume::count_free() {
  uint32_t n = 0;
  for (uint32_t c = 2; c - 2 < clusters_; ++c) {
    Result<uint32_t> v = fat_get(c);
    if (!v) break;
    n += v.value() == 0 ? 1 : 0;
  }
  return n;
}

Result<uint32_t> Volume::allocate(uint32_t prefer) {
  if (free_ == 0) return Error::kNoSpace;
  uint32_t found = 0;
  if (valid_cluster(prefer)) {
    Result<uint32_t> v = fat_get(prefer);
    if (!v) return v;
    if (v.value() == 0) found = prefer;
  }
  uint32_t c = valid_cluster(next_free_) ? next_free_ : 2;
  for (uint32_t i = 0; found == 0 && i < clusters_; ++i) {
    Result<uint32_t> v = fat_get(c);
    if (!v) return v;
    if (v.value() == 0) found = c;
    if (++c - 2 >= clusters_) c = 2;
  }
  fsinfo_dirty_ = true;
  if (found == 0) {
    free_ = 0;
    return Error::kNoSpace;
  }
  Status s = fat_set(found, eoc_);
  if (!s) return s.error();
  if (free_ != kUnknown) --free_;
  next_free_ = valid_cluster(found + 1) ? found + 1 : 2;
  return found;
}

Status Volume::free_chain(uint32_t c) {
  // Each cluster is freed before its successor is read, so a loop ends at a free cluster.
  for (uint32_t steps = 0; c != 0; ++steps) {
    if (steps > clusters_) return Error::kCorrupt;
    Result<uint32_t> nx = next(c);
    Status s = fat_set(c, 0);
    if (!s) return s;
    if (free_ != kUnknown) ++free_;
    fsinfo_dirty_ = true;
    if (!nx) return nx.error();
    c = nx.value();
  }
  return {};
}

Status Volume::zero_cluster_cached(uint32_t c) {
  const uint64_t first = cluster_sector(c);
  for (uint32_t i = 0; i < spc_; ++i) {
    Result<Buffer*> b = cache_.get_zeroed(first + i);
    if (!b) return b.error();
    cache_.mark_dirty(b.value());
    cache_.put(b.value());
  }
  return {};
}

// ---- File data

// The chain's cluster number `index` (0 if the chain is shorter; then the node's position is its
// last cluster). Walks from the remembered position when it is not past `index`.
Result<uint32_t> Volume::cluster_at(Node& n, uint32_t index) {
  if (n.first == 0) return 0u;
  if (!valid_cluster(n.first)) return Error::kCorrupt;
  if (index >= clusters_) return Error::kCorrupt;  // longer than the volume: a loop
  if (n.contig == 0) n.contig = 1;
  if (index < n.contig) {
    n.pos_index = index;
    n.pos_cluster = n.first + index;
    return n.pos_cluster;
  }
  // From the nearest known point at or below `index`: the contiguous start's end, the last
  // position, or a checkpoint.
  uint32_t i = n.contig - 1, c = n.first + i;
  if (n.pos_cluster != 0 && n.pos_index <= index && n.pos_index > i) {
    i = n.pos_index;
    c = n.pos_cluster;
  }
  uint32_t at, known;
  if (n.checkpoint_below(index, &at, &known) && at > i) {
    i = at;
    c = known;
  }
  while (i < index) {
    Result<uint32_t> nx = next(c);
    if (!nx) return nx;
    if (nx.value() == 0) break;
    if (i + 1 == n.contig && nx.value() == c + 1) ++n.contig;
    c = nx.value();
    ++i;
    ++walk_steps_;
    n.learn(i, c);
  }
  n.pos_index = i;
  n.pos_cluster = c;
  return i == index ? c : 0u;
}

// Grows the chain to `clusters` clusters (next to its last one where free); how many it has
// now, fewer when the volume is full.
Result<uint32_t> Volume::ensure(Inode& file, uint32_t clusters) {
  Node& n = file.as<Node>();
  if (clusters > clusters_) clusters = clusters_;
  if (clusters == 0) return 0u;
  uint32_t have, last;
  if (n.first == 0) {
    Result<uint32_t> a = allocate(0);
    if (!a) return a.error() == Error::kNoSpace ? Result<uint32_t>(0u) : a;
    n.first = last = a.value();
    n.pos_index = 0;
    n.pos_cluster = last;
    file.dirty = true;  // the directory entry must name the first cluster
    have = 1;
  } else {
    Result<uint32_t> c = cluster_at(n, clusters - 1);
    if (!c) return c;
    if (c.value() != 0) return clusters;
    have = n.pos_index + 1;
    last = n.pos_cluster;
  }
  while (have < clusters) {
    Result<uint32_t> a = allocate(last + 1);
    if (!a) {
      if (a.error() == Error::kNoSpace) break;
      return a;
    }
    Status s = fat_set(last, a.value());
    if (!s) return s.error();
    last = a.value();
    n.pos_index = have++;
    n.pos_cluster = last;
  }
  return have;
}

// Moves bytes between `buffer` and the file from `offset`, a run of contiguous clusters at a
// time (one device request for a contiguous file); stops where the chain ends. Bytes moved.
Result<size_t> Volume::transfer(Node& n, uint64_t offset, uint8_t* buffer, size_t count, bool write) {
  size_t done = 0;
  while (done < count) {
    const uint64_t off = offset + done;
    const uint64_t index = off >> cluster_shift_;
    Result<uint32_t> c = index < clusters_ ? cluster_at(n, uint32_t(index)) : Result<uint32_t>(Error::kCorrupt);
    if (!c) {
      if (done != 0) break;
      return c.error();
    }
    if (c.value() == 0) break;
    const uint32_t in = uint32_t(off & (cluster_bytes_ - 1));
    const uint64_t want = (in + uint64_t(count - done) + cluster_bytes_ - 1) >> cluster_shift_;
    uint32_t run = 1, last = c.value();
    while (run < want) {
      Result<uint32_t> nx = next(last);
      if (!nx || nx.value() != last + 1) break;
      last = nx.value();
      ++run;
      ++n.pos_index;
      n.pos_cluster = last;
    }
    uint64_t bytes = (uint64_t(run) << cluster_shift_) - in;
    if (bytes > count - done) bytes = count - done;
    Status s = move_sectors(cluster_sector(c.value()) + in / kSectorSize, in % kSectorSize, buffer + done,
                            size_t(bytes), write);
    if (!s) {
      if (done != 0) break;
      return s.error();
    }
    done += size_t(bytes);
  }
  return done;
}

// Reads up to this size go through the block cache (filled with one request), so that a small
// file read again -- a web server's page -- comes from memory; bigger ones go straight to the
// caller's buffer.
constexpr size_t kCachedRead = 16 * 1024;

Status Volume::move_sectors(uint64_t sector, uint32_t skip, uint8_t* buffer, size_t count, bool write) {
  const bool cached = !write && count <= kCachedRead;
  if (cached) (void)cache_.prefetch(sector, uint32_t((skip + count + kSectorSize - 1) / kSectorSize));
  while (count > 0) {
    if (cached || skip != 0 || count < kSectorSize) {
      // Part of a sector: through the block cache, so that small reads and writes in a row
      // (a file read a byte at a time, a log appended line by line) touch the device once per
      // sector, not once per call; sync() writes what a partial write left dirty.
      const size_t piece = count < kSectorSize - skip ? count : kSectorSize - skip;
      Result<Buffer*> b = cache_.get(sector);
      if (!b) return b.error();
      if (write) {
        memcpy(b.value()->data + skip, buffer, piece);
        cache_.mark_dirty(b.value());
      } else {
        memcpy(buffer, b.value()->data + skip, piece);
      }
      cache_.put(b.value());
      buffer += piece;
      count -= piece;
      ++sector;
      skip = 0;
      continue;
    }
    const size_t whole = count / kSectorSize;
    const uint32_t n = whole > (1u << 16) ? 1u << 16 : uint32_t(whole);
    Status s = write ? cache_.write_direct(sector, n, buffer) : cache_.read_direct(sector, n, buffer);
    if (!s) return s;
    buffer += size_t(n) * kSectorSize;
    count -= size_t(n) * kSectorSize;
    sector += n;
  }
  return {};
}

// Writes zeros from the file's end to `to` (a hole reads as zeros; the bytes past a file's end
// in its last cluster are whatever was there before).
Status Volume::zero_fill(Inode& file, uint64_t to) {
  while (file.size < to) {
    const uint64_t left = to - file.size;
    Result<size_t> w = write(file, file.size, zeros_, left < kZeroBytes ? size_t(left) : kZeroBytes);
    if (!w) return w.error();
  }
  return {};
}

Result<size_t> Volume::read(Inode& file, uint64_t offset, void* buffer, size_t count) {
  if (file.mode == kInodeDir) return Error::kIsDirectory;
  if (offset >= file.size || count == 0) return size_t(0);
  if (count > file.size - offset) count = size_t(file.size - offset);
  Result<size_t> r = transfer(file.as<Node>(), offset, static_cast<uint8_t*>(buffer), count, false);
  if (r && r.value() == 0) return Error::kCorrupt;  // the size says there is more than the chain
  return r;
}

Result<size_t> Volume::write(Inode& file, uint64_t offset, const void* buffer, size_t count) {
  if (read_only_) return Error::kReadOnly;
  if (file.mode == kInodeDir) return Error::kIsDirectory;
  if (count == 0) return size_t(0);
  if (offset >= max_size()) return Error::kNoSpace;
  if (count > max_size() - offset) count = size_t(max_size() - offset);
  if (offset > file.size) {
    Status s = zero_fill(file, offset);
    if (!s) return s.error();
  }
  Result<uint32_t> have = ensure(file, uint32_t((offset + count + cluster_bytes_ - 1) >> cluster_shift_));
  if (!have) return have.error();
  const uint64_t room = uint64_t(have.value()) << cluster_shift_;
  if (room <= offset) return Error::kNoSpace;
  if (count > room - offset) count = size_t(room - offset);
  Result<size_t> w = transfer(file.as<Node>(), offset, static_cast<uint8_t*>(const_cast<void*>(buffer)), count, true);
  if (!w) return w;
  if (w.value() == 0) return Error::kCorrupt;
  if (offset + w.value() > file.size) file.size = offset + w.value();
  file.mtime = file.atime = now();  // FAT keeps an access date; a write is an access
  file.as<Node>().attr |= kAttrArchive;
  file.dirty = true;
  return w;
}

Status Volume::truncate(Inode& file, uint64_t size) {
  if (read_only_) return Error::kReadOnly;
  if (file.mode == kInodeDir) return Error::kIsDirectory;
  if (size > max_size()) return Error::kNoSpace;
  if (size > file.size) return zero_fill(file, size);
  Node& n = file.as<Node>();
  const uint64_t keep = (size + cluster_bytes_ - 1) >> cluster_shift_;
  Status s;
  if (keep == 0) {
    if (n.first != 0) s = valid_cluster(n.first) ? free_chain(n.first) : Status(Error::kCorrupt);
    n.first = 0;
    n.pos_cluster = n.pos_index = n.contig = 0;
    n.forget_from(0);
  } else if (keep <= clusters_) {
    Result<uint32_t> c = cluster_at(n, uint32_t(keep - 1));
    if (!c) return c.error();
    if (c.value() != 0) {
      Result<uint32_t> nx = next(c.value());
      s = fat_set(c.value(), eoc_);  // ends here even when what followed was corrupt
      if (s && !nx) s = nx.error();
      if (s && nx.value() != 0) s = free_chain(nx.value());
    }
    if (n.pos_index >= keep) n.pos_cluster = n.pos_index = 0;
    if (n.contig > keep) n.contig = uint32_t(keep);
    n.forget_from(uint32_t(keep));
  }
  file.size = size;
  file.mtime = file.atime = now();  // FAT keeps an access date; a write is an access
  n.attr |= kAttrArchive;
  file.dirty = true;
  return s;
}

// ---- Inodes

void Volume::fill(Inode& inode, const uint8_t* e) const {
  Node& n = inode.as<Node>();
  n = Node{};
  n.first = entry_cluster(e);
  n.attr = e[11];
  const bool dir = (e[11] & kAttrDir) != 0;
  inode.mode = dir ? kInodeDir : kInodeReg;
  inode.size = dir ? 0 : ld32(e + 28);
  inode.ctime = decode_time(ld16(e + 16), ld16(e + 14));
  inode.atime = decode_time(ld16(e + 18), 0);
  inode.mtime = decode_time(ld16(e + 24), ld16(e + 22));
  inode.dtime = 0;
  inode.links = 1;
  inode.dirty = false;
}

Status Volume::read_inode(Inode& inode) {
  if (inode.ino == kRootIno) {
    Node& n = inode.as<Node>();
    n = Node{};
    n.first = type_ == 32 ? root_cluster_ : 0;
    n.attr = kAttrDir;
    inode.mode = kInodeDir;
    inode.size = 0;
    inode.atime = inode.ctime = inode.mtime = inode.dtime = 0;
    inode.links = 1;
    inode.dirty = false;
    return {};
  }
  const uint64_t sector = inode.ino / kEntriesPerSector;
  const uint32_t slot = uint32_t(inode.ino % kEntriesPerSector);
  if (!entry_sector(sector)) return Error::kNotFound;
  Result<Buffer*> b = cache_.get(sector);
  if (!b) return b.error();
  uint8_t e[32];
  memcpy(e, b.value()->data + slot * 32, 32);
  cache_.put(b.value());
  if (!is_file_entry(e) || is_dot_entry(e)) return Error::kNotFound;
  const uint32_t first = entry_cluster(e);
  // A directory must have a cluster; a file may have none (empty). Outside the volume: corrupt.
  if ((first != 0 && !valid_cluster(first)) || ((e[11] & kAttrDir) != 0 && first == 0)) return Error::kCorrupt;
  fill(inode, e);
  return {};
}

Status Volume::write_inode(Inode& inode) {
  if (inode.ino == kRootIno) {  // the root has no entry
    inode.dirty = false;
    return {};
  }
  if (read_only_) return Error::kReadOnly;
  const Node& n = inode.as<Node>();
  if (!entry_sector(inode.ino / kEntriesPerSector)) return Error::kNotFound;
  Result<Buffer*> b = cache_.get(inode.ino / kEntriesPerSector);
  if (!b) return b.error();
  uint8_t* e = b.value()->data + (inode.ino % kEntriesPerSector) * 32;
  if (!is_file_entry(e)) {
    cache_.put(b.value());
    return Error::kCorrupt;
  }
  e[11] = n.attr;
  st16(e + 20, type_ == 32 ? n.first >> 16 : 0);
  st16(e + 26, n.first);
  st32(e + 28, inode.mode == kInodeDir ? 0 : uint32_t(inode.size));
  uint16_t date, time;
  encode_time(inode.mtime, &date, &time);
  st16(e + 22, time);
  st16(e + 24, date);
  encode_time(inode.atime != 0 ? inode.atime : inode.mtime, &date, &time);
  st16(e + 18, date);
  cache_.mark_dirty(b.value());
  cache_.put(b.value());
  inode.dirty = false;
  return {};
}

// ---- Directories

Result<uint64_t> Volume::dir_sector(uint32_t first, uint32_t si, Cursor& cur) {
  if (first == 0) return si < root_sectors_ ? uint64_t(root_start_) + si : 0;
  const uint32_t ci = si >> spc_shift_;
  if (cur.cluster == 0 || cur.index > ci) {
    if (!valid_cluster(first)) return Error::kCorrupt;
    cur.index = 0;
    cur.cluster = first;
  }
  while (cur.index < ci) {
    Result<uint32_t> nx = next(cur.cluster);
    if (!nx) return nx.error();
    if (nx.value() == 0) return uint64_t(0);
    cur.cluster = nx.value();
    ++cur.index;
  }
  return cluster_sector(cur.cluster) + (si & (spc_ - 1));
}

// Calls visit(index, entry, buffer) for the directory's entries from `start` until it returns
// kStop (that index) or the directory ends (kEndOfDir). Bounded by kMaxDirEntries.
template <class F>
Result<uint32_t> Volume::scan(uint32_t first, uint32_t start, F&& visit, Cursor* cursor) {
  Cursor own;
  Cursor& cur = cursor != nullptr ? *cursor : own;
  for (uint32_t i = start; i < kMaxDirEntries;) {
    Result<uint64_t> sector = dir_sector(first, i / kEntriesPerSector, cur);
    if (!sector) return sector.error();
    if (sector.value() == 0) break;
    Result<Buffer*> b = cache_.get(sector.value());
    if (!b) return b.error();
    for (uint32_t k = i % kEntriesPerSector; k < kEntriesPerSector; ++k, ++i) {
      if (visit(i, b.value()->data + k * 32, b.value()) == Step::kStop) {
        cache_.put(b.value());
        return i;
      }
    }
    cache_.put(b.value());
  }
  return kEndOfDir;
}

// scan() for the entries that name files ('.' and '..' left out), each with the long name
// that precedes it (`n` UTF-16 units; 0: none or not its own); stops at the end marker.
template <class F>
Result<uint32_t> Volume::scan_named(uint32_t first, uint32_t start, F&& visit, Cursor* cursor) {
  LongName* ln = memory_.make<LongName>();  // 520 bytes: not on a kernel thread's stack
  if (ln == nullptr) return Error::kNoMemory;
  Result<uint32_t> r = scan(
      first, start,
      [&](uint32_t, uint8_t* e, Buffer* b) {
        if (e[0] == 0) return Step::kStop;
        if (e[0] == kDeleted) {
          ln->reset();
          return Step::kNext;
        }
        if (is_lfn(e)) {
          ln->feed(e);
          return Step::kNext;
        }
        const size_t n = ln->finish(e);
        if (!is_file_entry(e) || is_dot_entry(e)) return Step::kNext;
        return visit(e, b, *ln, n);
      },
      cursor);
  memory_.destroy(ln);
  return r;
}

Result<uint64_t> Volume::find(uint32_t first, const char* name, size_t length) {
  uint16_t q[kMaxName];
  size_t qn = 0;
  const bool q_ok = utf8_to_utf16(name, length, q, &qn);
  uint64_t ino = 0;
  Result<uint32_t> r = scan_named(first, 0, [&](uint8_t* e, Buffer* b, const LongName& ln, size_t n) {
    bool match = false;
    if (n != 0 && q_ok && n == qn) {
      match = true;
      for (size_t i = 0; i < n && match; ++i) match = fold(ln.chars[i]) == fold(q[i]);
    }
    if (!match) {
      char sd[13];
      const size_t sl = short_display(e, sd);
      match = sl == length;
      for (size_t i = 0; i < sl && match; ++i) match = upper_ascii(sd[i]) == upper_ascii(name[i]);
    }
    if (!match) return Step::kNext;
    ino = entry_ino(b, e);
    return Step::kStop;
  });
  if (!r) return r.error();
  if (ino == 0) return Error::kNotFound;
  return ino;
}

Result<uint64_t> Volume::lookup(Inode& dir, const char* name, size_t length) {
  if (dir.mode != kInodeDir) return Error::kNotDirectory;
  if (length > kMaxName) return Error::kNameTooLong;
  if (length == 0) return Error::kNotFound;
  if (length == 1 && name[0] == '.') return dir.ino;
  if (length == 2 && name[0] == '.' && name[1] == '.') return parent_of(dir);
  return find(dir.as<Node>().first, name, length);
}

// The inode number of a directory's parent: '..' names the parent's cluster, the
// grandparent's directory holds the entry that numbers it.
Result<uint64_t> Volume::parent_of(Inode& dir) {
  if (dir.ino == kRootIno) return kRootIno;
  auto dotdot = [&](uint32_t first) -> Result<uint32_t> {
    uint32_t cluster = kUnknown;
    Result<uint32_t> r = scan(first, 0, [&](uint32_t i, uint8_t* e, Buffer*) {
      if (i >= 2) return Step::kStop;
      if (e[0] == '.' && e[1] == '.') {
        cluster = entry_cluster(e);
        return Step::kStop;
      }
      return Step::kNext;
    });
    if (!r) return r.error();
    if (cluster == kUnknown) return Error::kCorrupt;
    return cluster;
  };
  Result<uint32_t> parent = dotdot(dir.as<Node>().first);
  if (!parent) return parent.error();
  const uint32_t p = parent.value();
  if (p == 0 || (type_ == 32 && p == root_cluster_)) return kRootIno;
  if (!valid_cluster(p)) return Error::kCorrupt;
  Result<uint32_t> grand = dotdot(p);
  if (!grand) return grand.error();
  uint32_t g = grand.value();
  if (g == 0) g = type_ == 32 ? root_cluster_ : 0;
  if (g != 0 && !valid_cluster(g)) return Error::kCorrupt;
  uint64_t ino = 0;
  Result<uint32_t> r = scan(g, 0, [&](uint32_t, uint8_t* e, Buffer* b) {
    if (e[0] == 0) return Step::kStop;
    if (!is_file_entry(e) || is_dot_entry(e) || (e[11] & kAttrDir) == 0 || entry_cluster(e) != p) return Step::kNext;
    ino = entry_ino(b, e);
    return Step::kStop;
  });
  if (!r) return r.error();
  if (ino == 0) return Error::kCorrupt;
  return ino;
}

Result<bool> Volume::read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) {
  if (dir.mode != kInodeDir) return Error::kNotDirectory;
  if (*cookie >= kMaxDirEntries) return false;
  bool found = false;
  Node& node = dir.as<Node>();
  // Where the last call stopped: so that listing a long directory does not walk its chain
  // from the start for every entry.
  Cursor cur{node.pos_index, node.pos_cluster};
  Result<uint32_t> r = scan_named(
      node.first, uint32_t(*cookie),
      [&](uint8_t* e, Buffer* b, const LongName& ln, size_t n) {
        size_t len = n != 0 ? utf16_to_utf8(ln.chars, n, entry->name) : 0;
        if (len == 0) len = short_display(e, entry->name);  // no long name, or too long in UTF-8
        entry->name_length = uint16_t(len);
        entry->ino = entry_ino(b, e);
        entry->mode = (e[11] & kAttrDir) ? kInodeDir : kInodeReg;
        found = true;
        return Step::kStop;
      },
      &cur);
  if (!r) return r.error();
  node.pos_index = cur.index;
  node.pos_cluster = cur.cluster;
  *cookie = found ? uint64_t(r.value()) + 1 : kMaxDirEntries;
  return found;
}

// The smallest ~N tail from `from` on that no short name of the directory has with this basis,
// in one scan (a directory holds at most 65536 entries, so one of 1 .. 65537 is free; kNoSpace
// if none from `from` on is).
Result<uint32_t> Volume::free_tail(uint32_t first, const uint8_t* base, size_t base_n, const uint8_t* ext,
                                   uint32_t from) {
  constexpr uint32_t kTails = kMaxDirEntries + 2;
  uint8_t* used = static_cast<uint8_t*>(memory_.allocate(kTails / 8 + 1, 16));
  if (used == nullptr) return Error::kNoMemory;
  memset(used, 0, kTails / 8 + 1);
  Result<uint32_t> r = scan(first, 0, [&](uint32_t, uint8_t* e, Buffer*) {
    if (e[0] == 0) return Step::kStop;
    if (e[0] == kDeleted || is_lfn(e) || memcmp(e + 8, ext, 3) != 0) return Step::kNext;
    size_t p = 0;
    while (p < 8 && e[p] != '~') ++p;
    if (p == 0 || p >= 7 || e[p + 1] == '0') return Step::kNext;
    size_t end = p + 1;
    uint32_t tail = 0;
    while (end < 8 && e[end] >= '0' && e[end] <= '9' && tail < kTails) tail = tail * 10 + (e[end++] - '0');
    for (size_t i = end; i < 8; ++i) {
      if (e[i] != ' ') return Step::kNext;
    }
    const size_t digits = end - p - 1;
    const size_t keep = base_n < 7 - digits ? base_n : 7 - digits;
    if (digits == 0 || tail >= kTails || keep != p || memcmp(e, base, p) != 0) return Step::kNext;
    used[tail / 8] = uint8_t(used[tail / 8] | 1 << (tail % 8));
    return Step::kNext;
  });
  uint32_t tail = from;
  while (tail < kTails && ((used[tail / 8] >> (tail % 8)) & 1) != 0) ++tail;
  memory_.release(used);
  if (!r) return r.error();
  if (tail >= kTails) return Error::kNoSpace;
  return tail;
}

// Whether an alias (11 bytes, ASCII: alias_basis makes it so) is already a name in the
// directory, long or short. free_tail() sees only short names, and an older file may have a long
// name spelled like the alias ("report~1.txt"); two entries answering one name would make the
// lookup depend on slot order (and the VFS's name cache keep the other one).
Result<bool> Volume::alias_taken(uint32_t first, const uint8_t* sn) {
  char name[12];
  size_t n = 0;
  for (size_t i = 0; i < 8 && sn[i] != ' '; ++i) name[n++] = char(sn[i]);
  if (sn[8] != ' ') {
    name[n++] = '.';
    for (size_t i = 8; i < 11 && sn[i] != ' '; ++i) name[n++] = char(sn[i]);
  }
  Result<uint64_t> found = find(first, name, n);
  if (found) return true;
  if (found.error() != Error::kNotFound) return found.error();
  return false;
}

// The index of `count` consecutive free entries, growing the directory by zeroed clusters when
// it has none (the fixed root cannot grow: kNoSpace).
Result<uint32_t> Volume::free_slots(uint32_t first, uint32_t count) {
  uint32_t start = 0, run = 0, total = 0;
  bool past_end = false;  // after an end marker every entry is free
  Result<uint32_t> r = scan(first, 0, [&](uint32_t i, uint8_t* e, Buffer*) {
    total = i + 1;
    const bool free = past_end || e[0] == 0 || e[0] == kDeleted;
    if (e[0] == 0) past_end = true;
    if (!free) {
      run = 0;
      return Step::kNext;
    }
    if (run++ == 0) start = i;
    return run == count ? Step::kStop : Step::kNext;
  });
  if (!r) return r.error();
  if (r.value() != kEndOfDir) return start;
  if (first == 0) return Error::kNoSpace;
  // The last cluster of the directory, then new ones after it.
  uint32_t last = first;
  for (uint32_t steps = 0;; ++steps) {
    if (steps > clusters_) return Error::kCorrupt;
    Result<uint32_t> nx = next(last);
    if (!nx) return nx.error();
    if (nx.value() == 0) break;
    last = nx.value();
  }
  const uint32_t per_cluster = spc_ * kEntriesPerSector;
  while (run < count) {
    if (total + per_cluster > kMaxDirEntries) return Error::kNoSpace;
    Result<uint32_t> a = allocate(last + 1);
    if (!a) return a;
    Status s = zero_cluster_cached(a.value());
    if (s) s = fat_set(last, a.value());
    if (!s) return s.error();
    last = a.value();
    if (run == 0) start = total;
    run += per_cluster;
    total += per_cluster;
  }
  return start;
}

Result<uint64_t> Volume::put_entry(uint32_t first, uint32_t index, const uint8_t* entry) {
  Cursor cur;
  Result<uint64_t> sector = dir_sector(first, index / kEntriesPerSector, cur);
  if (!sector) return sector;
  if (sector.value() == 0) return Error::kCorrupt;
  Result<Buffer*> b = cache_.get(sector.value());
  if (!b) return b.error();
  memcpy(b.value()->data + (index % kEntriesPerSector) * 32, entry, 32);
  cache_.mark_dirty(b.value());
  cache_.put(b.value());
  return sector.value() * kEntriesPerSector + index % kEntriesPerSector;
}

void Volume::make_entry(uint8_t* e, const uint8_t* sn, uint8_t attr, uint8_t nt, uint32_t cluster, uint32_t t) const {
  memset(e, 0, 32);
  memcpy(e, sn, 11);
  e[11] = attr;
  e[12] = nt;
  uint16_t date, time;
  encode_time(t, &date, &time);
  e[13] = uint8_t((t & 1) * 100);  // tenths of a second past the 2-second step
  st16(e + 14, time);
  st16(e + 16, date);
  st16(e + 18, date);
  st16(e + 20, type_ == 32 ? cluster >> 16 : 0);
  st16(e + 22, time);
  st16(e + 24, date);
  st16(e + 26, cluster);
}

Result<uint64_t> Volume::create(Inode& dir, const char* name, size_t length, uint32_t mode) {
  if (read_only_) return Error::kReadOnly;
  if (dir.mode != kInodeDir) return Error::kNotDirectory;
  if (mode != kInodeDir && mode != kInodeReg) return Error::kInvalidArgument;
  if (length > kMaxName) return Error::kNameTooLong;
  if (length == 0) return Error::kInvalidArgument;
  if ((length == 1 && name[0] == '.') || (length == 2 && name[0] == '.' && name[1] == '.')) return Error::kExists;
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = uint8_t(name[i]);
    if (c < 0x20 || c == 0x7F) return Error::kInvalidArgument;
    for (const char* p = "\"*/:<>?\\|"; *p != 0; ++p) {
      if (c == uint8_t(*p)) return Error::kInvalidArgument;
    }
  }
  if (name[length - 1] == ' ' || name[length - 1] == '.') return Error::kInvalidArgument;  // Windows drops them
  uint16_t q[kMaxName];
  size_t qn;
  if (!utf8_to_utf16(name, length, q, &qn)) return Error::kInvalidArgument;
  const uint32_t first = dir.as<Node>().first;
  Result<uint64_t> existing = find(first, name, length);
  if (existing) return Error::kExists;
  if (existing.error() != Error::kNotFound) return existing.error();

  uint8_t sn[11], nt;
  const bool need_long = !exact_short_name(name, length, sn, &nt);
  if (need_long) {
    nt = 0;
    uint8_t base[8], ext[3];
    size_t base_n;
    alias_basis(q, qn, base, &base_n, ext);
    // The smallest tail free among short names that is no long name either (collisions with
    // long names are rare: each costs two more scans).
    for (uint32_t from = 1;;) {
      Result<uint32_t> tail = free_tail(first, base, base_n, ext, from);
      if (!tail) return tail.error();
      make_alias(base, base_n, ext, tail.value(), sn);
      Result<bool> taken = alias_taken(first, sn);
      if (!taken) return taken.error();
      if (!taken.value()) break;
      from = tail.value() + 1;
    }
  }
  const uint32_t lfn_count = need_long ? uint32_t((qn + 12) / 13) : 0;
  Result<uint32_t> slot = free_slots(first, lfn_count + 1);
  if (!slot) return slot.error();

  const uint32_t t = now();
  uint32_t cluster = 0;
  uint8_t e[32];
  if (mode == kInodeDir) {
    Result<uint32_t> a = allocate(0);
    if (!a) return a.error();
    cluster = a.value();
    Status s = zero_cluster_cached(cluster);
    if (!s) return s.error();
    uint8_t dot[11];
    memset(dot, ' ', 11);
    dot[0] = '.';
    make_entry(e, dot, kAttrDir, 0, cluster, t);
    Result<uint64_t> w = put_entry(cluster, 0, e);
    dot[1] = '.';
    // '..' names the parent's cluster, 0 for the root (also on FAT32).
    make_entry(e, dot, kAttrDir, 0, dir.ino == kRootIno ? 0 : first, t);
    if (w) w = put_entry(cluster, 1, e);
    if (!w) return w;
  }
  const uint8_t sum = lfn_checksum(sn);
  for (uint32_t j = 0; j < lfn_count; ++j) {
    const uint32_t ord = lfn_count - j;  // the last part of the name comes first
    memset(e, 0, 32);
    e[0] = uint8_t(ord | (j == 0 ? 0x40 : 0));
    e[11] = kAttrLfn;
    e[13] = sum;
    static constexpr uint8_t kOffsets[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
    for (uint32_t k = 0; k < 13; ++k) {
      const size_t at = (ord - 1) * 13 + k;
      st16(e + kOffsets[k], at < qn ? q[at] : at == qn ? 0 : 0xFFFF);  // NUL, then padding
    }
    Result<uint64_t> w = put_entry(first, slot.value() + j, e);
    if (!w) return w;
  }
  make_entry(e, sn, mode == kInodeDir ? kAttrDir : kAttrArchive, nt, cluster, t);
  return put_entry(first, slot.value() + lfn_count, e);
}

// ---- The volume

Status Volume::sync() {
  if (fsinfo_sector_ != 0 && fsinfo_dirty_ && !read_only_) {
    Result<Buffer*> b = cache_.get(fsinfo_sector_);
    if (!b) return b.error();
    st32(b.value()->data + 488, free_);  // kUnknown is the format's "not known" too
    st32(b.value()->data + 492, next_free_);
    cache_.mark_dirty(b.value());
    cache_.put(b.value());
    fsinfo_dirty_ = false;
  }
  return cache_.sync();
}

uint64_t Volume::free_bytes() {
  if (free_ == kUnknown) free_ = count_free();
  return uint64_t(free_) * cluster_bytes_;
}

void Volume::unmount() {
  (void)sync();
  cache_.release();
  const Memory memory = memory_;
  memory.release(zeros_);
  memory.destroy(this);
}

Result<FileSystem*> mount_fat(BlockIo& io, const Memory& memory, const MountOptions& options) {
  return Volume::mount(io, memory, options);
}

}  // namespace

constinit const FileSystemType kType = {"fat", &mount_fat};

}  // namespace fs::fat
