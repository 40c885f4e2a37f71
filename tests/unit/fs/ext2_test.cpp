// The ext2 driver against images made by mke2fs (e2fsprogs, in /usr/sbin) and loaded into a
// MemDisk: files of every size read back byte-exact, writes checked on the host by e2fsck and
// debugfs, and damaged images that must give errors, not crashes (also run under ASan+UBSan as
// fs-asan). Skipped where e2fsprogs is missing.
#include <fs/ext2/ext2.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mem_disk.h"

namespace {

using fs::Inode;
using fs::testing::kMallocMemory;
using fs::testing::MemDisk;

constexpr const char* kMke2fs = "/usr/sbin/mke2fs";
constexpr const char* kE2fsck = "/usr/sbin/e2fsck";
constexpr const char* kDebugfs = "/usr/sbin/debugfs";

bool have_tools() { return access(kMke2fs, X_OK) == 0 && access(kE2fsck, X_OK) == 0 && access(kDebugfs, X_OK) == 0; }

uint32_t fixed_clock() { return 1700000000; }

// A byte pattern that does not repeat with any block size.
std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = uint8_t(x >> 16);
  }
  return v;
}

int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    if (out != nullptr) out->append(buf, n);
  }
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  FILE* f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!data.empty()) {
    ASSERT_EQ(fwrite(data.data(), 1, data.size(), f), data.size());
  }
  fclose(f);
}

// A scratch directory, removed at the end of the test.
struct Scratch {
  std::string dir;
  Scratch() {
    char t[] = "/tmp/ext2_test_XXXXXX";
    dir = mkdtemp(t);
  }
  ~Scratch() { run("rm -rf '" + dir + "'"); }
  std::string operator/(const std::string& name) const { return dir + "/" + name; }
};

struct Image {
  std::string args;  // e.g. "-b 1024" or "-b 1024 -r 0"
  uint32_t block;
};

// Makes an image of `megabytes` from the files under `tree` (empty: no -d).
bool make_image(const Scratch& s, const std::string& img, const std::string& args, int megabytes,
                const std::string& tree) {
  std::string cmd = std::string(kMke2fs) + " -q -F -t ext2 " + args + (tree.empty() ? "" : " -d '" + tree + "'") +
                    " '" + img + "' " + std::to_string(megabytes) + "M";
  std::string out;
  int rc = run(cmd, &out);
  if (rc != 0) ADD_FAILURE() << cmd << "\n" << out;
  (void)s;
  return rc == 0;
}

struct Mounted {
  MemDisk disk{0};
  fs::FileSystem* v = nullptr;
  size_t cache_bytes = 4 << 20;
  bool mount(const std::string& img) {
    disk = MemDisk::from_file(img);
    return remount();
  }
  // Mounts what the disk holds now.
  bool remount() {
    fs::MountOptions o;
    o.now = fixed_clock;
    o.cache_bytes = cache_bytes;
    klib::Result<fs::FileSystem*> r = fs::ext2::kType.mount(disk, kMallocMemory, o);
    if (!r) {
      ADD_FAILURE() << "mount: " << klib::error_text(r.error());
      return false;
    }
    v = r.value();
    return true;
  }
  void unmount() {
    if (v != nullptr) v->unmount();
    v = nullptr;
  }
  ~Mounted() { unmount(); }

  klib::Result<uint64_t> resolve(const std::string& path) {
    uint64_t ino = v->root_ino();
    size_t i = 1;
    while (i < path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      Inode dir{};
      dir.ino = ino;
      klib::Status s = v->read_inode(dir);
      if (!s) return s.error();
      klib::Result<uint64_t> r = v->lookup(dir, path.data() + i, j - i);
      if (!r) return r;
      ino = r.value();
      i = j + 1;
    }
    return ino;
  }
  bool open(const std::string& path, Inode& in) {
    klib::Result<uint64_t> r = resolve(path);
    if (!r) return false;
    in = Inode{};
    in.ino = r.value();
    return bool(v->read_inode(in));
  }
  std::vector<uint8_t> read_all(const std::string& path) {
    Inode in{};
    EXPECT_TRUE(open(path, in)) << path;
    std::vector<uint8_t> data(in.size);
    klib::Result<size_t> r = v->read(in, 0, data.data(), data.size());
    EXPECT_TRUE(r) << path;
    if (r) {
      EXPECT_EQ(r.value(), data.size());
    }
    return data;
  }
  // Creates `name` in the directory at `dir_path`; its inode number.
  uint64_t create(const std::string& dir_path, const std::string& name, uint32_t mode) {
    Inode dir{};
    EXPECT_TRUE(open(dir_path, dir)) << dir_path;
    klib::Result<uint64_t> r = v->create(dir, name.data(), name.size(), mode);
    EXPECT_TRUE(r) << name << ": " << klib::error_text(r.error());
    if (dir.dirty) {
      EXPECT_TRUE(v->write_inode(dir));
    }
    return r ? r.value() : 0;
  }
  void write_at(const std::string& path, uint64_t offset, const std::vector<uint8_t>& data) {
    Inode in{};
    ASSERT_TRUE(open(path, in)) << path;
    klib::Result<size_t> r = v->write(in, offset, data.data(), data.size());
    ASSERT_TRUE(r) << klib::error_text(r.error());
    EXPECT_EQ(r.value(), data.size());
    EXPECT_TRUE(v->write_inode(in));
  }
  std::vector<std::string> list(const std::string& path) {
    Inode dir{};
    EXPECT_TRUE(open(path, dir));
    std::vector<std::string> names;
    uint64_t cookie = 0;
    fs::DirEntry e;
    for (int guard = 0; guard < 100000; ++guard) {
      klib::Result<bool> r = v->read_dir(dir, &cookie, &e);
      EXPECT_TRUE(r);
      if (!r || !r.value()) break;
      names.push_back(std::string(e.name, e.name_length) + (e.mode == fs::kInodeDir ? "/" : ""));
    }
    return names;
  }
};

// The host's view: e2fsck finds nothing to fix, debugfs reads the same bytes.
void expect_fsck_clean(const std::string& img) {
  std::string out;
  int rc = run(std::string(kE2fsck) + " -fn '" + img + "'", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("Fix?"), std::string::npos) << out;  // free counts too
}

std::vector<uint8_t> debugfs_cat(const std::string& img, const std::string& path) {
  std::string cmd = std::string(kDebugfs) + " -R 'cat " + path + "' '" + img + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::vector<uint8_t> data;
  if (p == nullptr) return data;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) data.insert(data.end(), buf, buf + n);
  pclose(p);
  return data;
}

// The first number debugfs prints for a request (a block of `bmap`, say).
uint64_t debugfs_number(const std::string& img, const std::string& request) {
  std::string out;
  run(std::string(kDebugfs) + " -R '" + request + "' '" + img + "'", &out);
  // After the banner line ("debugfs 1.47.0 ...").
  size_t line = out.rfind('\n', out.size() > 1 ? out.size() - 2 : 0);
  return strtoull(out.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr, 0);
}

class Ext2Read : public ::testing::TestWithParam<Image> {};

TEST_P(Ext2Read, FilesOfEverySizeAndNestedDirectoriesReadBack) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string tree = s / "tree";
  mkdir(tree.c_str(), 0755);
  mkdir((tree + "/sub").c_str(), 0755);
  mkdir((tree + "/sub/deep").c_str(), 0755);
  const std::vector<size_t> sizes = {0, 1, 1024, 10240, 102400, 1 << 20};
  for (size_t i = 0; i < sizes.size(); ++i) write_file(tree + "/f" + std::to_string(sizes[i]), pattern(sizes[i], i));
  write_file(tree + "/sub/deep/leaf", pattern(3000, 77));
  const bool big = GetParam().block == 1024;  // 20 MiB: double indirect blocks at 1 KiB
  if (big) write_file(tree + "/big", pattern(20 << 20, 99));
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, GetParam().args, big ? 32 : 8, tree));

  Mounted m;
  ASSERT_TRUE(m.mount(img));
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(m.read_all("/f" + std::to_string(sizes[i])), pattern(sizes[i], i)) << sizes[i];
  }
  EXPECT_EQ(m.read_all("/sub/deep/leaf"), pattern(3000, 77));
  if (big) {
    EXPECT_EQ(m.read_all("/big"), pattern(20 << 20, 99));
  }

  // Reads that start and end inside blocks.
  Inode f{};
  ASSERT_TRUE(m.open("/f102400", f));
  const std::vector<uint8_t> want = pattern(102400, 4);
  std::vector<uint8_t> part(5000);
  auto r = m.v->read(f, 1000, part.data(), part.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 5000u);
  EXPECT_TRUE(memcmp(part.data(), want.data() + 1000, 5000) == 0);
  r = m.v->read(f, 102000, part.data(), part.size());  // clipped at the end
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 400u);
  r = m.v->read(f, 200000, part.data(), part.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 0u);

  auto root = m.list("/");
  for (const char* name : {"f0", "f1", "f1024", "f1048576", "sub/", "lost+found/"}) {
    EXPECT_NE(std::find(root.begin(), root.end(), name), root.end()) << name;
  }
  EXPECT_EQ(m.list("/sub"), std::vector<std::string>{"deep/"});
  EXPECT_EQ(m.resolve("/nothing").error(), klib::Error::kNotFound);
  EXPECT_EQ(m.resolve("/f1/x").error(), klib::Error::kNotDirectory);
  Inode dir{};
  ASSERT_TRUE(m.open("/sub", dir));
  EXPECT_EQ(dir.mode, fs::kInodeDir);
  EXPECT_EQ(m.v->read(dir, 0, part.data(), 10).error(), klib::Error::kIsDirectory);
}

TEST_P(Ext2Read, WritesCreatesAndTruncatesPassE2fsck) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string tree = s / "tree";
  mkdir(tree.c_str(), 0755);
  write_file(tree + "/old", pattern(50000, 1));
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, GetParam().args, 16, tree));
  const uint32_t bs = GetParam().block;

  Mounted m;
  ASSERT_TRUE(m.mount(img));
  const uint64_t free_before = m.v->free_bytes();
  // A new file past the double indirect boundary at 1 KiB (12 + 256 blocks), written in pieces
  // that straddle blocks.
  m.create("/", "new.bin", fs::kInodeReg);
  const std::vector<uint8_t> big = pattern(3 << 20, 2);
  for (size_t at = 0; at < big.size();) {
    size_t n = std::min<size_t>(big.size() - at, 100000 + at % 777);
    m.write_at("/new.bin", at, std::vector<uint8_t>(big.begin() + long(at), big.begin() + long(at + n)));
    at += n;
  }
  EXPECT_LT(m.v->free_bytes(), free_before - big.size());
  EXPECT_EQ(m.read_all("/new.bin"), big);
  // Directories, nested, with files.
  m.create("/", "dir", fs::kInodeDir);
  m.create("/dir", "inner", fs::kInodeDir);
  m.create("/dir/inner", "note.txt", fs::kInodeReg);
  m.write_at("/dir/inner/note.txt", 0, pattern(777, 3));
  Inode d{};
  ASSERT_TRUE(m.open("/dir", d));
  EXPECT_EQ(d.links, 3u);
  EXPECT_EQ(m.list("/dir"), std::vector<std::string>{"inner/"});
  // Directories spread over the groups.
  for (int i = 0; i < 12; ++i) m.create("/", "top" + std::to_string(i), fs::kInodeDir);
  m.create("/top11", "in11", fs::kInodeReg);
  m.write_at("/top11/in11", 5, pattern(bs * 14, 12));
  // Many names: the directory grows by blocks (past its 12 direct ones at 1 KiB).
  for (int i = 0; i < 260; ++i) {
    m.create("/dir", "a-rather-long-file-name-to-fill-blocks-" + std::to_string(i), fs::kInodeReg);
  }
  ASSERT_TRUE(m.open("/dir", d));
  EXPECT_GT(d.size, uint64_t(bs == 1024 ? 12 * bs : bs));
  EXPECT_EQ(m.list("/dir").size(), 261u);
  // Existing names.
  Inode root{};
  ASSERT_TRUE(m.open("/", root));
  EXPECT_EQ(m.v->create(root, "old", 3, fs::kInodeReg).error(), klib::Error::kExists);
  std::string longname(256, 'x');
  EXPECT_EQ(m.v->create(root, longname.data(), longname.size(), fs::kInodeReg).error(), klib::Error::kNameTooLong);
  // An old file overwritten in the middle and extended.
  std::vector<uint8_t> old = pattern(50000, 1);
  const std::vector<uint8_t> patch = pattern(9000, 4);
  m.write_at("/old", 20000, patch);
  std::copy(patch.begin(), patch.end(), old.begin() + 20000);
  const std::vector<uint8_t> tail = pattern(3000, 5);
  m.write_at("/old", 60000, tail);  // a hole of 10000 bytes before it
  old.resize(60000, 0);
  old.insert(old.end(), tail.begin(), tail.end());
  EXPECT_EQ(m.read_all("/old"), old);
  // Truncations: down inside a block (the rest must read as zeros when grown again), to zero.
  Inode t{};
  ASSERT_TRUE(m.open("/new.bin", t));
  ASSERT_TRUE(m.v->truncate(t, 300001));
  ASSERT_TRUE(m.v->write_inode(t));
  ASSERT_TRUE(m.v->truncate(t, 400000));
  ASSERT_TRUE(m.v->write_inode(t));
  std::vector<uint8_t> cut(big.begin(), big.begin() + 300001);
  cut.resize(400000, 0);
  EXPECT_EQ(m.read_all("/new.bin"), cut);
  m.create("/", "gone", fs::kInodeReg);
  m.write_at("/gone", 0, pattern(200000, 6));
  Inode g{};
  ASSERT_TRUE(m.open("/gone", g));
  ASSERT_TRUE(m.v->truncate(g, 0));
  ASSERT_TRUE(m.v->write_inode(g));
  // A sparse file: one byte far out (triple indirect at 1 KiB blocks).
  m.create("/", "sparse", fs::kInodeReg);
  // (At 2 and 4 KiB the triple indirect tree starts past 0.5 and 4 GiB: there, a double one.)
  const uint64_t far = bs == 1024 ? (uint64_t(12 + 256 + 65536) << 10) + 5 : uint64_t(12 + bs / 4 + 3) * bs + 5;
  m.write_at("/sparse", far, {0x5A});
  Inode sp{};
  ASSERT_TRUE(m.open("/sparse", sp));
  EXPECT_EQ(sp.size, far + 1);
  uint8_t probe[2] = {1, 1};
  ASSERT_TRUE(m.v->read(sp, far - 1, probe, 2));
  EXPECT_EQ(probe[0], 0);
  EXPECT_EQ(probe[1], 0x5A);
  ASSERT_TRUE(m.v->sync());
  m.unmount();
  ASSERT_TRUE(m.disk.save(img));

  expect_fsck_clean(img);
  EXPECT_EQ(debugfs_cat(img, "/new.bin"), cut);
  EXPECT_EQ(debugfs_cat(img, "/old"), old);
  EXPECT_EQ(debugfs_cat(img, "/dir/inner/note.txt"), pattern(777, 3));
  std::vector<uint8_t> in11(5, 0);
  const std::vector<uint8_t> body = pattern(bs * 14, 12);
  in11.insert(in11.end(), body.begin(), body.end());
  EXPECT_EQ(debugfs_cat(img, "/top11/in11"), in11);
  EXPECT_TRUE(debugfs_cat(img, "/gone").empty());
  std::vector<uint8_t> sparse = debugfs_cat(img, "/sparse");
  ASSERT_EQ(sparse.size(), far + 1);
  EXPECT_EQ(sparse.back(), 0x5A);

  // And it mounts again with everything there.
  Mounted again;
  ASSERT_TRUE(again.mount(img));
  EXPECT_EQ(again.read_all("/dir/inner/note.txt"), pattern(777, 3));
  EXPECT_EQ(again.list("/dir").size(), 261u);
}

// Revisions 0 and 1 at every block size, and two features a Linux-made volume may have:
// flex_bg (bitmaps and tables elsewhere) and a clean ext3 journal (left alone).
INSTANTIATE_TEST_SUITE_P(Ext2, Ext2Read,
                         ::testing::Values(Image{"-b 1024", 1024}, Image{"-b 2048", 2048}, Image{"-b 4096", 4096},
                                           Image{"-b 1024 -r 0", 1024}, Image{"-b 4096 -r 0", 4096},
                                           Image{"-b 1024 -O flex_bg", 1024}, Image{"-b 4096 -O has_journal", 4096}),
                         [](const ::testing::TestParamInfo<Image>& i) {
                           std::string name;
                           for (char c : i.param.args) {
                             if (isalnum(static_cast<unsigned char>(c))) name += c;
                           }
                           return name;
                         });

TEST(Ext2, ContiguousFileIsReadInFewRequests) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string tree = s / "tree";
  mkdir(tree.c_str(), 0755);
  write_file(tree + "/mb", pattern(1 << 20, 8));
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, "-b 1024", 8, tree));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  Inode f{};
  ASSERT_TRUE(m.open("/mb", f));
  std::vector<uint8_t> data(1 << 20);
  const uint64_t before = m.disk.reads;
  ASSERT_TRUE(m.v->read(f, 0, data.data(), data.size()));
  EXPECT_EQ(data, pattern(1 << 20, 8));
  EXPECT_LE(m.disk.reads - before, 16u);  // runs between the indirect blocks, not 1024 requests
}

TEST(Ext2, FullVolumeGivesShortWriteAndStaysConsistent) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, "-b 1024 -m 0", 2, ""));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  m.create("/", "fill", fs::kInodeReg);
  Inode f{};
  ASSERT_TRUE(m.open("/fill", f));
  std::vector<uint8_t> data = pattern(4 << 20, 9);
  auto r = m.v->write(f, 0, data.data(), data.size());
  ASSERT_TRUE(r);
  EXPECT_LT(r.value(), data.size());
  EXPECT_GT(r.value(), 1000000u);
  EXPECT_EQ(m.v->free_bytes(), 0u);
  auto again = m.v->write(f, r.value(), data.data(), 4096);
  EXPECT_EQ(again.error(), klib::Error::kNoSpace);
  ASSERT_TRUE(m.v->write_inode(f));
  Inode root{};
  ASSERT_TRUE(m.open("/", root));
  EXPECT_FALSE(m.v->create(root, "d", 1, fs::kInodeDir));  // no block for it
  const size_t written = r.value();
  m.unmount();
  ASSERT_TRUE(m.disk.save(img));
  expect_fsck_clean(img);
  data.resize(written);
  EXPECT_EQ(debugfs_cat(img, "/fill"), data);
}

// Random operations against a model in memory, with a small cache (evictions, write-backs) and
// remounts: every file reads back as the model says, e2fsck finds nothing, debugfs agrees.
TEST(Ext2, RandomOperationsMatchAModelAndPassE2fsck) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  for (const char* args : {"-b 1024", "-b 4096 -r 0"}) {
    SCOPED_TRACE(args);
    Scratch s;
    const std::string img = s / "img";
    ASSERT_TRUE(make_image(s, img, args, 24, ""));
    Mounted m;
    m.cache_bytes = 64 << 10;
    ASSERT_TRUE(m.mount(img));
    std::vector<std::string> dirs = {""};
    std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
    uint32_t x = 2024;
    auto rnd = [&x](uint32_t n) {
      x = x * 1103515245u + 12345u;
      return (x >> 8) % n;
    };
    for (int step = 0; step < 400; ++step) {
      const uint32_t op = files.empty() ? 0 : rnd(12);
      if (op <= 1) {
        const std::string dir = dirs[rnd(uint32_t(dirs.size()))];
        const std::string name = "file-" + std::to_string(step);
        m.create(dir.empty() ? "/" : dir, name, fs::kInodeReg);
        files.push_back({dir + "/" + name, {}});
      } else if (op == 2 && dirs.size() < 20) {
        const std::string dir = dirs[rnd(uint32_t(dirs.size()))];
        const std::string name = "dir-" + std::to_string(step);
        m.create(dir.empty() ? "/" : dir, name, fs::kInodeDir);
        dirs.push_back(dir + "/" + name);
      } else if (op <= 7) {
        auto& f = files[rnd(uint32_t(files.size()))];
        const uint64_t offset = rnd(8) == 0 ? rnd(400000) : rnd(uint32_t(f.second.size() + 5000));
        const std::vector<uint8_t> data = pattern(rnd(30000) + 1, uint32_t(step));
        m.write_at(f.first, offset, data);
        if (f.second.size() < offset + data.size()) f.second.resize(offset + data.size(), 0);
        std::copy(data.begin(), data.end(), f.second.begin() + long(offset));
      } else if (op <= 9) {
        auto& f = files[rnd(uint32_t(files.size()))];
        const uint64_t size = rnd(uint32_t(f.second.size() * 3 / 2 + 2));
        Inode in{};
        ASSERT_TRUE(m.open(f.first, in));
        ASSERT_TRUE(m.v->truncate(in, size));
        ASSERT_TRUE(m.v->write_inode(in));
        f.second.resize(size, 0);
      } else if (op == 10) {
        auto& f = files[rnd(uint32_t(files.size()))];
        EXPECT_EQ(m.read_all(f.first), f.second) << f.first;
      } else {
        m.unmount();
        ASSERT_TRUE(m.remount());
      }
    }
    for (auto& f : files) EXPECT_EQ(m.read_all(f.first), f.second) << f.first;
    m.unmount();
    ASSERT_TRUE(m.disk.save(img));
    expect_fsck_clean(img);
    for (size_t i = 0; i < files.size(); i += 3) EXPECT_EQ(debugfs_cat(img, files[i].first), files[i].second);
  }
}

// A write that fails on the device half-way: a short write, and no block left past the end.
TEST(Ext2, FailedWriteLeavesNoBlockPastTheEnd) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, "-b 1024", 8, ""));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  m.create("/", "f", fs::kInodeReg);
  const std::vector<uint8_t> data = pattern(100 * 1024, 13);
  m.write_at("/f", 0, data);
  ASSERT_TRUE(m.v->sync());
  ASSERT_TRUE(m.disk.save(img));
  const uint64_t block50 = debugfs_number(img, "bmap /f 50");
  ASSERT_NE(block50, 0u);
  Inode f{};
  ASSERT_TRUE(m.open("/f", f));
  ASSERT_TRUE(m.v->truncate(f, 0));
  m.disk.fail_sector = block50 * 2;  // the freed blocks are taken again, in the same order
  auto r = m.v->write(f, 0, data.data(), data.size());
  m.disk.fail_sector = ~uint64_t(0);
  ASSERT_TRUE(r);
  EXPECT_LT(r.value(), data.size());
  EXPECT_EQ(f.size, r.value());
  ASSERT_TRUE(m.v->write_inode(f));
  m.unmount();
  ASSERT_TRUE(m.disk.save(img));
  expect_fsck_clean(img);
  EXPECT_EQ(debugfs_cat(img, "/f"), std::vector<uint8_t>(data.begin(), data.begin() + long(r.value())));
}

// A file past 2 GiB (sparse: three blocks) on a volume without LARGE_FILE: the driver turns
// the feature on, as Linux does, and i_size_high holds the top of the size.
TEST(Ext2, LargeFileSetsTheFeature) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, "-b 1024 -O ^large_file", 8, ""));
  std::string out;
  run("/usr/sbin/dumpe2fs -h '" + img + "'", &out);
  ASSERT_EQ(out.find("large_file"), std::string::npos) << out;
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  m.create("/", "huge", fs::kInodeReg);
  const uint64_t at = (uint64_t(3) << 30) + 7;
  m.write_at("/huge", at, {1, 2, 3});
  Inode h{};
  ASSERT_TRUE(m.open("/huge", h));
  EXPECT_EQ(h.size, at + 3);
  uint8_t b[5] = {9, 9, 9, 9, 9};
  ASSERT_TRUE(m.v->read(h, at - 2, b, 5));
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[2], 1);
  EXPECT_EQ(b[4], 3);
  m.unmount();
  ASSERT_TRUE(m.disk.save(img));
  expect_fsck_clean(img);
  out.clear();
  run("/usr/sbin/dumpe2fs -h '" + img + "'", &out);
  EXPECT_NE(out.find("large_file"), std::string::npos) << out;
  out.clear();
  run(std::string(kDebugfs) + " -R 'stat /huge' '" + img + "'", &out);
  EXPECT_NE(out.find("Size: " + std::to_string(at + 3)), std::string::npos) << out;
}

// A directory with an htree index (e2fsck -D makes one): read as the plain list it also is,
// and a new name turns it into a plain directory that e2fsck accepts.
TEST(Ext2, IndexedDirectoryIsReadAndWrittenAsALinearOne) {
  if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
  Scratch s;
  const std::string tree = s / "tree";
  mkdir(tree.c_str(), 0755);
  mkdir((tree + "/many").c_str(), 0755);
  for (int i = 0; i < 300; ++i) {
    write_file(tree + "/many/file-with-a-long-name-number-" + std::to_string(i), pattern(size_t(i), uint32_t(i)));
  }
  const std::string img = s / "img";
  ASSERT_TRUE(make_image(s, img, "-b 1024", 8, tree));
  std::string out;
  run(std::string(kE2fsck) + " -fyD '" + img + "'", &out);
  out.clear();
  run(std::string(kDebugfs) + " -R 'stat /many' '" + img + "'", &out);
  ASSERT_NE(out.find("Flags: 0x1000"), std::string::npos) << out;  // indexed

  Mounted m;
  ASSERT_TRUE(m.mount(img));
  EXPECT_EQ(m.list("/many").size(), 300u);
  EXPECT_EQ(m.read_all("/many/file-with-a-long-name-number-123"), pattern(123, 123));
  for (int i = 0; i < 40; ++i) m.create("/many", "added-" + std::to_string(i), fs::kInodeReg);
  m.create("/many", "subdir", fs::kInodeDir);
  m.write_at("/many/added-7", 0, pattern(4000, 7));
  EXPECT_EQ(m.list("/many").size(), 341u);
  m.unmount();
  ASSERT_TRUE(m.disk.save(img));
  expect_fsck_clean(img);
  EXPECT_EQ(debugfs_cat(img, "/many/added-7"), pattern(4000, 7));
  EXPECT_EQ(debugfs_cat(img, "/many/file-with-a-long-name-number-299"), pattern(299, 299));
}

// Damaged volumes: every call fails cleanly.
class Ext2Corrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_tools()) GTEST_SKIP() << "e2fsprogs not installed";
    const std::string tree = s / "tree";
    mkdir(tree.c_str(), 0755);
    mkdir((tree + "/sub").c_str(), 0755);
    write_file(tree + "/a.txt", pattern(5000, 10));
    write_file(tree + "/big", pattern(300000, 11));
    img = s / "img";
    ASSERT_TRUE(make_image(s, img, "-b 1024", 4, tree));
  }
  void debugfs_write(const std::string& request) {
    std::string out;
    EXPECT_EQ(run(std::string(kDebugfs) + " -w -R '" + request + "' '" + img + "'", &out), 0) << out;
  }
  // The root directory's first block, in the image file.
  size_t root_block_offset() { return size_t(debugfs_number(img, "bmap <2> 0")) * 1024; }
  Scratch s;
  std::string img;
};

TEST_F(Ext2Corrupt, BadInodeNumberInADirectoryEntry) {
  MemDisk d = MemDisk::from_file(img);
  const size_t at = root_block_offset();
  uint8_t* blk = d.bytes.data() + at;
  uint8_t* name = static_cast<uint8_t*>(memmem(blk, 1024, "a.txt", 5));
  ASSERT_NE(name, nullptr);
  memset(name - 8, 0xFF, 4);  // inode 0xFFFFFFFF
  ASSERT_TRUE(d.save(img));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  EXPECT_EQ(m.resolve("/a.txt").error(), klib::Error::kCorrupt);
  Inode root{};
  ASSERT_TRUE(m.open("/", root));
  uint64_t cookie = 0;
  fs::DirEntry e;
  klib::Result<bool> r = true;
  for (int i = 0; i < 100 && r && r.value(); ++i) r = m.v->read_dir(root, &cookie, &e);
  EXPECT_EQ(r.error(), klib::Error::kCorrupt);
  Inode bad{};
  bad.ino = 0;
  EXPECT_EQ(m.v->read_inode(bad).error(), klib::Error::kNotFound);
  bad.ino = uint64_t(1) << 40;
  EXPECT_EQ(m.v->read_inode(bad).error(), klib::Error::kNotFound);
}

TEST_F(Ext2Corrupt, NamesWithANulOrASlashAreNotListed) {
  MemDisk d = MemDisk::from_file(img);
  uint8_t* blk = d.bytes.data() + root_block_offset();
  uint8_t* name = static_cast<uint8_t*>(memmem(blk, 1024, "a.txt", 5));
  ASSERT_NE(name, nullptr);
  name[1] = '\0';
  uint8_t* sub = static_cast<uint8_t*>(memmem(blk, 1024, "sub", 3));
  ASSERT_NE(sub, nullptr);
  sub[1] = '/';
  ASSERT_TRUE(d.save(img));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  std::vector<std::string> names = m.list("/");
  EXPECT_EQ(names, (std::vector<std::string>{"lost+found/", "big"}));
}

TEST_F(Ext2Corrupt, ZeroRecordLengthIsNotALoop) {
  MemDisk d = MemDisk::from_file(img);
  uint8_t* blk = d.bytes.data() + root_block_offset();
  blk[4] = blk[5] = 0;  // '.' has rec_len 0
  ASSERT_TRUE(d.save(img));
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  EXPECT_EQ(m.resolve("/a.txt").error(), klib::Error::kCorrupt);
  Inode root{};
  ASSERT_TRUE(m.open("/", root));
  uint64_t cookie = 0;
  fs::DirEntry e;
  EXPECT_EQ(m.v->read_dir(root, &cookie, &e).error(), klib::Error::kCorrupt);
  EXPECT_EQ(m.v->create(root, "new", 3, fs::kInodeReg).error(), klib::Error::kCorrupt);
  // A record running past the block.
  blk[4] = 0x00;
  blk[5] = 0x08;  // 2048
  ASSERT_TRUE(d.save(img));
  Mounted m2;
  ASSERT_TRUE(m2.mount(img));
  EXPECT_EQ(m2.resolve("/a.txt").error(), klib::Error::kCorrupt);
}

TEST_F(Ext2Corrupt, BlockPointerOutOfRange) {
  debugfs_write("sif /a.txt block[0] 99999999");
  debugfs_write("sif /big block[IND] 4000000000");
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  std::vector<uint8_t> buf(300000);
  Inode a{};
  ASSERT_TRUE(m.open("/a.txt", a));
  EXPECT_EQ(m.v->read(a, 0, buf.data(), 5000).error(), klib::Error::kCorrupt);
  EXPECT_EQ(m.v->write(a, 0, buf.data(), 5000).error(), klib::Error::kCorrupt);
  Inode b{};
  ASSERT_TRUE(m.open("/big", b));
  auto r = m.v->read(b, 0, buf.data(), buf.size());
  EXPECT_EQ(r.error(), klib::Error::kCorrupt);
  EXPECT_EQ(m.v->truncate(b, 0).error(), klib::Error::kCorrupt);
}

TEST_F(Ext2Corrupt, HugeSizes) {
  debugfs_write("sif /a.txt size 0xFFFFFFFFFFFFFF");
  debugfs_write("sif /sub size 0x7FFFFC00");
  Mounted m;
  ASSERT_TRUE(m.mount(img));
  Inode a{};
  a.ino = m.resolve("/a.txt").value_or(0);
  EXPECT_EQ(m.v->read_inode(a).error(), klib::Error::kCorrupt);
  Inode sub{};
  sub.ino = m.resolve("/sub").value_or(0);
  EXPECT_EQ(m.v->read_inode(sub).error(), klib::Error::kCorrupt);
}

TEST_F(Ext2Corrupt, TruncatedImageAndFailingSectors) {
  MemDisk d = MemDisk::from_file(img);
  d.bytes.resize(d.bytes.size() / 2);
  ASSERT_TRUE(d.save(img));
  Mounted m;
  ASSERT_TRUE(m.mount(img));  // read-only: the volume is larger than its partition
  Inode root{};
  ASSERT_TRUE(m.open("/", root));
  EXPECT_EQ(m.v->create(root, "x", 1, fs::kInodeReg).error(), klib::Error::kReadOnly);
  Inode big{};
  ASSERT_TRUE(m.open("/big", big));
  std::vector<uint8_t> buf(300000);
  auto r = m.v->read(big, 0, buf.data(), buf.size());
  if (r) {  // where it lies in the first half
    EXPECT_EQ(buf, pattern(300000, 11));
  }
  // A sector that fails: the error comes back.
  m.disk.fail_sector = 0;
  for (uint64_t s = 0; s < m.disk.sectors(); ++s) {
    m.disk.fail_sector = s;
    Inode a{};
    if (!m.open("/a.txt", a)) continue;
    std::vector<uint8_t> small(5000);
    auto rr = m.v->read(a, 0, small.data(), small.size());
    if (!rr) {
      EXPECT_EQ(rr.error(), klib::Error::kIoError);
    }
    if (s > 600) break;  // the metadata and the file are in the first sectors
  }
}

TEST_F(Ext2Corrupt, UnsupportedFeaturesAreRefusedOrReadOnly) {
  MemDisk d = MemDisk::from_file(img);
  uint8_t* sb = d.bytes.data() + 1024;
  uint8_t saved[1024];
  memcpy(saved, sb, sizeof saved);
  fs::MountOptions o;
  sb[96] |= 0x40;  // extents
  EXPECT_EQ(fs::ext2::kType.mount(d, kMallocMemory, o).error(), klib::Error::kNotSupported);
  EXPECT_NE(fs::ext2::unsupported_reason(0x40), nullptr);
  EXPECT_EQ(fs::ext2::unsupported_reason(0x2), nullptr);
  memcpy(sb, saved, sizeof saved);
  sb[24] = 3;  // 8 KiB blocks
  EXPECT_EQ(fs::ext2::kType.mount(d, kMallocMemory, o).error(), klib::Error::kNotSupported);
  memcpy(sb, saved, sizeof saved);
  sb[56] = 0;  // no magic
  EXPECT_EQ(fs::ext2::kType.mount(d, kMallocMemory, o).error(), klib::Error::kNotSupported);
  memcpy(sb, saved, sizeof saved);
  sb[102] |= 0x80;  // an unknown read-only-compatible feature
  auto r = fs::ext2::kType.mount(d, kMallocMemory, o);
  ASSERT_TRUE(r);
  fs::Inode root{};
  root.ino = r.value()->root_ino();
  ASSERT_TRUE(r.value()->read_inode(root));
  EXPECT_EQ(r.value()->create(root, "x", 1, fs::kInodeReg).error(), klib::Error::kReadOnly);
  r.value()->unmount();
  memcpy(sb, saved, sizeof saved);
  memset(sb + 32, 0, 4);  // 0 blocks per group
  EXPECT_EQ(fs::ext2::kType.mount(d, kMallocMemory, o).error(), klib::Error::kCorrupt);
  memcpy(sb, saved, sizeof saved);
  d.readonly = true;  // a read-only medium mounts read-only
  r = fs::ext2::kType.mount(d, kMallocMemory, o);
  ASSERT_TRUE(r);
  root = fs::Inode{};
  root.ino = r.value()->root_ino();
  ASSERT_TRUE(r.value()->read_inode(root));
  EXPECT_EQ(r.value()->create(root, "x", 1, fs::kInodeReg).error(), klib::Error::kReadOnly);
  EXPECT_TRUE(r.value()->sync());
  r.value()->unmount();
  MemDisk tiny(2);
  EXPECT_FALSE(fs::ext2::kType.mount(tiny, kMallocMemory, o));
}

// Random damage to the metadata: whatever happens, no crash, no hang (ASan watches).
TEST_F(Ext2Corrupt, RandomMetadataDamageIsSurvived) {
  MemDisk clean = MemDisk::from_file(img);
  // Where the damage goes: the superblock, the descriptors, the inode table around the root and
  // the first files, the root directory's block.
  std::string out;
  run(std::string(kDebugfs) + " -R 'imap <2>' '" + img + "'", &out);
  const size_t at_block = out.find("located at block ");
  ASSERT_NE(at_block, std::string::npos) << out;
  const size_t table = size_t(strtoull(out.c_str() + at_block + 17, nullptr, 10)) * 1024;
  const size_t regions[][2] = {{1024, 1024}, {2048, 1024}, {table, 4096}, {root_block_offset(), 1024}};
  uint32_t x = 12345;
  for (int round = 0; round < 200; ++round) {
    MemDisk d = clean;
    const size_t* region = regions[round % 4];
    for (int k = 0; k < 1 + round % 7; ++k) {
      x = x * 1103515245u + 12345u;
      const size_t at = region[0] + (x >> 8) % region[1];
      x = x * 1103515245u + 12345u;
      if (x & 0x100000) {
        d.bytes[at] ^= uint8_t(1u << (x >> 13) % 8);
      } else {
        d.bytes[at] = uint8_t(x >> 24);
      }
    }
    fs::MountOptions o;
    o.now = fixed_clock;
    auto r = fs::ext2::kType.mount(d, kMallocMemory, o);
    if (!r) continue;
    fs::FileSystem* v = r.value();
    fs::Inode root{};
    root.ino = v->root_ino();
    if (v->read_inode(root)) {
      uint64_t cookie = 0;
      fs::DirEntry e;
      for (int i = 0; i < 50; ++i) {
        auto more = v->read_dir(root, &cookie, &e);
        if (!more || !more.value()) break;
        fs::Inode child{};
        child.ino = e.ino;
        if (!v->read_inode(child)) continue;
        std::vector<uint8_t> buf(4096);
        (void)v->read(child, 0, buf.data(), buf.size());
        (void)v->write(child, 100, buf.data(), 3000);
        (void)v->truncate(child, 10);
        (void)v->write_inode(child);
      }
      (void)v->create(root, "z", 1, fs::kInodeDir);
    }
    v->unmount();
  }
}

}  // namespace
