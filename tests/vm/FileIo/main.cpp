// Files between the guest and the host, byte-exact (tests/vm/fstest.py). Kernel parameters:
// FILESYSTEM,DEVICE,MINOR,MODE.
//   write: creates /out and in it f0.bin .. f11.bin (0 bytes to 1 MiB + 7, written in uneven
//          pieces, content a function of the file and offset that fstest.py recomputes), printing
//          `FileIo: closed /out/fN.bin size S` after each SysCloseFile, then `FileIo: all closed`,
//          and waits: the host kills QEMU (SIGKILL) at that line, so only what close made durable
//          is on the disk when it checks the image.
//   read:  reads /in/data.bin (put there by the host) and prints its size and SHA-1, which the
//          host compares with its own file's; then reads it again in 4 KiB pieces from SeekSet
//          offsets back to front and prints the same digest if every piece matched.
#include <lib/sha1.h>
#include <toro.h>

#include <cstring>

namespace {

constexpr LongInt kSizes[] = {0, 1, 511, 512, 513, 4096, 4097, 65536, 100000, 333333, 1048576 + 7, 2048};

Byte Pattern(LongInt file, LongInt offset) { return Byte(file * 131 + offset * 7 + (offset >> 9)); }

LongInt ParseInt(const char* s) {
  LongInt v = 0;
  for (; s != nullptr && *s >= '0' && *s <= '9'; ++s) v = v * 10 + (*s - '0');
  return v;
}

void Hex(const uint8_t* digest, char* out) {
  static const char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < klib::Sha1::kDigestSize; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 15];
  }
  out[2 * klib::Sha1::kDigestSize] = '\0';
}

bool g_exit_after_write = false;  // no parameters: see main

int WriteFiles() {
  if (SysCreateDir("/out") != 1) WriteConsoleF("FileIo: /out not created (it may exist)\n");
  static Byte piece[5000];
  LongInt file = 0;
  for (LongInt size : kSizes) {
    char path[32] = "/out/f";
    LongInt n = 6;
    if (file >= 10) path[n++] = char('0' + file / 10);
    path[n++] = char('0' + file % 10);
    memcpy(path + n, ".bin", 5);
    THandle f = SysCreateFile(path);
    if (f == 0) {
      WriteConsoleF("FileIo: cannot create %p, FAILED\n", path);
      return 1;
    }
    LongInt offset = 0;
    LongInt step = 1;
    while (offset < size) {
      // Pieces of 1, 2, 4, ... 4096 bytes and then 4999: unaligned to sectors and clusters.
      LongInt count = step < 4096 ? step : 4999;
      if (count > size - offset) count = size - offset;
      for (LongInt i = 0; i < count; ++i) piece[i] = Pattern(file, offset + i);
      if (SysWriteFile(f, count, piece) != count) {
        WriteConsoleF("FileIo: short write to %p at %d, FAILED\n", path, offset);
        return 1;
      }
      offset += count;
      if (step < 4096) step *= 2;
    }
    SysCloseFile(f);
    WriteConsoleF("FileIo: closed %p size %d\n", path, size);
    ++file;
  }
  WriteConsoleF("FileIo: all closed\n");
  if (g_exit_after_write) return 0;
  SysSuspendThread(0);  // the host kills the VM here
  return 0;
}

int ReadFile() {
  TInode inode;
  if (SysStatFile("/in/data.bin", &inode) != 1) {
    WriteConsoleF("FileIo: /in/data.bin not found, FAILED\n");
    return 1;
  }
  THandle f = SysOpenFile("/in/data.bin", O_RDONLY);
  static Byte buffer[65536];
  klib::Sha1 h;
  Int64 total = 0;
  LongInt n;
  while ((n = SysReadFile(f, sizeof buffer, buffer)) > 0) {
    h.update(buffer, size_t(n));
    total += n;
  }
  uint8_t digest[klib::Sha1::kDigestSize];
  h.finish(digest);
  char hex[2 * klib::Sha1::kDigestSize + 1];
  Hex(digest, hex);
  WriteConsoleF("FileIo: read /in/data.bin size %d sha1 %p\n", total, hex);
  // Back to front in 4 KiB pieces through SysSeekFile: every piece must equal the forward read's.
  static Byte whole[4 << 20];
  if (total > Int64(sizeof whole)) return total == inode.Size ? 0 : 1;
  SysSeekFile(f, 0, SeekSet);
  if (SysReadFile(f, LongInt(total), whole) != total) return 1;
  klib::Sha1 again;
  bool same = true;
  for (Int64 at = (total - 1) / 4096 * 4096; at >= 0 && total > 0; at -= 4096) {
    const LongInt want = LongInt(total - at < 4096 ? total - at : 4096);
    if (SysSeekFile(f, LongInt(at), SeekSet) != at || SysReadFile(f, want, buffer) != want ||
        memcmp(buffer, whole + at, size_t(want)) != 0) {
      same = false;
    }
  }
  SysCloseFile(f);
  again.update(whole, size_t(total));
  again.finish(digest);
  Hex(digest, hex);
  WriteConsoleF("FileIo: seek reads %p, sha1 %p\n", same ? "match" : "DIFFER", hex);
  return total == inode.Size && same ? 0 : 1;
}

}  // namespace

// Without parameters (Bochs has no kernel command line): the first partition of ATA0's slave
// (minor 6), FAT or else ext2, in mode `write` but ending with exit code 0 after the last close
// instead of waiting to be killed.

int main() {
  if (KernelParamCount() == 0) {
    DedicateBlockDriver("ATA0", 0);
    if (!SysMount("fat", "ATA0", 6) && !SysMount("ext2", "ATA0", 6)) return 1;
    g_exit_after_write = true;
    return WriteFiles();
  }
  if (KernelParamCount() < 4) {
    WriteConsoleF("FileIo: parameters FILESYSTEM,DEVICE,MINOR,MODE\n");
    return 2;
  }
  const char* device = GetKernelParam(1);
  DedicateBlockDriver(device, 0);
  if (!SysMount(GetKernelParam(0), device, ParseInt(GetKernelParam(2)))) return 1;
  if (strcmp(GetKernelParam(3), "write") == 0) return WriteFiles();
  return ReadFile();
}
