#include <fs/vfs.h>
#include <gtest/gtest.h>

#include <string>

#include "mem_disk.h"
#include "ram_fs.h"

namespace {

using fs::Handle;
using fs::Vfs;
using fs::testing::kMallocMemory;
using fs::testing::RamFs;

RamFs* g_ram = nullptr;  // what the next mount returns

const fs::FileSystemType kRamType = {
    "ram", [](fs::BlockIo&, const fs::Memory&, const fs::MountOptions&) -> klib::Result<fs::FileSystem*> {
      return static_cast<fs::FileSystem*>(g_ram);
    }};

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_ram = &ram;
    ram.create_path("/dir", fs::kInodeDir);
    ram.create_path("/dir/file", fs::kInodeReg, "hello, world");
    vfs.init(kMallocMemory, {});
    ASSERT_TRUE(vfs.mount(kRamType, disk, {}));
  }
  void TearDown() override { (void)vfs.unmount(true); }

  struct Ram : RamFs {
    void create_path(const std::string& path, uint32_t mode, const std::string& data = "") {
      uint64_t dir = 1;
      size_t pos = 1;
      for (;;) {
        size_t slash = path.find('/', pos);
        std::string name = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
        if (slash == std::string::npos) {
          nodes[next_ino] = Node{mode, data, {}};
          nodes[dir].children[name] = next_ino++;
          return;
        }
        dir = nodes[dir].children.at(name);
        pos = slash + 1;
      }
    }
  };
  Ram ram;
  fs::testing::MemDisk disk{8};
  Vfs vfs;
};

TEST_F(VfsTest, OpensReadsAndSeeksAFile) {
  klib::Result<Handle> h = vfs.open("/dir/file", fs::kReadOnly);
  ASSERT_TRUE(h);
  EXPECT_NE(h.value(), 0u);
  char buf[32] = {};
  EXPECT_EQ(vfs.read(h.value(), buf, 5).value(), 5u);
  EXPECT_STREQ(buf, "hello");
  EXPECT_EQ(vfs.seek(h.value(), 2, fs::Whence::kCur).value(), 7u);
  EXPECT_EQ(vfs.read(h.value(), buf, sizeof buf).value(), 5u);
  EXPECT_EQ(std::string(buf, 5), "world");
  EXPECT_EQ(vfs.read(h.value(), buf, sizeof buf).value(), 0u);        // at the end
  EXPECT_EQ(vfs.seek(h.value(), 99, fs::Whence::kEnd).value(), 12u);  // SeekEof ignores the offset
  EXPECT_EQ(vfs.seek(h.value(), -1, fs::Whence::kSet).error(), klib::Error::kInvalidArgument);
  EXPECT_TRUE(vfs.close(h.value()));
}

TEST_F(VfsTest, PathsResolveLikeToroAndBadOnesAreDefinedErrors) {
  fs::Inode st;
  ASSERT_TRUE(vfs.stat("/dir/", &st));  // a trailing '/' is the directory
  EXPECT_EQ(st.mode, fs::kInodeDir);
  ASSERT_TRUE(vfs.stat("//dir//file", &st));
  EXPECT_EQ(st.size, 12u);
  ASSERT_TRUE(vfs.stat("/", &st));
  EXPECT_EQ(st.ino, 1u);
  ASSERT_TRUE(vfs.stat("/..", &st));  // the root's parent is the root
  EXPECT_EQ(st.ino, 1u);
  EXPECT_EQ(vfs.stat("dir/file", &st).error(), klib::Error::kInvalidArgument);  // no leading '/'
  EXPECT_EQ(vfs.stat("/nothing", &st).error(), klib::Error::kNotFound);
  EXPECT_EQ(vfs.stat("/dir/file/x", &st).error(), klib::Error::kNotDirectory);
  std::string long_name = "/" + std::string(fs::kMaxName + 1, 'a');
  EXPECT_EQ(vfs.stat(long_name.c_str(), &st).error(), klib::Error::kNameTooLong);
  std::string long_path(fs::kMaxPath + 50, '/');
  EXPECT_EQ(vfs.stat(long_path.c_str(), &st).error(), klib::Error::kNameTooLong);
  // A path without its NUL within the limit is not read past the limit.
  std::string unterminated(fs::kMaxPath + 1, 'x');
  unterminated[0] = '/';
  EXPECT_EQ(vfs.open(unterminated.data(), fs::kReadOnly).error(), klib::Error::kNameTooLong);
  EXPECT_EQ(vfs.open(nullptr, fs::kReadOnly).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(vfs.open("/dir/file", 7).error(), klib::Error::kInvalidArgument);  // no such flag
}

TEST_F(VfsTest, AHandleUsedAfterCloseIsAnErrorNotAUseAfterFree) {
  Handle h = vfs.open("/dir/file", fs::kReadOnly).value();
  ASSERT_TRUE(vfs.close(h));
  char c;
  EXPECT_EQ(vfs.read(h, &c, 1).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(vfs.close(h).error(), klib::Error::kInvalidArgument);
  Handle again = vfs.open("/dir/file", fs::kReadOnly).value();
  EXPECT_NE(again, h);  // the same slot, a new generation
  EXPECT_EQ(vfs.read(h, &c, 1).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(vfs.read(0, &c, 1).error(), klib::Error::kInvalidArgument);
  EXPECT_EQ(vfs.read(12345, &c, 1).error(), klib::Error::kInvalidArgument);
  EXPECT_TRUE(vfs.close(again));
}

TEST_F(VfsTest, CreateWritesAndCloseSyncs) {
  klib::Result<Handle> h = vfs.create("/dir/new");
  ASSERT_TRUE(h);
  EXPECT_EQ(vfs.create("/dir/new").error(), klib::Error::kExists);
  EXPECT_EQ(vfs.write(h.value(), "abc", 3).value(), 3u);
  const int syncs = ram.syncs;
  EXPECT_TRUE(vfs.close(h.value()));
  EXPECT_EQ(ram.syncs, syncs + 1);  // durable when close returns
  fs::Inode st;
  ASSERT_TRUE(vfs.stat("/dir/new", &st));
  EXPECT_EQ(st.size, 3u);
  // A read-only handle writes nothing; a handle that only read does not sync at close.
  Handle r = vfs.open("/dir/new", fs::kReadOnly).value();
  EXPECT_EQ(vfs.write(r, "x", 1).error(), klib::Error::kInvalidArgument);
  EXPECT_TRUE(vfs.close(r));
  EXPECT_EQ(ram.syncs, syncs + 1);
  EXPECT_TRUE(vfs.mkdir("/sub"));
  ASSERT_TRUE(vfs.stat("/sub", &st));
  EXPECT_EQ(st.mode, fs::kInodeDir);
  EXPECT_EQ(vfs.mkdir("/").error(), klib::Error::kInvalidArgument);
}

TEST_F(VfsTest, DirectoriesOpenAndReadAsEmpty) {
  Handle h = vfs.open("/dir", fs::kReadOnly).value();
  char c;
  EXPECT_EQ(vfs.read(h, &c, 1).value(), 0u);
  EXPECT_EQ(vfs.seek(h, 5, fs::Whence::kSet).value(), 0u);
  EXPECT_TRUE(vfs.close(h));
}

TEST_F(VfsTest, TheInodeCacheIsBoundedAndReusesInodes) {
  for (int i = 0; i < 400; ++i) ram.create_path("/f" + std::to_string(i), fs::kInodeReg, "x");
  fs::Inode st;
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(vfs.stat(("/f" + std::to_string(i)).c_str(), &st));
  EXPECT_LE(vfs.stats().cached_inodes, Vfs::kMaxCachedInodes);
  EXPECT_EQ(vfs.stats().referenced_inodes, 0u);
  const int reads = ram.read_inodes;
  ASSERT_TRUE(vfs.stat("/f399", &st));  // recent: cached
  EXPECT_EQ(ram.read_inodes, reads);
}

TEST_F(VfsTest, ManyHandlesGrowTheTableAndOneMountPerVfs) {
  std::vector<Handle> hs;
  for (int i = 0; i < 200; ++i) hs.push_back(vfs.open("/dir/file", fs::kReadOnly).value());
  EXPECT_EQ(vfs.open_handles(), 200u);
  EXPECT_EQ(vfs.unmount().error(), klib::Error::kBusy);
  for (Handle h : hs) EXPECT_TRUE(vfs.close(h));
  EXPECT_EQ(vfs.mount(kRamType, disk, {}).error(), klib::Error::kBusy);
  EXPECT_EQ(vfs.stats().referenced_inodes, 0u);
}

TEST_F(VfsTest, AHandleOfAnEarlierMountIsNotValidAfterARemount) {
  Handle old = vfs.open("/dir/file", fs::kReadOnly).value();
  ASSERT_TRUE(vfs.unmount(true));
  ASSERT_TRUE(vfs.mount(kRamType, disk, {}));
  Handle fresh = vfs.open("/dir/file", fs::kReadOnly).value();
  EXPECT_NE(fresh, old);
  char c;
  EXPECT_EQ(vfs.read(old, &c, 1).error(), klib::Error::kInvalidArgument);
  EXPECT_TRUE(vfs.close(fresh));
}

TEST_F(VfsTest, FoundNamesAreLookedUpOnceAndOthersEveryTime) {
  fs::Inode st;
  ASSERT_TRUE(vfs.stat("/dir/file", &st));
  const uint64_t ino = st.ino;
  const int lookups = ram.lookups;
  // The same components again, however the path spells its slashes: from the name cache.
  ASSERT_TRUE(vfs.stat("/dir/file", &st));
  ASSERT_TRUE(vfs.stat("//dir//file", &st));
  Handle h = vfs.open("/dir/file", fs::kReadOnly).value();
  EXPECT_TRUE(vfs.close(h));
  EXPECT_EQ(ram.lookups, lookups);
  EXPECT_EQ(st.ino, ino);
  EXPECT_GE(vfs.stats().name_hits, 6u);
  // A name that was not found is asked again, so a file created meanwhile is seen.
  EXPECT_EQ(vfs.stat("/dir/later", &st).error(), klib::Error::kNotFound);
  EXPECT_EQ(vfs.stat("/dir/later", &st).error(), klib::Error::kNotFound);
  EXPECT_EQ(ram.lookups, lookups + 2);
  Handle c = vfs.create("/dir/later").value();
  EXPECT_TRUE(vfs.close(c));
  ASSERT_TRUE(vfs.stat("/dir/later", &st));
  EXPECT_EQ(st.mode, fs::kInodeReg);
  // Names too long to keep still resolve, by lookup each time.
  const std::string longname = "/dir/" + std::string(60, 'n');
  ram.create_path(longname, fs::kInodeReg, "x");
  const int before = ram.lookups;
  ASSERT_TRUE(vfs.stat(longname.c_str(), &st));
  ASSERT_TRUE(vfs.stat(longname.c_str(), &st));
  EXPECT_EQ(ram.lookups, before + 2);  // "dir" from the cache, the long name looked up twice
  // Many names in one directory share 64 slots: every one still resolves to its own inode.
  for (int i = 0; i < 300; ++i) ram.create_path("/dir/g" + std::to_string(i), fs::kInodeReg, std::string(i, 'x'));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(vfs.stat(("/dir/g" + std::to_string(i)).c_str(), &st));
      ASSERT_EQ(st.size, uint64_t(i));
    }
  }
  // One name in many directories (more than the slots, so some share one): each its own file.
  for (int i = 0; i < 100; ++i) {
    ram.create_path("/d" + std::to_string(i), fs::kInodeDir);
    ram.create_path("/d" + std::to_string(i) + "/index.html", fs::kInodeReg, std::string(i, 'y'));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(vfs.stat(("/d" + std::to_string(i) + "/index.html").c_str(), &st));
      ASSERT_EQ(st.size, uint64_t(i));
    }
  }
}

TEST_F(VfsTest, TheNameCacheIsEmptiedByUnmount) {
  fs::Inode st;
  ASSERT_TRUE(vfs.stat("/dir/file", &st));
  ASSERT_TRUE(vfs.unmount(true));
  // The next volume has other inodes behind the same names.
  ram.nodes.clear();
  ram.nodes[1] = {fs::kInodeDir, "", {}};
  ram.next_ino = 50;
  ram.create_path("/dir", fs::kInodeDir);
  ram.create_path("/dir/file", fs::kInodeReg, "another volume");
  ASSERT_TRUE(vfs.mount(kRamType, disk, {}));
  ASSERT_TRUE(vfs.stat("/dir/file", &st));
  EXPECT_EQ(st.size, 14u);
  EXPECT_EQ(st.ino, 51u);
}

}  // namespace
