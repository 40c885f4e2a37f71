// A filesystem in host memory for the VFS tests: the smallest thing that keeps the
// fs::FileSystem contract (inodes by number, names in directories, data that grows and
// shrinks), counting the calls the VFS makes. No BlockIo: mount ignores it.
#pragma once

#include <fs/filesystem.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace fs::testing {

class RamFs : public FileSystem {
 public:
  struct Node {
    uint32_t mode;
    std::string data;
    std::map<std::string, uint64_t> children;
  };
  RamFs() { nodes[1] = Node{kInodeDir, {}, {}}; }

  uint64_t root_ino() const override { return 1; }
  klib::Status read_inode(Inode& inode) override {
    ++read_inodes;
    auto it = nodes.find(inode.ino);
    if (it == nodes.end()) return klib::Error::kNotFound;
    inode.mode = it->second.mode;
    inode.size = it->second.data.size();
    inode.links = 1;
    return {};
  }
  klib::Status write_inode(Inode& inode) override {
    ++write_inodes;
    inode.dirty = false;
    return {};
  }
  klib::Result<uint64_t> lookup(Inode& dir, const char* name, size_t length) override {
    ++lookups;
    Node& d = nodes.at(dir.ino);
    if (d.mode != kInodeDir) return klib::Error::kNotDirectory;
    auto it = d.children.find(std::string(name, length));
    if (it == d.children.end()) return klib::Error::kNotFound;
    return it->second;
  }
  klib::Result<size_t> read(Inode& file, uint64_t offset, void* buffer, size_t count) override {
    Node& n = nodes.at(file.ino);
    if (n.mode == kInodeDir) return klib::Error::kIsDirectory;
    if (offset >= n.data.size()) return size_t(0);
    const size_t k = std::min<size_t>(count, n.data.size() - offset);
    memcpy(buffer, n.data.data() + offset, k);
    return k;
  }
  klib::Result<size_t> write(Inode& file, uint64_t offset, const void* buffer, size_t count) override {
    if (readonly) return klib::Error::kReadOnly;
    Node& n = nodes.at(file.ino);
    if (n.data.size() < offset + count) n.data.resize(offset + count, '\0');
    memcpy(n.data.data() + offset, buffer, count);
    file.size = n.data.size();
    file.dirty = true;
    return count;
  }
  klib::Status truncate(Inode& file, uint64_t size) override {
    nodes.at(file.ino).data.resize(size, '\0');
    file.size = size;
    file.dirty = true;
    return {};
  }
  klib::Result<uint64_t> create(Inode& dir, const char* name, size_t length, uint32_t mode) override {
    if (readonly) return klib::Error::kReadOnly;
    if (length > kMaxName) return klib::Error::kNameTooLong;
    Node& d = nodes.at(dir.ino);
    std::string key(name, length);
    if (d.children.count(key) != 0) return klib::Error::kExists;
    const uint64_t ino = next_ino++;
    nodes[ino] = Node{mode, {}, {}};
    nodes.at(dir.ino).children[key] = ino;
    dir.dirty = true;
    return ino;
  }
  klib::Result<bool> read_dir(Inode& dir, uint64_t* cookie, DirEntry* entry) override {
    Node& d = nodes.at(dir.ino);
    auto it = d.children.begin();
    std::advance(it, std::min<size_t>(*cookie, d.children.size()));
    if (it == d.children.end()) return false;
    entry->ino = it->second;
    entry->mode = nodes.at(it->second).mode;
    entry->name_length = uint16_t(it->first.size());
    memcpy(entry->name, it->first.c_str(), it->first.size() + 1);
    ++*cookie;
    return true;
  }
  klib::Status sync() override {
    ++syncs;
    return {};
  }
  uint64_t free_bytes() override { return 1 << 30; }
  void unmount() override { ++unmounts; }

  std::map<uint64_t, Node> nodes;
  uint64_t next_ino = 2;
  bool readonly = false;
  int read_inodes = 0, write_inodes = 0, lookups = 0, syncs = 0, unmounts = 0;
};

}  // namespace fs::testing
