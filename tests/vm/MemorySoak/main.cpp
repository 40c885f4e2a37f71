// The allocator over time: a fragmentation soak (random sizes allocated and freed for a while),
// after which a block of most of the core's memory must still be available; plus realloc,
// calloc, zeroing, alignment, usable sizes and the cache-control calls, each checked.
#include <toro.h>

#include <cstdlib>
#include <cstring>

namespace {

int g_failed = 0;

void Check(const char* name, bool ok) {
  WriteConsoleF("MemorySoak-%p: %p\n", name, ok ? "PASSED" : "FAILED");
  if (!ok) ++g_failed;
}

struct Rng {
  QWord state = 0x9E3779B97F4A7C15ull;
  QWord next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

constexpr int kLive = 4096;
constexpr int kRounds = 300000;

}  // namespace

int main() {
  TMemoryStats start;
  SysGetMemoryStats(0, &start);

  // Soak: sizes mostly small, sometimes up to 256 KiB; each block is filled with a byte derived
  // from its slot and checked before it is freed.
  void** live = static_cast<void**>(ToroAllocMem(sizeof(void*) * kLive));
  PtrUInt* sizes = static_cast<PtrUInt*>(ToroAllocMem(sizeof(PtrUInt) * kLive));
  Rng rng;
  bool contents_ok = true;
  PtrUInt failures = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int slot = int(rng.next() % kLive);
    if (live[slot] != nullptr) {
      const Byte want = Byte(slot * 31 + sizes[slot]);
      const Byte* b = static_cast<const Byte*>(live[slot]);
      if (sizes[slot] > 0 && (b[0] != want || b[sizes[slot] - 1] != want)) contents_ok = false;
      ToroFreeMem(live[slot]);
      live[slot] = nullptr;
    } else {
      const QWord r = rng.next();
      const PtrUInt size = r % 16 == 0 ? PtrUInt(r >> 8) % (256 * 1024) : PtrUInt(r >> 8) % 2048;
      void* p = ToroGetMem(size);
      if (p == nullptr) {
        ++failures;
        continue;
      }
      memset(p, Byte(slot * 31 + size), size);
      live[slot] = p;
      sizes[slot] = size;
    }
  }
  for (int i = 0; i < kLive; ++i) ToroFreeMem(live[i]);
  ToroFreeMem(live);
  ToroFreeMem(sizes);
  Check("contents", contents_ok && failures == 0);

  TMemoryStats end;
  SysGetMemoryStats(0, &end);
  WriteConsoleF("MemorySoak: in use %d -> %d bytes, largest free block %d -> %d of %d bytes\n", start.BytesInUse,
                end.BytesInUse, start.LargestFreeBlock, end.LargestFreeBlock, end.RegionBytes);
  Check("nothing-leaked", end.BytesInUse == start.BytesInUse);
  // No permanent fragmentation: 90 % of the core's memory in one block.
  const PtrUInt big_size = PtrUInt(end.RegionBytes / 10 * 9);
  void* big = ToroGetMem(big_size);
  Check("large-after-soak", big != nullptr);
  if (big != nullptr) {
    memset(big, 0x5A, big_size);
    ToroFreeMem(big);
  }

  // realloc keeps contents; shrinking stays in place; calloc and ToroAllocMem zero.
  char* r = static_cast<char*>(ToroReAllocMem(nullptr, 10));
  memcpy(r, "toro-12345", 10);
  char* r2 = static_cast<char*>(ToroReAllocMem(r, 100000));
  Check("realloc-grow", r2 != nullptr && memcmp(r2, "toro-12345", 10) == 0);
  Check("realloc-shrink", ToroReAllocMem(r2, 50) == r2);
  Check("realloc-zero", ToroReAllocMem(r2, 0) == nullptr);
  int* c = static_cast<int*>(calloc(1000, sizeof(int)));
  bool zero = c != nullptr;
  for (int i = 0; zero && i < 1000; ++i) zero = c[i] == 0;
  free(c);
  Check("calloc-zero", zero);
  volatile PtrUInt huge = ~PtrUInt(0) / 2;  // volatile: GCC rejects a constant overflow at compile time
  Check("calloc-overflow", calloc(huge, 4) == nullptr);
  char* z = static_cast<char*>(ToroAllocMem(5000));
  bool zeroed = z != nullptr;
  for (int i = 0; zeroed && i < 5000; ++i) zeroed = z[i] == 0;
  Check("allocmem-zero", zeroed);
  Check("pointer-size", GetPointerSize(z) >= 5000 && GetPointerSize(nullptr) == 0);
  ToroFreeMem(z);

  // Alignment: 16 always, 64 and 4096 on request.
  bool aligned = true;
  const PtrUInt kSizes[] = {1, 24, 100, 3000, 70000};
  for (PtrUInt n : kSizes) {
    void* a = ToroGetMem(n);
    void* b = ToroGetMemAligned(n, 64);
    void* d = ToroGetMemAligned(n, 4096);
    aligned = aligned && (PtrUInt(a) % 16 == 0) && (PtrUInt(b) % 64 == 0) && (PtrUInt(d) % 4096 == 0);
    ToroFreeMem(a);
    ToroFreeMem(b);
    ToroFreeMem(d);
  }
  Check("alignment", aligned && ToroGetMemAligned(10, 3) == nullptr);

  // Cache control on a heap block: uncached and back, the memory stays usable.
  volatile PtrUInt* m = static_cast<volatile PtrUInt*>(ToroGetMem(4096));
  const bool un = SysUnCacheRegion(const_cast<PtrUInt*>(m), 4096);
  m[0] = 42;
  const bool re = SysCacheRegion(const_cast<PtrUInt*>(m), 4096);
  Check("cache-region", un && re && m[0] == 42 && !SysUnCacheRegion(reinterpret_cast<Pointer>(0x400000000000ull), 10));
  ToroFreeMem(const_cast<PtrUInt*>(m));

  TMemoryStats s;
  Check("stats", SysGetMemoryStats(0, &s) && s.RegionBytes > 0 && s.BytesFree <= s.RegionBytes &&
                     !SysGetMemoryStats(1000, &s) && !SysGetMemoryStats(-1, &s));
  return g_failed;
}
