// Toro's per-core heap against glibc malloc, in the same process and run (bench/RESULTS.md).
//   BM_Pair/<impl>/<size>:   allocate then free one block, repeatedly (the core-local fast path)
//   BM_Batch/<impl>/<size>:  allocate 1000 blocks, then free them (slabs filling and emptying)
//   BM_CrossThread/<impl>:   one thread allocates, another frees (Toro: the remote-free path)
#include <benchmark/benchmark.h>
#include <mm/heap.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

struct ToroHeap {
  ToroHeap() {
    const size_t bytes = size_t(1) << 30;
    mem = static_cast<char*>(aligned_alloc(4096, bytes));
    mm::MemoryRange r{reinterpret_cast<uint64_t>(mem), reinterpret_cast<uint64_t>(mem) + bytes};
    if (!heap.init(&r, 1, 2, nullptr, nullptr)) abort();
  }
  char* mem;
  mm::Heap heap;
};

ToroHeap& toro() {
  static ToroHeap h;
  return h;
}

struct Toro {
  static void* alloc(uint32_t core, size_t n) { return toro().heap.allocate(core, n); }
  static void release(uint32_t core, void* p) { toro().heap.free(core, p); }
};

struct Glibc {
  static void* alloc(uint32_t, size_t n) { return malloc(n); }
  static void release(uint32_t, void* p) { free(p); }
};

template <typename Impl>
void BM_Pair(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  for (auto _ : state) {
    void* p = Impl::alloc(0, n);
    benchmark::DoNotOptimize(p);
    Impl::release(0, p);
  }
  state.SetItemsProcessed(state.iterations());
}

template <typename Impl>
void BM_Batch(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  std::vector<void*> blocks(1000);
  for (auto _ : state) {
    // Store through a local: DoNotOptimize on the vector element itself loses the store with
    // GCC 12 and benchmark 1.7 (the "+m,r" constraint), and the frees then see nullptr.
    for (size_t i = 0; i < blocks.size(); ++i) {
      void* p = Impl::alloc(0, n);
      benchmark::DoNotOptimize(p);
      blocks[i] = p;
    }
    benchmark::ClobberMemory();
    for (void* b : blocks) Impl::release(0, b);
  }
  state.SetItemsProcessed(state.iterations() * int64_t(blocks.size()));
}

// Single-producer/single-consumer ring of block pointers between the two threads.
struct Ring {
  static constexpr size_t kSize = 4096;
  alignas(64) std::atomic<size_t> head{0};
  alignas(64) std::atomic<size_t> tail{0};
  void* slots[kSize];
};

template <typename Impl>
void BM_CrossThread(benchmark::State& state) {
  constexpr size_t kPairs = 200000;
  const size_t n = size_t(state.range(0));
  for (auto _ : state) {
    Ring ring;
    std::thread consumer([&] {
      for (size_t done = 0; done < kPairs;) {
        const size_t h = ring.head.load(std::memory_order_relaxed);
        if (h == ring.tail.load(std::memory_order_acquire)) continue;
        Impl::release(1, ring.slots[h % Ring::kSize]);  // core 1 frees core 0's block
        ring.head.store(h + 1, std::memory_order_release);
        ++done;
      }
    });
    for (size_t i = 0; i < kPairs; ++i) {
      void* p = Impl::alloc(0, n);
      const size_t t = ring.tail.load(std::memory_order_relaxed);
      while (t - ring.head.load(std::memory_order_acquire) == Ring::kSize) {
      }
      ring.slots[t % Ring::kSize] = p;
      ring.tail.store(t + 1, std::memory_order_release);
    }
    consumer.join();
  }
  state.SetItemsProcessed(state.iterations() * int64_t(kPairs));
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int n : {16, 64, 256, 1024, 4096}) b->Arg(n);
}

BENCHMARK(BM_Pair<Toro>)->Name("BM_Pair/toro")->Apply(Sizes);
BENCHMARK(BM_Pair<Glibc>)->Name("BM_Pair/glibc")->Apply(Sizes);
BENCHMARK(BM_Batch<Toro>)->Name("BM_Batch/toro")->Apply(Sizes);
BENCHMARK(BM_Batch<Glibc>)->Name("BM_Batch/glibc")->Apply(Sizes);
BENCHMARK(BM_CrossThread<Toro>)
    ->Name("BM_CrossThread/toro")
    ->Arg(64)
    ->Arg(1024)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CrossThread<Glibc>)
    ->Name("BM_CrossThread/glibc")
    ->Arg(64)
    ->Arg(1024)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
