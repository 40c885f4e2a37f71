// bench/mpi's measurements, one body for every side that runs sched/collectives.h: the VM
// (bench/vm/MpiBench, ranks = cores over VirtIOBus) and the host (bench/mpi/host_threads.cpp,
// ranks = threads over sched::Channel). bench/mpi/openmpi.c measures the same with Open MPI.
// Every rank calls mpi_bench(); rank 0 prints lines "KEY SIZE CYCLES" through `out`:
//   rtt SIZE C        a round trip of SIZE bytes between ranks 0 and 1 (one way: about C / 2)
//   stream 64 C       cycles per 64-byte message when rank 0 sends 20000 back to back to rank 1
//   barrier|reduce|allreduce|bcast SIZE C   one operation (SIZE bytes of ints; barrier: 0)
#pragma once

#include <cstdint>

#include "sched/collectives.h"

namespace mpibench {

constexpr uint32_t kSizes[] = {16, 64, 256, 1024, 4096, 16384, 65536};
constexpr uint32_t kMaxSize = 65536;
constexpr int kStream = 20000;

// `buf`: kMaxSize bytes of the caller's rank; `now()`: the time stamp counter.
template <class T, class Now, class Out>
void mpi_bench(T& t, uint8_t* buf, Now now, Out out) {
  namespace mpi = sched::mpi;
  const int32_t me = t.rank();
  for (uint32_t i = 0; i < kMaxSize; ++i) buf[i] = uint8_t(i);
  if (t.size() >= 2) {
    for (uint32_t size : kSizes) {
      const int rounds = size <= 1024 ? 1000 : size <= 16384 ? 200 : 50;
      mpi::barrier(t);
      const uint64_t start = now();
      for (int i = 0; i < rounds && me < 2; ++i) {
        if (me == 0) {
          t.send(1, buf, size);
          t.recv(1, buf, kMaxSize);
        } else {
          t.recv(0, buf, kMaxSize);
          t.send(0, buf, size);
        }
      }
      if (me == 0) out("rtt", size, (now() - start) / uint64_t(rounds));
    }
    mpi::barrier(t);
    const uint64_t start = now();
    if (me == 0) {
      for (int i = 0; i < kStream; ++i) t.send(1, buf, 64);
      t.recv(1, buf, kMaxSize);
      out("stream", 64, (now() - start) / kStream);
    } else if (me == 1) {
      for (int i = 0; i < kStream; ++i) t.recv(0, buf, kMaxSize);
      t.send(0, buf, 1);
    }
  }
  auto* ints = reinterpret_cast<int32_t*>(buf);
  int32_t result[256];
  auto time = [&](const char* key, uint32_t bytes, int rounds, auto&& op) {
    mpi::barrier(t);
    const uint64_t start = now();
    for (int i = 0; i < rounds; ++i) op();
    mpi::barrier(t);
    if (me == 0) out(key, bytes, (now() - start) / uint64_t(rounds));
  };
  time("barrier", 0, 500, [&] { mpi::barrier(t); });
  time("reduce", 4, 500, [&] { mpi::reduce(t, ints, result, 1, 0, 0); });
  time("allreduce", 4, 500, [&] { mpi::allreduce(t, ints, result, 1, 0, 0); });
  time("allreduce", 1024, 200, [&] { mpi::allreduce(t, ints, result, 256, 0, 0); });
  time("bcast", 1024, 200, [&] { mpi::bcast(t, ints, 256, 0); });
  time("bcast", 65536, 20, [&] { mpi::bcast(t, ints, 16384, 0); });
}

}  // namespace mpibench
