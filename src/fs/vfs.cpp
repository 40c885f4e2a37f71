#include <fs/vfs.h>

#include <cstring>

namespace fs {

size_t bounded_length(const char* s, size_t limit) {
  size_t n = 0;
  while (n < limit && s[n] != '\0') ++n;
  return n;
}

namespace {

// A path's length, read at most one byte past the limit: kInvalidArgument for nil,
// kNameTooLong when no NUL comes within kMaxPath bytes.
klib::Result<size_t> checked_length(const char* path) {
  if (path == nullptr) return klib::Error::kInvalidArgument;
  const size_t length = bounded_length(path, kMaxPath + 1);
  if (length > kMaxPath) return klib::Error::kNameTooLong;
  return length;
}

}  // namespace

// Holds the volume for one call. A thread of the same core that finds it busy yields until the
// holder is done: the holder may be asleep waiting for the disk, and the driver's state (a
// cluster being allocated, a directory block half rewritten) must not be seen half-done.
class Vfs::Busy {
 public:
  explicit Busy(Vfs& v) : v_(v) {
    while (v_.busy_) {
      if (v_.hooks_.yield != nullptr) v_.hooks_.yield();
    }
    v_.busy_ = true;
  }
  ~Busy() { v_.busy_ = false; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;

 private:
  Vfs& v_;
};

void Vfs::init(const Memory& memory, const Hooks& hooks) {
  memory_ = memory;
  hooks_ = hooks;
}

klib::Status Vfs::mount(const FileSystemType& type, BlockIo& io, const MountOptions& options) {
  Busy busy(*this);
  if (fs_ != nullptr) return klib::Error::kBusy;
  klib::Result<FileSystem*> r = type.mount(io, memory_, options);
  if (!r) return r.error();
  fs_ = r.value();
  type_ = &type;
  // The root must be readable, or nothing else will be.
  klib::Result<Inode*> root = get_inode(fs_->root_ino());
  if (!root) {
    fs_->unmount();
    fs_ = nullptr;
    type_ = nullptr;
    return root.error();
  }
  put_inode(root.value());
  return {};
}

klib::Status Vfs::unmount(bool force) {
  Busy busy(*this);
  if (fs_ == nullptr) return klib::Error::kNotFound;
  if (open_count_ != 0 && !force) return klib::Error::kBusy;
  for (size_t i = 0; i < slot_capacity_; ++i) {
    Slot& s = slots_[i];
    if (!s.used) continue;
    s.used = false;
    ++s.generation;
    put_inode(s.inode);
  }
  open_count_ = 0;
  memory_.release(slots_);  // handles die with the mount
  slots_ = nullptr;
  ++epoch_;
  slot_capacity_ = 0;
  for (Inode*& head : inode_hash_) {
    while (head != nullptr) {
      Inode* i = head;
      head = i->hash_next;
      if (i->dirty) (void)fs_->write_inode(*i);
      memory_.release(i);
    }
  }
  lru_head_ = lru_tail_ = nullptr;
  unreferenced_ = cached_ = 0;
  for (CachedName& n : names_) n.ino = 0;
  fs_->unmount();
  fs_ = nullptr;
  type_ = nullptr;
  return {};
}

// --------------------------------------------------------------------------- the inode cache

klib::Result<Inode*> Vfs::get_inode(uint64_t ino) {
  Inode*& chain = inode_hash_[ino % kInodeChains];
  for (Inode* i = chain; i != nullptr; i = i->hash_next) {
    if (i->ino != ino) continue;
    if (i->refs++ == 0) {  // off the unreferenced list
      if (i->lru_prev != nullptr) i->lru_prev->lru_next = i->lru_next;
      if (i->lru_next != nullptr) i->lru_next->lru_prev = i->lru_prev;
      if (lru_head_ == i) lru_head_ = i->lru_next;
      if (lru_tail_ == i) lru_tail_ = i->lru_prev;
      i->lru_prev = i->lru_next = nullptr;
      --unreferenced_;
    }
    return i;
  }
  auto* i = static_cast<Inode*>(memory_.allocate(sizeof(Inode), alignof(Inode)));
  if (i == nullptr) return klib::Error::kNoMemory;
  memset(i, 0, sizeof(Inode));
  i->ino = ino;
  klib::Status s = fs_->read_inode(*i);
  if (!s) {
    memory_.release(i);
    return s.error();
  }
  i->refs = 1;
  i->lru_prev = i->lru_next = nullptr;
  i->hash_next = chain;
  chain = i;
  ++cached_;
  return i;
}

void Vfs::evict_inode(Inode* victim) {
  if (victim->lru_prev != nullptr) victim->lru_prev->lru_next = victim->lru_next;
  if (victim->lru_next != nullptr) victim->lru_next->lru_prev = victim->lru_prev;
  if (lru_head_ == victim) lru_head_ = victim->lru_next;
  if (lru_tail_ == victim) lru_tail_ = victim->lru_prev;
  --unreferenced_;
  for (Inode** p = &inode_hash_[victim->ino % kInodeChains]; *p != nullptr; p = &(*p)->hash_next) {
    if (*p == victim) {
      *p = victim->hash_next;
      break;
    }
  }
  --cached_;
  memory_.release(victim);
}

void Vfs::put_inode(Inode* inode) {
  if (inode == nullptr || inode->refs == 0) return;
  if (--inode->refs != 0) return;
  // The last reference: its metadata back to the driver (into the block cache; close() syncs),
  // then onto the unreferenced list, most recent first.
  if (inode->dirty) (void)fs_->write_inode(*inode);
  inode->lru_prev = nullptr;
  inode->lru_next = lru_head_;
  if (lru_head_ != nullptr) lru_head_->lru_prev = inode;
  lru_head_ = inode;
  if (lru_tail_ == nullptr) lru_tail_ = inode;
  ++unreferenced_;
  while (unreferenced_ > kMaxCachedInodes) {
    Inode* victim = lru_tail_;
    if (victim->dirty) (void)fs_->write_inode(*victim);
    evict_inode(victim);
  }
}

Vfs::Stats Vfs::stats() const { return {cached_, cached_ - unreferenced_, name_hits_, name_misses_}; }

// --------------------------------------------------------------------------- paths

// The name cache's slot for `name` in directory `dir` (FNV-1a over both), or nullptr for a name
// too long to keep.
Vfs::CachedName* Vfs::name_slot(uint64_t dir, const char* name, size_t length) {
  if (length > kCachedName) return nullptr;
  uint64_t h = 0xcbf29ce484222325ull ^ dir;
  for (size_t i = 0; i < length; ++i) h = (h ^ uint8_t(name[i])) * 0x100000001b3ull;
  return &names_[(h ^ (h >> 32)) % kNameSlots];
}

klib::Result<Inode*> Vfs::walk(const char* path, size_t length, Inode** parent, const char** name,
                               size_t* name_length) {
  if (length == 0 || path[0] != '/') return klib::Error::kInvalidArgument;
  klib::Result<Inode*> cur = get_inode(fs_->root_ino());
  if (!cur) return cur;
  Inode* dir = cur.value();
  size_t pos = 1;
  for (;;) {
    while (pos < length && path[pos] == '/') ++pos;
    if (pos == length) break;  // "/", or a trailing '/': the directory itself
    size_t end = pos;
    while (end < length && path[end] != '/') ++end;
    const size_t n = end - pos;
    if (n > kMaxName) {
      put_inode(dir);
      return klib::Error::kNameTooLong;
    }
    size_t next = end;
    while (next < length && path[next] == '/') ++next;
    const bool last = next == length;
    if (dir->mode != kInodeDir) {
      put_inode(dir);
      return klib::Error::kNotDirectory;
    }
    if (last && parent != nullptr) {
      *parent = dir;
      *name = path + pos;
      *name_length = n;
      return dir;
    }
    uint64_t child_ino;
    if (n == 2 && path[pos] == '.' && path[pos + 1] == '.' && dir->ino == fs_->root_ino()) {
      child_ino = dir->ino;  // the root's parent is the root (FAT's root has no "..")
    } else {
      CachedName* cached = name_slot(dir->ino, path + pos, n);
      if (cached != nullptr && cached->ino != 0 && cached->dir == dir->ino && cached->length == n &&
          memcmp(cached->name, path + pos, n) == 0) {
        child_ino = cached->ino;
        ++name_hits_;
      } else {
        klib::Result<uint64_t> child = fs_->lookup(*dir, path + pos, n);
        if (!child) {
          put_inode(dir);
          return child.error();
        }
        child_ino = child.value();
        ++name_misses_;
        if (cached != nullptr && child_ino != 0) {
          *cached = {dir->ino, child_ino, uint8_t(n), {}};
          memcpy(cached->name, path + pos, n);
        }
      }
    }
    klib::Result<Inode*> next_inode = get_inode(child_ino);
    put_inode(dir);
    if (!next_inode) return next_inode;
    dir = next_inode.value();
    pos = end;
  }
  if (parent != nullptr) {  // a path naming the root (or ending in '/') has no last component
    put_inode(dir);
    return klib::Error::kInvalidArgument;
  }
  return dir;
}

// --------------------------------------------------------------------------- handles

klib::Result<Vfs::Slot*> Vfs::slot_of(Handle h) {
  const uint64_t index = (h & 0xFFFFFFFFu);
  if (index == 0 || index > slot_capacity_) return klib::Error::kInvalidArgument;
  Slot& s = slots_[index - 1];
  if (!s.used || s.generation != uint32_t(h >> 32)) return klib::Error::kInvalidArgument;
  return &s;
}

klib::Result<Handle> Vfs::open_inode(Inode* inode, uint32_t flags) {
  size_t free_index = slot_capacity_;
  for (size_t i = 0; i < slot_capacity_; ++i) {
    if (!slots_[i].used) {
      free_index = i;
      break;
    }
  }
  if (free_index == slot_capacity_) {
    // Grow the table (twice the size, from 64): handles stay valid, they are indices.
    const size_t capacity = slot_capacity_ == 0 ? 64 : slot_capacity_ * 2;
    if (capacity > kMaxHandles) return klib::Error::kLimit;
    auto* slots = static_cast<Slot*>(memory_.allocate(capacity * sizeof(Slot), 16));
    if (slots == nullptr) return klib::Error::kNoMemory;
    memset(slots, 0, capacity * sizeof(Slot));
    // New slots start at this mount's epoch, so a handle of an earlier mount is not valid here.
    for (size_t i = slot_capacity_; i < capacity; ++i) slots[i].generation = epoch_ << 20;
    if (slots_ != nullptr) {
      memcpy(slots, slots_, slot_capacity_ * sizeof(Slot));
      memory_.release(slots_);
    }
    slots_ = slots;
    slot_capacity_ = capacity;
  }
  Slot& s = slots_[free_index];
  s.used = true;
  s.written = false;
  s.flags = flags;
  s.inode = inode;
  s.position = 0;
  ++open_count_;
  return (uint64_t(s.generation) << 32) | (free_index + 1);
}

klib::Result<Handle> Vfs::open(const char* path, uint32_t flags) {
  if (flags > kReadWrite) return klib::Error::kInvalidArgument;
  klib::Result<size_t> length = checked_length(path);
  if (!length) return length.error();
  Busy busy(*this);
  if (fs_ == nullptr) return klib::Error::kNoDevice;
  klib::Result<Inode*> inode = walk(path, length.value(), nullptr, nullptr, nullptr);
  if (!inode) return inode.error();
  klib::Result<Handle> h = open_inode(inode.value(), flags);
  if (!h) put_inode(inode.value());
  return h;
}

klib::Result<uint64_t> Vfs::create_entry(const char* path, size_t length, uint32_t mode) {
  Inode* parent = nullptr;
  const char* name = nullptr;
  size_t name_length = 0;
  klib::Result<Inode*> dir = walk(path, length, &parent, &name, &name_length);
  if (!dir) return dir.error();
  klib::Result<uint64_t> ino = fs_->create(*parent, name, name_length, mode);
  if (parent->dirty) (void)fs_->write_inode(*parent);
  put_inode(parent);
  return ino;
}

klib::Result<Handle> Vfs::create(const char* path) {
  klib::Result<size_t> length = checked_length(path);
  if (!length) return length.error();
  Busy busy(*this);
  if (fs_ == nullptr) return klib::Error::kNoDevice;
  klib::Result<uint64_t> ino = create_entry(path, length.value(), kInodeReg);
  if (!ino) return ino.error();
  klib::Result<Inode*> inode = get_inode(ino.value());
  if (!inode) return inode.error();
  klib::Result<Handle> h = open_inode(inode.value(), kReadWrite);
  if (!h) {
    put_inode(inode.value());
    return h;
  }
  slots_[(h.value() & 0xFFFFFFFFu) - 1].written = true;  // the new entry reaches the disk at close
  return h;
}

klib::Status Vfs::mkdir(const char* path) {
  klib::Result<size_t> length = checked_length(path);
  if (!length) return length.error();
  Busy busy(*this);
  if (fs_ == nullptr) return klib::Error::kNoDevice;
  klib::Result<uint64_t> ino = create_entry(path, length.value(), kInodeDir);
  if (!ino) return ino.error();
  return fs_->sync();
}

klib::Status Vfs::stat(const char* path, Inode* out) {
  if (out == nullptr) return klib::Error::kInvalidArgument;
  klib::Result<size_t> length = checked_length(path);
  if (!length) return length.error();
  Busy busy(*this);
  if (fs_ == nullptr) return klib::Error::kNoDevice;
  klib::Result<Inode*> inode = walk(path, length.value(), nullptr, nullptr, nullptr);
  if (!inode) return inode.error();
  memcpy(out, inode.value(), sizeof(Inode));
  // The copy is the caller's: no pointers into the cache.
  out->refs = 0;
  out->lru_prev = out->lru_next = out->hash_next = nullptr;
  put_inode(inode.value());
  return {};
}

klib::Result<size_t> Vfs::read(Handle h, void* buffer, size_t count) {
  Busy busy(*this);
  klib::Result<Slot*> r = slot_of(h);
  if (!r) return r.error();
  Slot& s = *r.value();
  if (s.flags == kWriteOnly || (buffer == nullptr && count != 0)) return klib::Error::kInvalidArgument;
  if (s.inode->mode == kInodeDir) return size_t(0);
  if (s.position >= s.inode->size || count == 0) return size_t(0);
  klib::Result<size_t> n = fs_->read(*s.inode, s.position, buffer, count);
  if (n) s.position += n.value();
  return n;
}

klib::Result<size_t> Vfs::write(Handle h, const void* buffer, size_t count) {
  Busy busy(*this);
  klib::Result<Slot*> r = slot_of(h);
  if (!r) return r.error();
  Slot& s = *r.value();
  if (s.flags == kReadOnly || (buffer == nullptr && count != 0)) return klib::Error::kInvalidArgument;
  if (s.inode->mode == kInodeDir) return klib::Error::kIsDirectory;
  if (count == 0) return size_t(0);
  s.written = true;
  klib::Result<size_t> n = fs_->write(*s.inode, s.position, buffer, count);
  if (n) s.position += n.value();
  return n;
}

klib::Result<uint64_t> Vfs::seek(Handle h, int64_t offset, Whence whence) {
  Busy busy(*this);
  klib::Result<Slot*> r = slot_of(h);
  if (!r) return r.error();
  Slot& s = *r.value();
  if (s.inode->mode == kInodeDir) return uint64_t(0);
  int64_t target;
  switch (whence) {
    case Whence::kSet:
      target = offset;
      break;
    case Whence::kCur:
      if ((offset > 0 && s.position > uint64_t(INT64_MAX - offset))) return klib::Error::kInvalidArgument;
      target = int64_t(s.position) + offset;
      break;
    case Whence::kEnd:
      target = int64_t(s.inode->size);
      break;
    default:
      return klib::Error::kInvalidArgument;
  }
  if (target < 0) return klib::Error::kInvalidArgument;
  s.position = uint64_t(target);
  return s.position;
}

klib::Status Vfs::close(Handle h) {
  Busy busy(*this);
  klib::Result<Slot*> r = slot_of(h);
  if (!r) return r.error();
  Slot& s = *r.value();
  klib::Status result;
  if (s.written) {
    // Durability: the inode's metadata, then every dirty block of the volume, then the
    // device's cache, before close returns.
    if (s.inode->dirty) result = fs_->write_inode(*s.inode);
    klib::Status synced = fs_->sync();
    if (result) result = synced;
  }
  Inode* inode = s.inode;
  s.used = false;
  s.inode = nullptr;
  ++s.generation;
  --open_count_;
  put_inode(inode);
  return result;
}

}  // namespace fs
