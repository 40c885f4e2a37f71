// std::threads play cores: each allocates from its own heap and frees blocks that other
// "cores" allocated, through the remote-free lists. Built plain, with ThreadSanitizer and with
// AddressSanitizer (tests/unit/meson.build).
#include <gtest/gtest.h>
#include <mm/heap.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr uint32_t kCores = 4;
constexpr int kRounds = 20000;

// A single-producer/single-consumer ring per (from, to) pair carrying block pointers.
struct Ring {
  static constexpr size_t kSize = 1024;
  std::atomic<size_t> head{0}, tail{0};
  void* slots[kSize];
  bool push(void* p) {
    const size_t t = tail.load(std::memory_order_relaxed);
    if (t - head.load(std::memory_order_acquire) == kSize) return false;
    slots[t % kSize] = p;
    tail.store(t + 1, std::memory_order_release);
    return true;
  }
  void* pop() {
    const size_t h = head.load(std::memory_order_relaxed);
    if (h == tail.load(std::memory_order_acquire)) return nullptr;
    void* p = slots[h % kSize];
    head.store(h + 1, std::memory_order_release);
    return p;
  }
};

std::atomic<int> g_errors{0};
void on_error(mm::HeapError, const void*, uint32_t, void*) { g_errors.fetch_add(1); }

TEST(HeapStress, CoresFreeEachOthersBlocks) {
  const size_t bytes = 64 << 20;
  char* mem = static_cast<char*>(aligned_alloc(4096, bytes));
  mm::MemoryRange r{reinterpret_cast<uint64_t>(mem), reinterpret_cast<uint64_t>(mem) + bytes};
  mm::Heap heap;
  ASSERT_TRUE(heap.init(&r, 1, kCores, on_error, nullptr));
  static Ring rings[kCores][kCores];
  std::atomic<int> finished{0};

  auto core_main = [&](uint32_t core) {
    std::mt19937 rng(core * 7919 + 1);
    std::vector<void*> mine;
    for (int i = 0; i < kRounds; ++i) {
      const size_t n = rng() % 8 == 0 ? 4096 + rng() % 60000 : 1 + rng() % 512;
      auto* p = static_cast<uint8_t*>(heap.allocate(core, n));
      if (p != nullptr) {
        p[0] = uint8_t(core);
        p[n - 1] = uint8_t(core);
        const uint32_t to = rng() % kCores;
        if (to == core || !rings[core][to].push(p)) {
          mine.push_back(p);
        }
      }
      if (mine.size() > 64) {
        heap.free(core, mine.back());
        mine.pop_back();
      }
      for (uint32_t from = 0; from < kCores; ++from) {
        while (void* q = rings[from][core].pop()) {
          EXPECT_EQ(static_cast<uint8_t*>(q)[0], from);
          heap.free(core, q);  // usually another core's block: the remote path
        }
      }
    }
    for (void* p : mine) heap.free(core, p);
    finished.fetch_add(1);
    // Keep receiving until everyone is done, so no block stays in a ring.
    while (finished.load() < int(kCores)) {
      for (uint32_t from = 0; from < kCores; ++from) {
        while (void* q = rings[from][core].pop()) heap.free(core, q);
      }
      std::this_thread::yield();
    }
    for (uint32_t from = 0; from < kCores; ++from) {
      while (void* q = rings[from][core].pop()) heap.free(core, q);
    }
  };

  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < kCores; ++c) threads.emplace_back(core_main, c);
  for (auto& t : threads) t.join();
  EXPECT_EQ(g_errors.load(), 0);
  // Each core drains what others gave back; then nothing is in use anywhere.
  uint64_t remote = 0;
  for (uint32_t c = 0; c < kCores; ++c) {
    heap.collect(c);  // takes back what other cores freed
    const auto s = heap.stats(c, c);
    EXPECT_EQ(s.bytes_in_use, 0u) << "core " << c;
    remote += s.remote_frees;
  }
  EXPECT_GT(remote, 1000u);
  free(mem);
}

}  // namespace
