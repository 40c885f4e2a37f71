// Port of Toro HEAD's tests/filesystem/TestFilesystem (toro-spec §3.5), on a block device instead
// of virtio-fs: the kernel parameters name the filesystem and the device (`-append fat,virtioblk`,
// `ext2,ATA0,1`: an optional third one is the minor, 0 by default); without parameters it ends at
// once, as Toro's does. Toro's test data (tests/vm/fstest.py), the PASSED set TestOpen-0 ..
// TestWrite-14: TestRead-12 reads 1 MiB in one call, TestCreate-13 creates /test, TestWrite-14
// writes a 34-byte string, closes, reopens and reads it back.
#include <toro.h>

#include <cstring>

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

LongInt ParseMinor(const char* s) {
  LongInt v = 0;
  for (; *s >= '0' && *s <= '9'; ++s) v = v * 10 + (*s - '0');
  return v;
}

}  // namespace

int main() {
  if (KernelParamCount() < 2) return 0;
  const char* filesystem = GetKernelParam(0);
  const char* device = GetKernelParam(1);
  const LongInt minor = KernelParamCount() > 2 ? ParseMinor(GetKernelParam(2)) : 0;
  DedicateBlockDriver(device, 0);
  if (!SysMount(filesystem, device, minor)) {
    WriteConsoleF("TestFilesystem: no volume, FAILED\n");
    return 1;
  }
  Report("TestOpen", 0, Opens("/1kfile"));
  Report("TestOpen", 1, Opens("/dir/1kfile"));
  Report("TestOpen", 2, Opens("/dir"));
  static char long_name[320];
  for (char& c : long_name) c = 'a';
  long_name[sizeof long_name - 1] = '\0';
  Report("TestOpen", 3, !Opens(long_name));
  Report("TestOpen", 4, Opens("/filenametooooolong"));
  Report("TestOpen", 5, Opens("/dir/filenametooooolong"));
  static const char unterminated[2][5] = {{'/', 'a', 'b', 'c', 'd'}, {'/', 'e', 'f', 'g', 'h'}};
  Report("TestOpen", 6, !Opens(unterminated[0]));
  Report("TestStat", 7, SizeIs("/emptyfile", 0));
  Report("TestStat", 8, SizeIs("/1kfile", 1024));
  Report("TestStat", 9, SizeIs("/10kfile", 10240));
  Report("TestStat", 10, SizeIs("/100kfile", 102400));
  Report("TestStat", 11, SizeIs("/1Mfile", 1048576));

  const LongInt size = 1048576;
  char* buffer = static_cast<char*>(ToroGetMem(size));
  THandle f = SysOpenFile("/1Mfilezero", O_RDONLY);
  bool ok = f != 0 && buffer != nullptr;
  if (ok) {
    ok = SysReadFile(f, size, buffer) == size;
    for (LongInt i = 0; ok && i < size; ++i) ok = buffer[i] == 0;
    SysCloseFile(f);
  }
  ToroFreeMem(buffer);
  Report("TestRead", 12, ok);

  f = SysCreateFile("/test");
  Report("TestCreate", 13, f != 0);
  static const char kText[] = "abcdefeedfegghkkgiugjfhuiifjijefij";
  const LongInt length = LongInt(strlen(kText));
  ok = f != 0 && SysWriteFile(f, length, kText) == length;
  if (f != 0) SysCloseFile(f);
  f = SysOpenFile("/test", O_RDONLY);
  char back[64] = {};
  ok = ok && f != 0 && SysReadFile(f, sizeof back, back) == length && memcmp(back, kText, length) == 0;
  if (f != 0) SysCloseFile(f);
  Report("TestWrite", 14, ok);
  return g_failed == 0 ? 0 : 1;
}
