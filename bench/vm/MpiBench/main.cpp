// bench/mpi's in-VM side (bench/mpi/run.py boots it at -smp 2, 4, 8): bench/mpi/bench_body.h
// with one rank per core over VirtIOBus, as ToroMPI runs (src/api/mpi.cpp); rank 0 prints
// "mpibench KEY SIZE CYCLES" lines and the TSC rate.
#include <ToroMpi.h>
#include <toro.h>

#include "../../mpi/bench_body.h"

namespace {

struct CoreTransport {
  int32_t rank() const { return GetCoreId(); }
  int32_t size() const { return CPU_COUNT; }
  int32_t send(int32_t to, const void* data, uint32_t len) { return SendToCore(DWORD(to), data, len); }
  int64_t recv(int32_t from, void* data, uint32_t cap) { return RecvFromCore(DWORD(from), data, cap, -1); }
};

void Rank() {
  auto* buf = static_cast<uint8_t*>(ToroGetMem(mpibench::kMaxSize));
  CoreTransport t;
  mpibench::mpi_bench(
      t, buf, [] { return read_rdtsc(); },
      [](const char* key, uint32_t size, uint64_t cycles) { WriteConsoleF("mpibench %p %d %d\n", key, size, cycles); });
}

}  // namespace

int main() {
  WriteConsoleF("mpibench tsc_mhz %d\n", LocalCpuSpeed);
  return MpiRunOnEveryCore(Rank);
}
