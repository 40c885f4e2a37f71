/* bench/fs: the Linux guest's side of the in-guest disk benchmark, built static on the host
 * (gcc -static) into the guest's initramfs. The same reads as bench/vm/DiskSpeed:
 *   fsbench FILE sequential      the file in 1 MiB read()s: MB/s
 *   fsbench FILE random          2000 reads of 4 KiB at 4 KiB-aligned offsets (lseek + read),
 *   fsbench FILE random-direct   the same with O_DIRECT (no page cache)
 * the offsets from the same xorshift64 and seed as DiskSpeed; a checksum of what was read, which
 * run.py compares with the file. Only the read calls are timed (CLOCK_MONOTONIC). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kChunk = 1 << 20, kBlock = 4096, kReads = 2000 };

static uint64_t next(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t word_sum(const unsigned char* p, size_t n) {
  uint64_t sum = 0, w;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    memcpy(&w, p + i, 8);
    sum += w;
  }
  return sum;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fsbench FILE sequential|random|random-direct\n");
    return 2;
  }
  const char* mode = argv[2];
  const int direct = strcmp(mode, "random-direct") == 0;
  const int fd = open(argv[1], O_RDONLY | (direct ? O_DIRECT : 0));
  struct stat st;
  void* buf = NULL;
  if (fd < 0 || fstat(fd, &st) != 0 || posix_memalign(&buf, kBlock, kChunk) != 0) {
    printf("bench: fsbench %s: cannot open %s: %m\n", mode, argv[1]);
    return 1;
  }
  uint64_t check = 0;
  double t = 0;
  if (strcmp(mode, "sequential") == 0) {
    uint64_t total = 0;
    for (;;) {
      const double t0 = now();
      const ssize_t n = read(fd, buf, kChunk);
      t += now() - t0;
      if (n <= 0) break;
      total += (uint64_t)n;
      check = check * 31 + word_sum(buf, (size_t)n);
    }
    printf("bench: fsbench sequential %llu bytes in 1 MiB reads: %.0f us, %.2f MB/s, checksum 0x%016llx\n",
           (unsigned long long)total, t * 1e6, (double)total / t / 1e6, (unsigned long long)check);
    return 0;
  }
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  const uint64_t blocks = (uint64_t)st.st_size / kBlock;
  for (int i = 0; i < kReads; ++i) {
    const off_t offset = (off_t)(next(&seed) % blocks) * kBlock;
    const double t0 = now();
    const off_t at = lseek(fd, offset, SEEK_SET);
    const ssize_t n = read(fd, buf, kBlock);
    t += now() - t0;
    if (at != offset || n != kBlock) {
      printf("bench: fsbench %s: read %d at %lld gave %zd: %m\n", mode, i, (long long)offset, n);
      return 1;
    }
    check = check * 31 + word_sum(buf, kBlock);
  }
  printf("bench: fsbench %s %d reads of %d: %.0f us, %.0f reads/s, checksum 0x%016llx\n", mode, kReads, kBlock, t * 1e6,
         kReads / t, (unsigned long long)check);
  return 0;
}
