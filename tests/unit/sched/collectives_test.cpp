// MPI's collectives (src/sched/collectives.h) with host threads as ranks over sched::Channel,
// as VirtIOBus carries them between cores: results for 1..8 ranks, every root, lengths around
// the chunk size, back-to-back barriers, and the errors. Also run under ThreadSanitizer.
#include "sched/collectives.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "sched/channel.h"

namespace {

namespace mpi = sched::mpi;

// The channels of n ranks, and one rank's view of them.
class Bus {
 public:
  explicit Bus(int32_t n) : n_(n), channels_(size_t(n) * size_t(n)) {
    for (auto& c : channels_) c = std::make_unique<sched::Channel<16>>();
  }
  sched::Channel<16>& at(int32_t from, int32_t to) { return *channels_[size_t(from) * size_t(n_) + size_t(to)]; }
  int32_t size() const { return n_; }

 private:
  int32_t n_;
  std::vector<std::unique_ptr<sched::Channel<16>>> channels_;
};

struct Rank {
  Bus* bus;
  int32_t me;
  int32_t rank() const { return me; }
  int32_t size() const { return bus->size(); }
  int32_t send(int32_t to, const void* data, uint32_t len) {
    auto wait = [] { std::this_thread::yield(); };
    return bus->at(me, to).send(data, len, wait) == sched::ChannelError::kOk ? 0 : -1;
  }
  int64_t recv(int32_t from, void* data, uint32_t cap) {
    auto wait = [] { std::this_thread::yield(); };
    for (;;) {
      const sched::ChannelRecv r = bus->at(from, me).poll(data, cap, wait);
      if (r.error == sched::ChannelError::kOk) return int64_t(r.length);
      if (r.error != sched::ChannelError::kEmpty) return -1;
      std::this_thread::yield();
    }
  }
};

// Runs body(rank) on n threads.
void run(int32_t n, const std::function<void(Rank&)>& body) {
  Bus bus(n);
  std::vector<std::thread> threads;
  for (int32_t r = 0; r < n; ++r) {
    threads.emplace_back([&bus, r, &body] {
      Rank rank{&bus, r};
      body(rank);
    });
  }
  for (auto& t : threads) t.join();
}

int32_t value(int32_t rank, int32_t i) { return rank * 1000 + (i % 977) - 300; }

TEST(Collectives, ReduceEveryOpRootAndLength) {
  for (int32_t n : {1, 2, 3, 5, 8}) {
    for (int32_t count : {0, 1, 511, 512, 513, 1500}) {
      for (int32_t op = 0; op < 3; ++op) {
        const int32_t root = (count + op) % n;
        std::vector<int32_t> result(size_t(count) + 1, 12345);
        std::atomic<int> errors{0};
        run(n, [&](Rank& r) {
          std::vector<int32_t> mine(size_t(count) + 1);
          for (int32_t i = 0; i < count; ++i) mine[size_t(i)] = value(r.me, i);
          int32_t* out = r.me == root ? result.data() : nullptr;
          if (mpi::reduce(r, mine.data(), out, count, op, root) != mpi::kOk) ++errors;
        });
        ASSERT_EQ(errors, 0);
        for (int32_t i = 0; i < count; ++i) {
          int32_t want = value(0, i);
          for (int32_t k = 1; k < n; ++k) {
            const int32_t v = value(k, i);
            want = op == 0 ? want + v : op == 1 ? std::min(want, v) : std::max(want, v);
          }
          ASSERT_EQ(result[size_t(i)], want) << "n=" << n << " count=" << count << " op=" << op << " i=" << i;
        }
        EXPECT_EQ(result[size_t(count)], 12345);  // nothing past the vector
      }
    }
  }
}

TEST(Collectives, AllReduceInPlaceAndBcastAnySize) {
  for (int32_t n : {2, 3, 4, 7}) {
    std::atomic<int> bad{0};
    run(n, [&](Rank& r) {
      std::vector<int32_t> v(1030);
      for (int32_t i = 0; i < 1030; ++i) v[size_t(i)] = r.me + i;
      if (mpi::allreduce(r, v.data(), v.data(), 1030, 0, 1 % n) != mpi::kOk) ++bad;
      for (int32_t i = 0; i < 1030; ++i) {
        if (v[size_t(i)] != n * i + n * (n - 1) / 2) ++bad;
      }
      // Bcast of 4096 ints (Toro's hung from 256 on) from the last rank.
      std::vector<int32_t> b(4096, r.me == n - 1 ? 0 : -1);
      if (r.me == n - 1) {
        for (int32_t i = 0; i < 4096; ++i) b[size_t(i)] = i * 31;
      }
      if (mpi::bcast(r, b.data(), 4096, n - 1) != mpi::kOk) ++bad;
      for (int32_t i = 0; i < 4096; ++i) {
        if (b[size_t(i)] != i * 31) ++bad;
      }
    });
    EXPECT_EQ(bad, 0) << "n=" << n;
  }
}

// Nobody leaves barrier k before everybody has arrived at it, thousands of times back to back.
TEST(Collectives, BarrierBackToBack) {
  for (int32_t n : {1, 2, 3, 6, 8}) {
    constexpr int kRounds = 2000;
    std::atomic<int> arrived{0};
    std::atomic<int> bad{0};
    run(n, [&](Rank& r) {
      for (int k = 0; k < kRounds; ++k) {
        arrived.fetch_add(1);
        if (mpi::barrier(r) != mpi::kOk) ++bad;
        if (arrived.load() < (k + 1) * n) ++bad;
      }
    });
    EXPECT_EQ(bad, 0) << "n=" << n;
  }
}

TEST(Collectives, GatherScatterAndPointToPoint) {
  const int32_t n = 5, count = 700;
  std::vector<int32_t> all(size_t(n) * count), back(size_t(n) * count);
  std::atomic<int> bad{0};
  run(n, [&](Rank& r) {
    std::vector<int32_t> mine(count), again(count);
    for (int32_t i = 0; i < count; ++i) mine[size_t(i)] = value(r.me, i);
    if (mpi::gather(r, mine.data(), all.data(), count, 2) != mpi::kOk) ++bad;
    if (mpi::scatter(r, all.data(), again.data(), count, 2) != mpi::kOk) ++bad;
    if (again != mine) ++bad;
    // A ring: each rank sends its vector to the next and receives the previous one's. A send
    // larger than the channel waits for the receiver, so rank 0 starts it and the others first
    // receive (all sending at once would wait for each other, as in MPI).
    std::vector<int32_t> got(count + 10);
    if (r.me == 0 && mpi::send(r, mine.data(), count, 1) != mpi::kOk) ++bad;
    if (mpi::recv(r, got.data(), count + 10, (r.me + n - 1) % n) != count) ++bad;
    if (r.me != 0 && mpi::send(r, mine.data(), count, (r.me + 1) % n) != mpi::kOk) ++bad;
    for (int32_t i = 0; i < count; ++i) {
      if (got[size_t(i)] != value((r.me + n - 1) % n, i)) ++bad;
    }
  });
  EXPECT_EQ(bad, 0);
  for (int32_t k = 0; k < n; ++k) EXPECT_EQ(all[size_t(k) * count + 3], value(k, 3));
}

TEST(Collectives, BadArguments) {
  Bus bus(3);
  Rank r{&bus, 1};
  int32_t v[4] = {};
  EXPECT_EQ(mpi::reduce(r, v, v, 4, 0, 3), mpi::kBadRank);
  EXPECT_EQ(mpi::reduce(r, v, v, 4, 0, -1), mpi::kBadRank);
  EXPECT_EQ(mpi::reduce(r, v, v, -1, 0, 0), mpi::kBadCount);
  EXPECT_EQ(mpi::reduce(r, v, v, 4, 3, 0), mpi::kBadOp);
  EXPECT_EQ(mpi::reduce(r, nullptr, v, 4, 0, 0), mpi::kBadBuffer);
  EXPECT_EQ(mpi::allreduce(r, v, nullptr, 4, 0, 0), mpi::kBadBuffer);
  EXPECT_EQ(mpi::bcast(r, v, -2, 0), mpi::kBadCount);
  EXPECT_EQ(mpi::bcast(r, nullptr, 4, 0), mpi::kBadBuffer);
  EXPECT_EQ(mpi::gather(r, v, v, 4, 7), mpi::kBadRank);
  EXPECT_EQ(mpi::scatter(r, v, nullptr, 4, 0), mpi::kBadBuffer);
  EXPECT_EQ(mpi::send(r, v, 4, 1), mpi::kBadRank);  // to itself
  EXPECT_EQ(mpi::send(r, v, int32_t(mpi::kMaxMessageInts) + 1, 0), mpi::kBadCount);
  EXPECT_EQ(mpi::recv(r, v, 4, 5), mpi::kBadRank);
  // A message longer than the receive: an error, and it stays queued for a larger one.
  int32_t six[6] = {1, 2, 3, 4, 5, 6};
  Rank r0{&bus, 0};
  ASSERT_EQ(mpi::send(r0, six, 6, 1), mpi::kOk);
  EXPECT_EQ(mpi::recv(r, v, 4, 0), mpi::kMismatch);
  int32_t eight[8] = {};
  EXPECT_EQ(mpi::recv(r, eight, 8, 0), 6);
  EXPECT_EQ(eight[5], 6);
  // Nothing was sent by the checks that failed.
  EXPECT_TRUE(bus.at(1, 0).empty());
  EXPECT_TRUE(bus.at(1, 2).empty());
}

TEST(Collectives, SumWrapsAround) {
  int32_t acc[2] = {INT32_MAX, INT32_MIN};
  const int32_t in[2] = {1, -1};
  mpi::combine(acc, in, 2, mpi::Op::kSum);
  EXPECT_EQ(acc[0], INT32_MIN);
  EXPECT_EQ(acc[1], INT32_MAX);
}

}  // namespace
