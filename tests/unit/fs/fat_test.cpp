// The FAT driver against images made by Debian's dosfstools and mtools: files that mtools wrote
// are read back, files the driver writes are checked by fsck.fat and read back by mtools, for
// FAT12, FAT16 and FAT32; corrupt images give errors, not hangs or crashes (this file also runs
// under ASan+UBSan as fs-asan). Skipped when the tools are missing.
#include <fs/fat/fat.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "mem_disk.h"

namespace {

using fs::Inode;
using fs::testing::kMallocMemory;
using fs::testing::MemDisk;
using klib::Error;

constexpr const char* kMkfs = "/usr/sbin/mkfs.fat";
constexpr const char* kFsck = "/usr/sbin/fsck.fat";
constexpr const char* kMcopy = "/usr/bin/mcopy";
constexpr const char* kMmd = "/usr/bin/mmd";
constexpr uint32_t kNow = 1767225600 + 3 * 86400 + 12 * 3600 + 34 * 60 + 56;  // 2026-01-04 12:34:56

bool tools_present() {
  for (const char* t : {kMkfs, kFsck, kMcopy, kMmd}) {
    if (access(t, X_OK) != 0) return false;
  }
  return true;
}

// A shell command's exit code (its output kept in `out` when asked for).
int sh(const std::string& cmd, std::string* out = nullptr) {
  const std::string full =
      "LC_ALL=C.UTF-8 MTOOLS_SKIP_CHECK=1 " + cmd + (out == nullptr ? " >/dev/null 2>&1" : " 2>&1");
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    if (out != nullptr) out->append(buf, n);
  }
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<uint8_t> pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> v(size);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = uint8_t(x >> 16);
  }
  return v;
}

bool write_file(const std::string& path, const std::vector<uint8_t>& data) {
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = data.empty() || fwrite(data.data(), 1, data.size(), f) == data.size();
  return fclose(f) == 0 && ok;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> v;
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return v;
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
  fclose(f);
  return v;
}

uint32_t fixed_now() { return kNow; }

class Fat : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!tools_present()) GTEST_SKIP() << "dosfstools/mtools not installed";
    char tmpl[] = "/tmp/fat_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    img_ = dir_ + "/disk.img";
  }
  void TearDown() override {
    if (fs_ != nullptr) fs_->unmount();
    if (!dir_.empty()) sh("rm -rf " + dir_);
  }

  // A fresh image of this test's FAT type: FAT12 4 MiB (2 KiB clusters), FAT16 16 MiB,
  // FAT32 34 MB with 512-byte clusters (the smallest FAT32 mkfs.fat makes).
  void make_image() {
    const int t = GetParam();
    const std::string args = t == 12   ? "-F 12 -C " + img_ + " 4096"
                             : t == 16 ? "-F 16 -C " + img_ + " 16384"
                                       : "-F 32 -s 1 -C " + img_ + " 34000";
    ASSERT_EQ(sh(std::string(kMkfs) + " " + args), 0);
  }
  void host_put(const std::vector<uint8_t>& data, const std::string& target) {
    const std::string src = dir_ + "/src.bin";
    ASSERT_TRUE(write_file(src, data));
    ASSERT_EQ(sh(std::string(kMcopy) + " -i " + img_ + " " + src + " '::/" + target + "'"), 0) << target;
  }
  std::vector<uint8_t> host_get(const std::string& target) {
    const std::string out = dir_ + "/out.bin";
    unlink(out.c_str());
    EXPECT_EQ(sh(std::string(kMcopy) + " -n -i " + img_ + " '::/" + target + "' " + out), 0) << target;
    return read_file(out);
  }
  void mount() {
    disk_ = MemDisk::from_file(img_);
    ASSERT_GT(disk_.sectors(), 0u);
    fs::MountOptions o;
    o.now = fixed_now;
    auto v = fs::fat::kType.mount(disk_, kMallocMemory, o);
    ASSERT_TRUE(v) << klib::error_text(v.error());
    fs_ = v.value();
  }
  void unmount_and_save() {
    ASSERT_TRUE(fs_->sync());
    fs_->unmount();
    fs_ = nullptr;
    ASSERT_TRUE(disk_.save(img_));
  }
  // fsck.fat's verdict (read-only) and its "used/total clusters".
  void fsck_clean(uint64_t* free_clusters = nullptr) {
    std::string out;
    EXPECT_EQ(sh(std::string(kFsck) + " -n " + img_, &out), 0) << out;
    EXPECT_EQ(out.find("\n  "), std::string::npos) << out;  // no complaint lines
    if (free_clusters != nullptr) {
      const size_t comma = out.rfind("files, ");
      ASSERT_NE(comma, std::string::npos) << out;
      unsigned long used = 0, total = 0;
      ASSERT_EQ(sscanf(out.c_str() + comma, "files, %lu/%lu clusters", &used, &total), 2) << out;
      *free_clusters = total - used;
    }
  }

  // Unmounts and saves; fsck.fat must find nothing wrong and count the free space the driver
  // counted (which it returns).
  uint64_t save_and_fsck() {
    const uint64_t free_bytes = fs_->free_bytes();
    const uint32_t cb = cluster_bytes();
    unmount_and_save();
    uint64_t free_clusters = 0;
    fsck_clean(&free_clusters);
    EXPECT_EQ(free_clusters * cb, free_bytes);
    return free_bytes;
  }

  // Creates empty files F0, F1, ... in `dir` until `limit` or kNoSpace; how many.
  int create_files(Inode& dir, int limit) {
    int made = 0;
    for (; made < limit; ++made) {
      const std::string name = "F" + std::to_string(made);
      auto r = fs_->create(dir, name.data(), name.size(), fs::kInodeReg);
      if (!r) {
        EXPECT_EQ(r.error(), Error::kNoSpace);
        break;
      }
    }
    return made;
  }

  Inode inode(uint64_t ino) {
    Inode in{};
    in.ino = ino;
    auto s = fs_->read_inode(in);
    EXPECT_TRUE(s) << klib::error_text(s.error());
    return in;
  }
  klib::Result<uint64_t> resolve(const std::string& path) {
    uint64_t ino = fs_->root_ino();
    size_t i = 0;
    while (i < path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      if (j > i) {
        Inode d = inode(ino);
        auto r = fs_->lookup(d, path.data() + i, j - i);
        if (!r) return r;
        ino = r.value();
      }
      i = j + 1;
    }
    return ino;
  }
  std::vector<uint8_t> read_all(Inode& in, size_t chunk = 1 << 20) {
    std::vector<uint8_t> out(in.size);
    size_t done = 0;
    while (done < out.size()) {
      auto r = fs_->read(in, done, out.data() + done, std::min(chunk, out.size() - done));
      EXPECT_TRUE(r) << klib::error_text(r.error());
      if (!r || r.value() == 0) break;
      done += r.value();
    }
    out.resize(done);
    return out;
  }
  // `count` reads of `piece` bytes at pseudo-random offsets, each compared with `data`.
  void check_random_reads(Inode& in, const std::vector<uint8_t>& data, size_t piece, uint32_t seed, int count) {
    std::vector<uint8_t> got(piece);
    uint32_t x = seed;
    for (int i = 0; i < count; ++i) {
      x = x * 1103515245u + 12345u;
      const size_t off = (x >> 8) % data.size();
      auto r = fs_->read(in, off, got.data(), got.size());
      ASSERT_TRUE(r);
      ASSERT_EQ(r.value(), std::min(got.size(), data.size() - off));
      ASSERT_TRUE(std::equal(got.begin(), got.begin() + r.value(), data.begin() + off)) << off;
    }
  }
  uint32_t cluster_bytes() const { return uint32_t(disk_.bytes[13]) * 512; }

  std::string dir_, img_;
  MemDisk disk_{0};
  fs::FileSystem* fs_ = nullptr;
};

const size_t kSizes[] = {0, 1, 512, 1024, 10240, 102400, 1 << 20};

TEST_P(Fat, ReadsWhatMtoolsWrote) {
  make_image();
  for (size_t i = 0; i < std::size(kSizes); ++i) host_put(pattern(kSizes[i], uint32_t(i)), "F" + std::to_string(i));
  mount();
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    auto ino = resolve("f" + std::to_string(i));  // mtools stores F0..F6; looked up in lower case
    ASSERT_TRUE(ino) << i;
    Inode in = inode(ino.value());
    EXPECT_EQ(in.mode, fs::kInodeReg);
    ASSERT_EQ(in.size, kSizes[i]);
    EXPECT_EQ(read_all(in), pattern(kSizes[i], uint32_t(i))) << kSizes[i];
    EXPECT_EQ(read_all(in, 1000), pattern(kSizes[i], uint32_t(i))) << kSizes[i];  // odd pieces
  }
  // A 1 MiB read of a contiguous file is a handful of device requests, not one per cluster.
  Inode big = inode(resolve("F6").value());
  std::vector<uint8_t> buf(1 << 20);
  const uint64_t before = disk_.reads;
  auto r = fs_->read(big, 0, buf.data(), buf.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), buf.size());
  EXPECT_LT(disk_.reads - before, 40u);
  EXPECT_EQ(fs_->read(big, 1 << 20, buf.data(), 10).value(), 0u);  // at the end: 0
  Inode root = inode(fs_->root_ino());
  EXPECT_EQ(fs_->read(root, 0, buf.data(), 1).error(), Error::kIsDirectory);
}

TEST_P(Fat, LongNamesNestedDirectoriesAndCase) {
  make_image();
  ASSERT_EQ(sh(std::string(kMmd) + " -i " + img_ + " ::/Documents ::/Documents/Deeper ::/Documents/Deeper/Deepest"), 0);
  host_put(pattern(3000, 7), "Documents/Deeper/A rather long file name.text");
  host_put(pattern(10, 8), "Documents/Deeper/Deepest/Übergrößenträger.txt");
  host_put(pattern(20, 9), "readme.txt");
  host_put(pattern(30, 10), "MixedCase.Md");
  mount();
  auto a = resolve("documents/DEEPER/a RATHER long FILE name.TEXT");
  ASSERT_TRUE(a);
  Inode in = inode(a.value());
  EXPECT_EQ(read_all(in), pattern(3000, 7));
  auto u = resolve("Documents/Deeper/Deepest/übergrößenträger.TXT");  // Latin-1 folds too
  ASSERT_TRUE(u);
  Inode ui = inode(u.value());
  EXPECT_EQ(read_all(ui), pattern(10, 8));
  EXPECT_TRUE(resolve("README.TXT"));
  EXPECT_TRUE(resolve("mixedcase.md"));
  EXPECT_EQ(resolve("Documents/nothing").error(), Error::kNotFound);
  EXPECT_EQ(resolve("readme.txt/x").error(), Error::kNotDirectory);
  EXPECT_EQ(resolve(std::string(256, 'a')).error(), Error::kNameTooLong);

  // read_dir: the long names as written (UTF-8), '.' and '..' left out.
  Inode deepest = inode(resolve("Documents/Deeper/Deepest").value());
  EXPECT_EQ(deepest.mode, fs::kInodeDir);
  uint64_t cookie = 0;
  fs::DirEntry e;
  std::vector<std::string> names;
  for (;;) {
    auto r = fs_->read_dir(deepest, &cookie, &e);
    ASSERT_TRUE(r);
    if (!r.value()) break;
    names.emplace_back(e.name, e.name_length);
    EXPECT_EQ(e.ino, u.value());
  }
  EXPECT_EQ(names, std::vector<std::string>{"Übergrößenträger.txt"});
  Inode root = inode(fs_->root_ino());
  cookie = 0;
  names.clear();
  while (fs_->read_dir(root, &cookie, &e).value()) names.emplace_back(e.name);
  EXPECT_EQ(names.size(), 3u);
  // '..' and '.' name the directories themselves, with the same inode numbers as their paths.
  const uint64_t deeper = resolve("Documents/Deeper").value();
  EXPECT_EQ(resolve("Documents/Deeper/Deepest/..").value(), deeper);
  EXPECT_EQ(resolve("Documents/Deeper/Deepest/../..").value(), resolve("Documents").value());
  EXPECT_EQ(resolve("Documents/..").value(), fs_->root_ino());
  EXPECT_EQ(resolve("Documents/Deeper/.").value(), deeper);
}

// A new file's short alias is checked against long names too: "Longna~2.tex" (alias LONGNA~1.TEX)
// already answers to LONGNA~2.TEX, so "longname.text", whose tail 1 is taken by that alias, gets
// LONGNA~3.TEX. With the check on short names only it got LONGNA~2.TEX, and two entries answered
// one name: which one a lookup found depended on slot order (a deleted slot before the older
// file put the newer first), and the VFS's name cache could keep the other.
TEST_P(Fat, ShortAliasIsNoOlderLongName) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  auto older = fs_->create(root, "Longna~2.tex", 12, fs::kInodeReg);
  ASSERT_TRUE(older) << klib::error_text(older.error());
  auto newer = fs_->create(root, "longname.text", 13, fs::kInodeReg);
  ASSERT_TRUE(newer) << klib::error_text(newer.error());
  EXPECT_EQ(resolve("LONGNA~1.TEX").value(), older.value());  // the older file's own alias
  EXPECT_EQ(resolve("LONGNA~2.TEX").value(), older.value());  // its long name, case folded
  auto alias = resolve("LONGNA~3.TEX");
  ASSERT_TRUE(alias) << klib::error_text(alias.error());
  EXPECT_EQ(alias.value(), newer.value());
  EXPECT_EQ(resolve("longname.text").value(), newer.value());
  save_and_fsck();
  std::string listing;
  ASSERT_EQ(sh("/usr/bin/mdir -i " + img_ + " ::/", &listing), 0);
  EXPECT_NE(listing.find("LONGNA~3 TEX"), std::string::npos) << listing;
}

TEST_P(Fat, WritesThatFsckAndMtoolsAccept) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  struct File {
    std::string dir, name;
    size_t size;
  };
  auto sub = fs_->create(root, "Sub Directory", 13, fs::kInodeDir);
  ASSERT_TRUE(sub) << klib::error_text(sub.error());
  Inode subdir = inode(sub.value());
  auto deep = fs_->create(subdir, "deep", 4, fs::kInodeDir);
  ASSERT_TRUE(deep);
  EXPECT_EQ(fs_->create(root, "SUB DIRECTORY", 13, fs::kInodeReg).error(), Error::kExists);
  EXPECT_EQ(fs_->create(root, std::string(256, 'x').c_str(), 256, fs::kInodeReg).error(), Error::kNameTooLong);
  const std::vector<File> files = {
      {"", "hello.txt", 13},
      {"", "EMPTY", 0},
      {"", "A much longer name for a file.data", 102400},
      {"", "big.bin", 1 << 20},
      {"Sub Directory", "inner file.txt", 1025},
      {"Sub Directory/deep", "Ünïcödé naïve.txt", 511},
      {"", std::string(255, 'n'), 10},
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const File& f = files[i];
    Inode d = inode(resolve(f.dir).value());
    auto ino = fs_->create(d, f.name.data(), f.name.size(), fs::kInodeReg);
    ASSERT_TRUE(ino) << f.name << ": " << klib::error_text(ino.error());
    Inode in = inode(ino.value());
    const std::vector<uint8_t> data = pattern(f.size, uint32_t(100 + i));
    size_t done = 0;
    while (done < data.size()) {  // in uneven pieces, so that partial sectors are exercised
      const size_t n = std::min<size_t>(data.size() - done, 7000 + i * 13);
      auto w = fs_->write(in, done, data.data() + done, n);
      ASSERT_TRUE(w);
      ASSERT_EQ(w.value(), n);
      done += n;
    }
    EXPECT_EQ(in.size, f.size);
    EXPECT_EQ(in.mtime, kNow);
    ASSERT_TRUE(fs_->write_inode(in));
    Inode back = inode(ino.value());
    EXPECT_EQ(back.size, f.size);
    EXPECT_EQ(back.mtime, kNow - kNow % 2);      // 2-second steps
    EXPECT_EQ(back.atime, kNow - kNow % 86400);  // a date only
    EXPECT_EQ(back.ctime, kNow - kNow % 2);
    EXPECT_EQ(resolve(f.dir + "/" + f.name).value(), ino.value());
  }
  // A lower-case 8.3 name has no long entries, only NT's case flags: it reads back as written.
  {
    std::vector<std::string> names;
    uint64_t cookie = 0;
    fs::DirEntry e;
    while (fs_->read_dir(root, &cookie, &e).value()) names.emplace_back(e.name);
    EXPECT_NE(std::find(names.begin(), names.end(), "hello.txt"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "EMPTY"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "Sub Directory"), names.end());
  }
  // Many entries in a sub-directory: it grows by clusters (a fixed root would be full).
  for (int i = 0; i < 150; ++i) {
    const std::string name = "entry number " + std::to_string(i);
    ASSERT_TRUE(fs_->create(subdir, name.data(), name.size(), fs::kInodeReg)) << i;
  }
  // A hole, an extension and a cut.
  Inode hello = inode(resolve("HELLO.TXT").value());
  const std::vector<uint8_t> tail = pattern(100, 55);
  ASSERT_EQ(fs_->write(hello, 20000, tail.data(), tail.size()).value(), tail.size());
  std::vector<uint8_t> expect_hello = pattern(13, 100);
  expect_hello.resize(20000, 0);
  expect_hello.insert(expect_hello.end(), tail.begin(), tail.end());
  ASSERT_TRUE(fs_->write_inode(hello));
  Inode big = inode(resolve("big.bin").value());
  ASSERT_TRUE(fs_->truncate(big, 300000));
  ASSERT_TRUE(fs_->write_inode(big));
  std::vector<uint8_t> expect_big = pattern(1 << 20, 103);
  expect_big.resize(300000);
  Inode empty = inode(resolve("empty").value());
  ASSERT_TRUE(fs_->truncate(empty, 5000));  // lengthened: zeros
  ASSERT_TRUE(fs_->write_inode(empty));
  EXPECT_EQ(read_all(hello), expect_hello);
  EXPECT_EQ(read_all(big), expect_big);
  const uint64_t free_bytes = save_and_fsck();
  for (size_t i = 0; i < files.size(); ++i) {
    if (i == 0 || i == 1 || i == 3) continue;  // changed after: below
    const File& f = files[i];
    EXPECT_EQ(host_get((f.dir.empty() ? "" : f.dir + "/") + f.name), pattern(f.size, uint32_t(100 + i))) << f.name;
  }
  EXPECT_EQ(host_get("hello.txt"), expect_hello);
  EXPECT_EQ(host_get("BIG.BIN"), expect_big);
  EXPECT_EQ(host_get("empty"), std::vector<uint8_t>(5000, 0));
  EXPECT_EQ(host_get("Sub Directory/entry number 149").size(), 0u);
  std::string listing;
  ASSERT_EQ(sh("/usr/bin/mdir -i " + img_ + " '::/Sub Directory/deep'", &listing), 0);
  EXPECT_NE(listing.find("Ünïcödé naïve.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("2026-01-04"), std::string::npos) << listing;

  // And back again: mounted anew, everything is still there.
  mount();
  Inode again = inode(resolve("sub directory/DEEP/ünïcödé NAÏVE.txt").value());
  EXPECT_EQ(read_all(again), pattern(511, 105));
  EXPECT_EQ(again.mtime, kNow);
  EXPECT_EQ(fs_->free_bytes(), free_bytes);
}

TEST_P(Fat, FullVolumeGivesShortWriteAndFsckStillPasses) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  const uint64_t free_before = fs_->free_bytes();
  auto ino = fs_->create(root, "filler", 6, fs::kInodeReg);
  ASSERT_TRUE(ino);
  Inode in = inode(ino.value());
  std::vector<uint8_t> chunk = pattern(1 << 20, 1);
  uint64_t written = 0;
  for (;;) {
    auto w = fs_->write(in, written, chunk.data(), chunk.size());
    if (!w) {
      EXPECT_EQ(w.error(), Error::kNoSpace);
      break;
    }
    written += w.value();
    if (w.value() < chunk.size()) {
      EXPECT_EQ(fs_->write(in, written, chunk.data(), 1).error(), Error::kNoSpace);
      break;
    }
  }
  EXPECT_EQ(written, free_before);
  EXPECT_EQ(fs_->free_bytes(), 0u);
  ASSERT_TRUE(fs_->write_inode(in));
  EXPECT_EQ(fs_->create(root, "dir", 3, fs::kInodeDir).error(), Error::kNoSpace);
  // The fixed root of FAT12/16 fills up; FAT32's root would need a cluster: none left either.
  EXPECT_LT(create_files(root, 1000), 1000);
  ASSERT_TRUE(fs_->truncate(in, 1000));
  ASSERT_TRUE(fs_->write_inode(in));
  save_and_fsck();
  EXPECT_EQ(host_get("filler"), std::vector<uint8_t>(chunk.begin(), chunk.begin() + 1000));
}

// Two files written a cluster at a time in turn have interleaved chains: reads in odd pieces,
// forwards and backwards (the remembered position must not mislead), still give their bytes.
TEST_P(Fat, FragmentedChainsReadBackInAnyOrder) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  const uint32_t cb = cluster_bytes();
  const std::vector<uint8_t> a = pattern(size_t(cb) * 40 + 123, 1), b = pattern(size_t(cb) * 40 + 77, 2);
  Inode fa = inode(fs_->create(root, "a.bin", 5, fs::kInodeReg).value());
  Inode fb = inode(fs_->create(root, "b.bin", 5, fs::kInodeReg).value());
  for (size_t off = 0; off < a.size() || off < b.size(); off += cb) {
    for (auto [in, data] : {std::pair{&fa, &a}, std::pair{&fb, &b}}) {
      if (off >= data->size()) continue;
      ASSERT_TRUE(fs_->write(*in, off, data->data() + off, std::min<size_t>(cb, data->size() - off)));
    }
  }
  EXPECT_EQ(read_all(fa, 777), a);
  EXPECT_EQ(read_all(fb, cb + 1), b);
  check_random_reads(fa, a, 3000, 7, 200);
  ASSERT_TRUE(fs_->truncate(fa, cb * 3 + 5));  // cut inside the interleaved part
  ASSERT_TRUE(fs_->write_inode(fa));
  ASSERT_TRUE(fs_->write_inode(fb));
  save_and_fsck();
  EXPECT_EQ(host_get("a.bin"), std::vector<uint8_t>(a.begin(), a.begin() + cb * 3 + 5));
  EXPECT_EQ(host_get("b.bin"), b);
}

// Seeks into heavily fragmented chains (two files written a cluster at a time in turn, as many
// clusters as the volume holds, up to 3000 each) walk from the nearest checkpoint the walks
// learnt (Node::checkpoint): after a warm-up, at most a stride of clusters per seek, where a walk
// from the last position or the chain's start took a third of the chain on average.
TEST_P(Fat, SeeksIntoFragmentedChainsWalkAtMostAStride) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  const uint32_t cb = cluster_bytes();
  const uint64_t n = std::min<uint64_t>(3000, fs_->free_bytes() / cb / 2 - 4);
  ASSERT_GT(n, 500u);
  const std::vector<uint8_t> a = pattern(size_t(cb) * n, 6), b = pattern(size_t(cb) * n, 7);
  Inode fa = inode(fs_->create(root, "a.bin", 5, fs::kInodeReg).value());
  Inode fb = inode(fs_->create(root, "b.bin", 5, fs::kInodeReg).value());
  for (size_t off = 0; off < a.size(); off += cb) {
    ASSERT_TRUE(fs_->write(fa, off, a.data() + off, cb));
    ASSERT_TRUE(fs_->write(fb, off, b.data() + off, cb));
  }
  uint32_t stride = 32;  // Node's rule: the first stride, doubled while the chain outgrows 32 points
  while (n / stride > 32) stride *= 2;
  check_random_reads(fa, a, 1, 21, 300);  // the warm-up learns the checkpoints
  const uint64_t before = fs_->walk_steps();
  const int reads = 1000;
  check_random_reads(fa, a, 1, 22, reads);
  const uint64_t steps = fs_->walk_steps() - before;
  std::printf("%llu clusters a file, stride %u: %.1f clusters walked a seek\n", (unsigned long long)n, stride,
              double(steps) / reads);
  EXPECT_LT(steps, uint64_t(reads) * stride);
  check_random_reads(fb, b, cb + 3, 23, 200);
  // A truncation cuts what was learnt past it: the file regrows elsewhere and reads back.
  ASSERT_TRUE(fs_->truncate(fa, size_t(cb) * (n / 2)));
  std::vector<uint8_t> a2(a.begin(), a.begin() + size_t(cb) * (n / 2));
  const std::vector<uint8_t> more = pattern(size_t(cb) * 40, 8);
  ASSERT_TRUE(fs_->write(fa, a2.size(), more.data(), more.size()));
  a2.insert(a2.end(), more.begin(), more.end());
  check_random_reads(fa, a2, cb - 1, 24, 300);
  // Cut exactly at a checkpoint (cluster number 2 * stride is its own checkpoint: it must go
  // with the clusters it names), then regrow past it.
  ASSERT_TRUE(fs_->truncate(fa, size_t(cb) * 2 * stride));
  a2.resize(size_t(cb) * 2 * stride);
  ASSERT_TRUE(fs_->write(fb, b.size(), more.data(), cb));  // b takes the next free cluster first
  const std::vector<uint8_t> again = pattern(size_t(cb) * (stride + 7), 9);
  ASSERT_TRUE(fs_->write(fa, a2.size(), again.data(), again.size()));
  a2.insert(a2.end(), again.begin(), again.end());
  check_random_reads(fa, a2, 1, 25, 300);
  EXPECT_EQ(read_all(fa, cb + 1), a2);
  // To nothing, and a new chain.
  ASSERT_TRUE(fs_->truncate(fa, 0));
  a2.assign(again.begin(), again.end());
  ASSERT_TRUE(fs_->write(fa, 0, a2.data(), a2.size()));
  check_random_reads(fa, a2, 3, 26, 200);
  ASSERT_TRUE(fs_->write_inode(fa));
  ASSERT_TRUE(fs_->write_inode(fb));
  save_and_fsck();
  EXPECT_EQ(host_get("a.bin"), a2);
  std::vector<uint8_t> b2 = b;
  b2.insert(b2.end(), more.begin(), more.begin() + cb);
  EXPECT_EQ(host_get("b.bin"), b2);
}

// A chain written in one go is contiguous, and seeks into it skip the walk (Node::contig); what
// is learnt must be forgotten where a truncation cuts the chain and the file grows elsewhere.
TEST_P(Fat, SeeksIntoAContiguousChainThenATruncatedAndRegrownOne) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  const uint32_t cb = cluster_bytes();
  std::vector<uint8_t> a = pattern(size_t(cb) * 40 + 9, 3);
  Inode fa = inode(fs_->create(root, "a.bin", 5, fs::kInodeReg).value());
  ASSERT_TRUE(fs_->write(fa, 0, a.data(), a.size()));
  check_random_reads(fa, a, cb + 17, 11, 300);
  ASSERT_TRUE(fs_->truncate(fa, size_t(cb) * 10));  // the learnt run was 40 clusters long
  a.resize(size_t(cb) * 10);
  Inode fc = inode(fs_->create(root, "c.bin", 5, fs::kInodeReg).value());
  const std::vector<uint8_t> c = pattern(size_t(cb) * 5, 4);
  ASSERT_TRUE(fs_->write(fc, 0, c.data(), c.size()));  // takes the clusters after a's tenth
  const std::vector<uint8_t> more = pattern(size_t(cb) * 12 + 3, 5);
  ASSERT_TRUE(fs_->write(fa, a.size(), more.data(), more.size()));  // a continues elsewhere
  a.insert(a.end(), more.begin(), more.end());
  check_random_reads(fa, a, cb + 17, 12, 300);
  EXPECT_EQ(read_all(fa, cb - 1), a);
  ASSERT_TRUE(fs_->write_inode(fa));
  ASSERT_TRUE(fs_->write_inode(fc));
  save_and_fsck();
  EXPECT_EQ(host_get("a.bin"), a);
  EXPECT_EQ(host_get("c.bin"), c);
}

// FAT12/16's root is a fixed area (512 entries from mkfs.fat): full is kNoSpace with clusters
// to spare. FAT32's root is a chain: it grows.
TEST_P(Fat, FixedRootFillsUpAndFat32RootGrows) {
  make_image();
  mount();
  Inode root = inode(fs_->root_ino());
  EXPECT_EQ(create_files(root, 600), GetParam() == 32 ? 600 : 512);
  EXPECT_GT(fs_->free_bytes(), 0u);
  EXPECT_TRUE(resolve("f511"));
  save_and_fsck();
  EXPECT_EQ(host_get("F511").size(), 0u);
}

TEST_P(Fat, ReadOnlyDeviceRefusesChanges) {
  make_image();
  host_put(pattern(100, 1), "FILE");
  disk_ = MemDisk::from_file(img_);
  disk_.readonly = true;
  auto v = fs::fat::kType.mount(disk_, kMallocMemory, {});
  ASSERT_TRUE(v);
  fs_ = v.value();
  Inode root = inode(fs_->root_ino());
  Inode file = inode(resolve("file").value());
  EXPECT_EQ(read_all(file), pattern(100, 1));
  EXPECT_EQ(fs_->create(root, "x", 1, fs::kInodeReg).error(), Error::kReadOnly);
  EXPECT_EQ(fs_->write(file, 0, "x", 1).error(), Error::kReadOnly);
  EXPECT_EQ(fs_->truncate(file, 0).error(), Error::kReadOnly);
  EXPECT_TRUE(fs_->sync());
  EXPECT_EQ(disk_.writes, 0u);
}

// ---- Corrupt volumes. The image is changed by hand where the driver must not trust it.

struct Geometry {
  int type;
  uint32_t fat_start, fat_sectors, fats, clusters;
};

Geometry geometry(const MemDisk& d) {
  const uint8_t* b = d.bytes.data();
  Geometry g{};
  const uint32_t reserved = b[14] | b[15] << 8, root_entries = b[17] | b[18] << 8;
  g.fats = b[16];
  g.fat_sectors = b[22] | b[23] << 8;
  if (g.fat_sectors == 0) g.fat_sectors = b[36] | b[37] << 8 | b[38] << 16 | uint32_t(b[39]) << 24;
  uint32_t total = b[19] | b[20] << 8;
  if (total == 0) total = b[32] | b[33] << 8 | b[34] << 16 | uint32_t(b[35]) << 24;
  const uint32_t data = reserved + g.fats * g.fat_sectors + (root_entries * 32 + 511) / 512;
  g.clusters = (total - data) / b[13];
  g.type = g.clusters < 4085 ? 12 : g.clusters < 65525 ? 16 : 32;
  g.fat_start = reserved;
  return g;
}

void set_fat(MemDisk& d, uint32_t c, uint32_t v) {
  const Geometry g = geometry(d);
  for (uint32_t copy = 0; copy < g.fats; ++copy) {
    uint8_t* f = d.bytes.data() + size_t(g.fat_start + copy * g.fat_sectors) * 512;
    if (g.type == 12) {
      uint8_t* p = f + c + c / 2;
      if (c & 1) {
        p[0] = uint8_t((p[0] & 0x0F) | (v << 4));
        p[1] = uint8_t(v >> 4);
      } else {
        p[0] = uint8_t(v);
        p[1] = uint8_t((p[1] & 0xF0) | ((v >> 8) & 0x0F));
      }
    } else if (g.type == 16) {
      f[2 * c] = uint8_t(v);
      f[2 * c + 1] = uint8_t(v >> 8);
    } else {
      for (int i = 0; i < 4; ++i) f[4 * c + i] = uint8_t(v >> (8 * i));
    }
  }
}

class FatCorrupt : public Fat {
 protected:
  // An image with a 10 KiB file; `entry` points at its directory entry in disk_.
  void SetUp() override {
    Fat::SetUp();
    if (IsSkipped()) return;
    make_image();
    host_put(pattern(10240, 3), "FILE.BIN");
    host_put(pattern(1 << 20, 4), "BIG.BIN");
    mount();
    ino_ = resolve("file.bin").value();
    fs_->unmount();
    fs_ = nullptr;
    entry_ = disk_.bytes.data() + ino_ * 32;
    first_ = entry_[26] | entry_[27] << 8 | (GetParam() == 32 ? (entry_[20] | entry_[21] << 8) << 16 : 0);
  }
  void set_entry(uint32_t cluster, uint32_t size) {
    entry_[26] = uint8_t(cluster);
    entry_[27] = uint8_t(cluster >> 8);
    entry_[20] = uint8_t(cluster >> 16);
    entry_[21] = uint8_t(cluster >> 24);
    for (int i = 0; i < 4; ++i) entry_[28 + i] = uint8_t(size >> (8 * i));
  }
  void remount() {
    fs::MountOptions o;
    o.now = fixed_now;
    auto v = fs::fat::kType.mount(disk_, kMallocMemory, o);
    ASSERT_TRUE(v);
    fs_ = v.value();
  }
  // Reads the file to its end or the first error; the error (kNone if it all read).
  Error read_through(Inode& in) {
    std::vector<uint8_t> buf(65536);
    for (uint64_t off = 0; off < in.size;) {
      auto r = fs_->read(in, off, buf.data(), buf.size());
      if (!r) return r.error();
      if (r.value() == 0) return Error::kNone;
      off += r.value();
    }
    return Error::kNone;
  }
  uint64_t ino_ = 0;
  uint8_t* entry_ = nullptr;
  uint32_t first_ = 0;
};

TEST_P(FatCorrupt, LoopingChainWithHugeSizeEndsInCorrupt) {
  set_fat(disk_, first_ + 1, first_);  // first -> first+1 -> first -> ...
  set_entry(first_, 0xFFFFFFF0);
  remount();
  Inode in = inode(ino_);
  EXPECT_EQ(read_through(in), Error::kCorrupt);
  EXPECT_FALSE(fs_->truncate(in, 0));  // freeing a loop stops where it meets a freed cluster
  in = inode(ino_);
  std::vector<uint8_t> data = pattern(5000, 1);
  EXPECT_FALSE(fs_->write(in, 1ull << 31, data.data(), data.size()));  // no hang either way
}

TEST_P(FatCorrupt, ClusterOutOfRangeInChainAndEntry) {
  const Geometry g = geometry(disk_);
  set_fat(disk_, first_ + 2, g.clusters + 5);
  remount();
  Inode in = inode(ino_);
  std::vector<uint8_t> buf(10240);
  auto r = fs_->read(in, 0, buf.data(), buf.size());  // the chain breaks in its third cluster
  ASSERT_TRUE(r);
  EXPECT_LT(r.value(), buf.size());
  EXPECT_EQ(fs_->read(in, r.value(), buf.data(), buf.size()).error(), Error::kCorrupt);
  Inode made_up{};  // numbers that no entry can have: the boot sector, a FAT, past the end
  for (uint64_t ino : {uint64_t(2), uint64_t(g.fat_start) * 16 + 3, uint64_t(disk_.sectors()) * 16 + 5}) {
    made_up.ino = ino;
    EXPECT_EQ(fs_->read_inode(made_up).error(), Error::kNotFound) << ino;
    made_up.mode = fs::kInodeReg;
    EXPECT_EQ(fs_->write_inode(made_up).error(), Error::kNotFound) << ino;
  }
  fs_->unmount();
  fs_ = nullptr;
  for (uint32_t bad : {1u, g.clusters + 2, 0x0FFFFFF0u}) {
    set_entry(GetParam() == 32 ? bad : bad & 0xFFFF, 100);
    remount();
    Inode bad_in{};
    bad_in.ino = ino_;
    EXPECT_EQ(fs_->read_inode(bad_in).error(), Error::kCorrupt) << bad;
    fs_->unmount();
    fs_ = nullptr;
  }
}

TEST_P(FatCorrupt, SizeBeyondTheChainStopsAtItsEnd) {
  set_entry(first_, 0xFFFFFF00);
  remount();
  Inode in = inode(ino_);
  std::vector<uint8_t> buf(1 << 16);
  auto r = fs_->read(in, 0, buf.data(), buf.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r.value(), 10240u);  // what the chain holds, never past it
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 10240), pattern(10240, 3));
  EXPECT_EQ(fs_->read(in, 10240 + 4096 * 4, buf.data(), 10).error(), Error::kCorrupt);
  // Appending at that size would need more than the volume: refused before anything is taken.
  const uint64_t free_before = fs_->free_bytes();
  EXPECT_EQ(fs_->write(in, in.size, buf.data(), 10).error(), Error::kNoSpace);
  EXPECT_EQ(fs_->free_bytes(), free_before);
}

TEST_P(FatCorrupt, ZeroLengthFileWithAClusterAndClusterlessFileWithASize) {
  set_entry(first_, 0);
  remount();
  Inode in = inode(ino_);
  uint8_t b[16];
  EXPECT_EQ(fs_->read(in, 0, b, sizeof b).value(), 0u);
  EXPECT_EQ(fs_->write(in, 0, "abc", 3).value(), 3u);  // reuses the cluster it has
  EXPECT_EQ(fs_->read(in, 0, b, sizeof b).value(), 3u);
  fs_->unmount();
  fs_ = nullptr;
  set_entry(0, 5000);
  remount();
  Inode none = inode(ino_);
  EXPECT_EQ(fs_->read(none, 0, b, sizeof b).error(), Error::kCorrupt);
}

TEST_P(FatCorrupt, TruncatedImageGivesErrors) {
  disk_.bytes.resize(disk_.bytes.size() / 2);
  remount();
  Inode big = inode(resolve("big.bin").value());
  Error e = read_through(big);
  // mtools puts the 1 MiB file after the small one, well inside the first half, so the image
  // is cut smaller still when the file would fit.
  if (e == Error::kNone) {
    fs_->unmount();
    fs_ = nullptr;
    disk_.bytes.resize(size_t(geometry(disk_).fat_start + 2 * geometry(disk_).fat_sectors + 64) * 512);
    remount();
    big = inode(resolve("big.bin").value());
    e = read_through(big);
  }
  EXPECT_NE(e, Error::kNone);
  EXPECT_FALSE(fs_->write(big, big.size - 1, "x", 1));  // its last cluster is past the end
}

TEST_P(FatCorrupt, BadBootSectorsAreRefused) {
  auto try_mount = [&]() {
    auto v = fs::fat::kType.mount(disk_, kMallocMemory, {});
    if (v) v.value()->unmount();
    return v ? Error::kNone : v.error();
  };
  std::vector<uint8_t> saved(disk_.bytes.begin(), disk_.bytes.begin() + 512);
  disk_.bytes[11] = 0xE8;  // 1000 bytes a sector
  disk_.bytes[12] = 0x03;
  EXPECT_EQ(try_mount(), Error::kCorrupt);
  disk_.bytes[11] = 0;
  disk_.bytes[12] = 0x10;  // 4096: valid, not supported
  EXPECT_EQ(try_mount(), Error::kNotSupported);
  std::copy(saved.begin(), saved.end(), disk_.bytes.begin());
  disk_.bytes[13] = 3;  // sectors per cluster not a power of two
  EXPECT_EQ(try_mount(), Error::kCorrupt);
  std::copy(saved.begin(), saved.end(), disk_.bytes.begin());
  disk_.bytes[16] = 0;  // no FAT
  EXPECT_EQ(try_mount(), Error::kCorrupt);
  std::fill(disk_.bytes.begin(), disk_.bytes.begin() + 512, 0);
  EXPECT_EQ(try_mount(), Error::kNotSupported);  // not FAT at all
}

// Random damage to the tables and directories: every call returns, whatever it returns.
TEST_P(FatCorrupt, RandomDamageNeverCrashes) {
  const Geometry g = geometry(disk_);
  const std::vector<uint8_t> clean = disk_.bytes;
  const size_t meta_end = size_t(g.fat_start + g.fats * g.fat_sectors + 64) * 512;
  uint32_t x = 12345;
  for (int round = 0; round < 60; ++round) {
    disk_.bytes = clean;
    for (int k = 0; k < 40; ++k) {
      x = x * 1103515245u + 12345u;
      const size_t at = 512 + (x >> 4) % (meta_end - 512);
      disk_.bytes[at] = uint8_t(x >> 24);
    }
    auto v = fs::fat::kType.mount(disk_, kMallocMemory, {});
    if (!v) continue;
    fs_ = v.value();
    Inode root = inode(fs_->root_ino());
    uint64_t cookie = 0;
    fs::DirEntry e;
    std::vector<uint8_t> buf(65536);
    for (int n = 0; n < 64; ++n) {
      auto r = fs_->read_dir(root, &cookie, &e);
      if (!r || !r.value()) break;
      Inode in{};
      in.ino = e.ino;
      if (!fs_->read_inode(in)) continue;
      if (in.mode == fs::kInodeReg) {
        for (uint64_t off = 0; off < in.size && off < (4u << 20);) {
          auto rr = fs_->read(in, off, buf.data(), buf.size());
          if (!rr || rr.value() == 0) break;
          off += rr.value();
        }
        (void)fs_->write(in, in.size, buf.data(), 3000);
        (void)fs_->truncate(in, in.size / 2);
        (void)fs_->write_inode(in);
      }
    }
    (void)fs_->create(root, "a new long file name", 20, fs::kInodeReg);
    (void)fs_->create(root, "NEWDIR", 6, fs::kInodeDir);
    fs_->unmount();
    fs_ = nullptr;
  }
}

std::string type_name(const ::testing::TestParamInfo<int>& info) { return "Fat" + std::to_string(info.param); }

INSTANTIATE_TEST_SUITE_P(Types, Fat, ::testing::Values(12, 16, 32), type_name);
INSTANTIATE_TEST_SUITE_P(Types, FatCorrupt, ::testing::Values(12, 16, 32), type_name);

}  // namespace
