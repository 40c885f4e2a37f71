// In-VM disk benchmark (issue #12, bench/fs): mounts a volume, reads one file sequentially in
// 1 MiB calls, then makes 2000 random 4 KiB reads of it (SysSeekFile + SysReadFile), and
// prints the time of each, a checksum of what it read (bench/fs/run.py compares both with the
// file on the host) and the core's heap in use (the block cache's share of it).
// Kernel parameters, all optional, in order: the file (/disk.bin), the filesystem (fat), the
// block device (virtioblk) and its minor (0).
//   tools/toro run DiskSpeed --disk IMG          (bench/fs/run.py boots QEMU itself)
// Times are TSC cycles / LocalCpuSpeed; under TCG the TSC runs at the host's rate, so they are
// wall-clock times.
#include <toro.h>

namespace {

constexpr LongInt kChunk = 1 << 20;
constexpr LongInt kBlock = 4096;
constexpr int kRandomReads = 2000;
constexpr QWord kSeed = 0x9E3779B97F4A7C15ull;  // bench/fs/run.py and its Linux program use the same

// xorshift64: the random blocks, the same sequence in the Linux guest's program.
QWord Next(QWord* s) {
  QWord x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

// The sum of the 64-bit little-endian words of data (size a multiple of 8), mod 2^64.
QWord WordSum(const Byte* data, LongInt size) {
  QWord sum = 0;
  for (LongInt i = 0; i + 8 <= size; i += 8) {
    QWord w;
    __builtin_memcpy(&w, data + i, 8);
    sum += w;
  }
  return sum;
}

const char* Param(LongInt i, const char* fallback) {
  const char* p = GetKernelParam(i);
  return p != nullptr ? p : fallback;
}

QWord Micros(QWord cycles) { return LocalCpuSpeed > 0 ? cycles / QWord(LocalCpuSpeed) : 0; }

QWord HeapInUse() {
  TMemoryStats s;
  return SysGetMemoryStats(0, &s) ? s.BytesInUse : 0;
}

}  // namespace

int main() {
  const char* path = Param(0, "/disk.bin");
  const char* filesystem = Param(1, "fat");
  const char* device = Param(2, "virtioblk");
  LongInt minor = 0;
  for (const char* m = Param(3, "0"); *m >= '0' && *m <= '9'; ++m) minor = minor * 10 + (*m - '0');

  const QWord before_mount = HeapInUse();
  DedicateBlockDriver(device, 0);
  if (!SysMount(filesystem, device, minor)) {
    WriteConsoleF("DiskSpeed: cannot mount %p on %p minor %d\n", filesystem, device, minor);
    return 1;
  }
  TInode inode;
  if (SysStatFile(path, &inode) == 0 || inode.Mode != INODE_REG) {
    WriteConsoleF("DiskSpeed: no file %p\n", path);
    return 1;
  }
  THandle f = SysOpenFile(path, O_RDONLY);
  auto* buffer = static_cast<Byte*>(ToroGetMem(kChunk));
  if (f == 0 || buffer == nullptr) {
    WriteConsoleF("DiskSpeed: cannot open %p or no buffer\n", path);
    return 1;
  }
  TMemoryStats stats;
  SysGetMemoryStats(0, &stats);
  WriteConsoleF("DiskSpeed: file %p, %d bytes; core memory %d bytes, heap in use %d before the mount, %d after\n", path,
                inode.Size, stats.RegionBytes, before_mount, HeapInUse());

  // Sequential: only the SysReadFile calls are timed (the checksum is not).
  QWord cycles = 0, total = 0, check = 0;
  LongInt calls = 0;
  for (;;) {
    const QWord t0 = read_rdtsc();
    const LongInt n = SysReadFile(f, kChunk, buffer);
    cycles += read_rdtsc() - t0;
    if (n <= 0) break;
    ++calls;
    total += QWord(n);
    check = check * 31 + WordSum(buffer, n);
  }
  QWord us = Micros(cycles);
  QWord centi_mbps = us > 0 ? total * 100 / us : 0;  // bytes per µs = MB/s
  WriteConsoleF("DiskSpeed: sequential %d bytes in %d reads of %d: %d us, %d.%d%d MB/s, checksum %h\n", total, calls,
                kChunk, us, centi_mbps / 100, centi_mbps / 10 % 10, centi_mbps % 10, check);
  if (total != QWord(inode.Size)) {
    WriteConsoleF("DiskSpeed: read %d bytes of %d\n", total, inode.Size);
    return 1;
  }
  const QWord after_sequential = HeapInUse();

  // Random: 4 KiB-aligned blocks of the file, seek and read both timed.
  const QWord blocks = QWord(inode.Size) / kBlock;
  QWord seed = kSeed;
  cycles = 0;
  check = 0;
  QWord seek_cycles = 0;
  for (int i = 0; i < kRandomReads; ++i) {
    const LongInt offset = LongInt(Next(&seed) % blocks) * kBlock;
    const QWord t0 = read_rdtsc();
    const LongInt at = SysSeekFile(f, offset, SeekSet);
    const QWord t1 = read_rdtsc();
    const LongInt n = SysReadFile(f, kBlock, buffer);
    cycles += read_rdtsc() - t0;
    seek_cycles += t1 - t0;
    if (at != offset || n != kBlock) {
      WriteConsoleF("DiskSpeed: random read %d at %d: seek gave %d, read %d bytes\n", i, offset, at, n);
      return 1;
    }
    check = check * 31 + WordSum(buffer, n);
  }
  us = Micros(cycles);
  WriteConsoleF("DiskSpeed: random %d reads of %d: %d us, %d reads/s, checksum %h (%d us of it in SysSeekFile)\n",
                kRandomReads, kBlock, us, us > 0 ? QWord(kRandomReads) * 1000000 / us : 0, check, Micros(seek_cycles));
  WriteConsoleF("DiskSpeed: heap in use %d after the sequential read, %d after the random reads\n", after_sequential,
                HeapInUse());
  SysCloseFile(f);
  ToroFreeMem(buffer);
  return 0;
}
