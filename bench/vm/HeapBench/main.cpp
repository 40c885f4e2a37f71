// In-VM allocator benchmark: TSC cycles per ToroGetMem + ToroFreeMem pair, for the immediate
// pattern (allocate, free, repeat) and for batches of 1000, and for new/delete. Run with
// `tools/toro run HeapBench` (numbers: bench/RESULTS.md). Under TCG the TSC runs at the host's
// rate while instructions are emulated, so TCG numbers are much higher than under KVM.
#include <toro.h>

namespace {

constexpr int kPairs = 200000;
constexpr int kBatch = 1000;
constexpr int kBatches = 200;

void* volatile g_sink;

QWord PairCycles(PtrUInt size) {
  const QWord start = read_rdtsc();
  for (int i = 0; i < kPairs; ++i) {
    void* p = ToroGetMem(size);
    g_sink = p;
    ToroFreeMem(p);
  }
  return (read_rdtsc() - start) / kPairs;
}

QWord BatchCycles(PtrUInt size) {
  static void* blocks[kBatch];
  const QWord start = read_rdtsc();
  for (int b = 0; b < kBatches; ++b) {
    for (int i = 0; i < kBatch; ++i) blocks[i] = ToroGetMem(size);
    for (int i = 0; i < kBatch; ++i) ToroFreeMem(blocks[i]);
  }
  return (read_rdtsc() - start) / (kBatch * kBatches);
}

QWord NewDeleteCycles() {
  const QWord start = read_rdtsc();
  for (int i = 0; i < kPairs; ++i) {
    auto* p = new PtrUInt[8];
    g_sink = p;
    delete[] p;
  }
  return (read_rdtsc() - start) / kPairs;
}

}  // namespace

int main() {
  WriteConsoleF("HeapBench: TSC cycles per allocate+free pair\n");
  WriteConsoleF("HeapBench: %p %p %p\n", "size", "pair", "batch-1000");
  const PtrUInt kSizes[] = {16, 64, 256, 1024, 4096, 65536};
  for (PtrUInt size : kSizes) {
    PairCycles(size);  // warm up: slabs and caches
    WriteConsoleF("HeapBench: %d %d %d\n", size, PairCycles(size), BatchCycles(size));
  }
  WriteConsoleF("HeapBench: new/delete[] of 64 bytes: %d cycles\n", NewDeleteCycles());
  return 0;
}
