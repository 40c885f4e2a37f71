// Port of Toro 2019's tests/filesystem/TestFilesystem (toro-spec §3.3): FAT on virtio-blk minor 0,
// Toro's test data (tests/vm/fstest.py makes it: zero-filled 1kfile, 10kfile, 100kfile, 1Mfile,
// 1Mfilezero, emptyfile, filenametooooolong, dir/1kfile, dir/filenametooooolong), the PASSED set
// TestOpen-0 .. TestRead-13. Bad paths (TestOpen-3..6) must fail without harm, which in Toro
// C++ is a defined error (0), not an exception.
#include <toro.h>

namespace {

int g_failed = 0;

void Report(const char* name, int n, bool ok) {
  WriteDebug("%p-%d: %p\n", name, n, ok ? "PASSED" : "FAILED");
  if (!ok) WriteConsoleF("%p-%d: FAILED\n", name, n);  // on the console too, at once
  if (!ok) ++g_failed;
}

bool Opens(const char* path) {
  THandle f = SysOpenFile(path, O_RDONLY);
  if (f == 0) return false;
  SysCloseFile(f);
  return true;
}

bool SizeIs(const char* path, Int64 size) {
  TInode inode;
  return SysStatFile(path, &inode) == 1 && inode.Size == size && inode.Mode == INODE_REG;
}

}  // namespace

int main() {
  DedicateBlockDriver("virtioblk", 0);
  if (!SysMount("fat", "virtioblk", 0)) {
    WriteConsoleF("TestFilesystem: no volume, FAILED\n");
    return 1;
  }
  Report("TestOpen", 0, Opens("/1kfile"));
  Report("TestOpen", 1, Opens("/dir/1kfile"));
  Report("TestOpen", 2, Opens("/dir"));
  // An over-long name without a leading '/': refused, nothing read past the limit.
  static char long_name[320];
  for (char& c : long_name) c = 'a';
  long_name[sizeof long_name - 1] = '\0';
  Report("TestOpen", 3, !Opens(long_name));
  Report("TestOpen", 4, Opens("/filenametooooolong"));
  Report("TestOpen", 5, Opens("/dir/filenametooooolong"));
  // Five characters without a NUL (followed by other data): must not crash; it names nothing.
  static const char unterminated[2][5] = {{'/', 'a', 'b', 'c', 'd'}, {'/', 'e', 'f', 'g', 'h'}};
  Report("TestOpen", 6, !Opens(unterminated[0]));
  Report("TestStat", 7, SizeIs("/emptyfile", 0));
  Report("TestStat", 8, SizeIs("/1kfile", 1024));
  Report("TestStat", 9, SizeIs("/10kfile", 10240));
  Report("TestStat", 10, SizeIs("/100kfile", 102400));
  Report("TestStat", 11, SizeIs("/1Mfile", 1048576));

  // TestRead-12: one byte at a time, exactly 1 MiB of zeros and then 0.
  THandle f = SysOpenFile("/1Mfilezero", O_RDONLY);
  bool ok = f != 0;
  Int64 total = 0;
  if (ok) {
    char c;
    LongInt n;
    while ((n = SysReadFile(f, 1, &c)) == 1) {
      if (c != 0) ok = false;
      ++total;
    }
    ok = ok && n == 0 && total == 1048576;
    SysCloseFile(f);
  }
  Report("TestRead", 12, ok);

  // TestRead-13: the same in one call.
  const LongInt size = 1048576;
  char* buffer = static_cast<char*>(ToroGetMem(size + 1));
  f = SysOpenFile("/1Mfilezero", O_RDONLY);
  ok = f != 0 && buffer != nullptr;
  if (ok) {
    LongInt n = SysReadFile(f, size + 1, buffer);
    ok = n == size;
    for (LongInt i = 0; ok && i < size; ++i) ok = buffer[i] == 0;
    SysCloseFile(f);
  }
  ToroFreeMem(buffer);
  Report("TestRead", 13, ok);
  return g_failed == 0 ? 0 : 1;
}
