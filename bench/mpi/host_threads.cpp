// bench/mpi's host side: the same body (bench_body.h) and the same algorithms
// (src/sched/collectives.h) with one host thread per rank over sched::Channel<64> (the ring
// VirtIOBus uses), waiting by yielding the CPU as a host program would. Prints the lines
// bench/vm/MpiBench prints.  Usage: host_threads RANKS
#include <x86intrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "bench_body.h"
#include "sched/channel.h"

namespace {

using Channel = sched::Channel<64>;

struct Rank {
  std::vector<std::unique_ptr<Channel>>* bus;
  int32_t n, me;
  Channel& at(int32_t from, int32_t to) { return *(*bus)[size_t(from * n + to)]; }
  int32_t rank() const { return me; }
  int32_t size() const { return n; }
  int32_t send(int32_t to, const void* data, uint32_t len) {
    return at(me, to).send(data, len, [] { std::this_thread::yield(); }) == sched::ChannelError::kOk ? 0 : -1;
  }
  int64_t recv(int32_t from, void* data, uint32_t cap) {
    for (;;) {
      const sched::ChannelRecv r = at(from, me).poll(data, cap, [] { std::this_thread::yield(); });
      if (r.error == sched::ChannelError::kOk) return int64_t(r.length);
      if (r.error != sched::ChannelError::kEmpty) return -1;
      std::this_thread::yield();
    }
  }
};

double tsc_mhz() {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t c0 = __rdtsc();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t c1 = __rdtsc();
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  return double(c1 - c0) / us;
}

}  // namespace

int main(int argc, char** argv) {
  const int32_t n = argc > 1 ? std::atoi(argv[1]) : 2;
  std::printf("mpibench tsc_mhz %.0f\n", tsc_mhz());
  std::vector<std::unique_ptr<Channel>> bus(size_t(n * n));
  for (auto& c : bus) c = std::make_unique<Channel>();
  std::vector<std::thread> threads;
  for (int32_t r = 0; r < n; ++r) {
    threads.emplace_back([&bus, n, r] {
      Rank t{&bus, n, r};
      std::vector<uint8_t> buf(mpibench::kMaxSize);
      mpibench::mpi_bench(
          t, buf.data(), [] { return __rdtsc(); },
          [](const char* key, uint32_t size, uint64_t cycles) {
            std::printf("mpibench %s %u %llu\n", key, size, static_cast<unsigned long long>(cycles));
            std::fflush(stdout);
          });
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}
