/* bench/mpi's Open MPI baseline: bench_body.h's measurements with Open MPI's own calls over its
 * shared-memory transport (run by run.py: mpirun --oversubscribe -np N --mca btl self,vader).
 * Rank 0 prints the lines bench/vm/MpiBench prints. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define MAX_SIZE 65536
#define STREAM 20000

static unsigned char buf[MAX_SIZE];
static int rank, size;

static void out(const char* key, unsigned bytes, uint64_t cycles) {
  if (rank == 0) {
    printf("mpibench %s %u %llu\n", key, bytes, (unsigned long long)cycles);
    fflush(stdout);
  }
}

static double tsc_mhz(void) {
  struct timespec a, b, pause = {0, 200000000};
  uint64_t c0, c1;
  clock_gettime(CLOCK_MONOTONIC, &a);
  c0 = __rdtsc();
  nanosleep(&pause, NULL);
  c1 = __rdtsc();
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (double)(c1 - c0) / ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3);
}

#define TIME(key, bytes, rounds, op)                 \
  do {                                               \
    uint64_t start;                                  \
    int i_;                                          \
    MPI_Barrier(MPI_COMM_WORLD);                     \
    start = __rdtsc();                               \
    for (i_ = 0; i_ < (rounds); i_++) {              \
      op;                                            \
    }                                                \
    MPI_Barrier(MPI_COMM_WORLD);                     \
    out(key, bytes, (__rdtsc() - start) / (rounds)); \
  } while (0)

int main(int argc, char** argv) {
  static const unsigned sizes[] = {16, 64, 256, 1024, 4096, 16384, 65536};
  int32_t* ints = (int32_t*)buf;
  int32_t result[16384];
  unsigned k;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0) printf("mpibench tsc_mhz %.0f\n", tsc_mhz());
  memset(buf, 7, sizeof buf);
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    unsigned s = sizes[k];
    int rounds = s <= 1024 ? 1000 : s <= 16384 ? 200 : 50, i;
    uint64_t start;
    MPI_Barrier(MPI_COMM_WORLD);
    start = __rdtsc();
    for (i = 0; i < rounds && rank < 2; i++) {
      if (rank == 0) {
        MPI_Send(buf, (int)s, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buf, MAX_SIZE, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(buf, MAX_SIZE, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, (int)s, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
      }
    }
    out("rtt", s, (__rdtsc() - start) / rounds);
  }
  {
    uint64_t start;
    int i;
    MPI_Barrier(MPI_COMM_WORLD);
    start = __rdtsc();
    if (rank == 0) {
      for (i = 0; i < STREAM; i++) MPI_Send(buf, 64, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
      MPI_Recv(buf, MAX_SIZE, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      out("stream", 64, (__rdtsc() - start) / STREAM);
    } else if (rank == 1) {
      for (i = 0; i < STREAM; i++) MPI_Recv(buf, MAX_SIZE, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buf, 1, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
    }
  }
  TIME("barrier", 0, 500, MPI_Barrier(MPI_COMM_WORLD));
  TIME("reduce", 4, 500, MPI_Reduce(ints, result, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD));
  TIME("allreduce", 4, 500, MPI_Allreduce(ints, result, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  TIME("allreduce", 1024, 200, MPI_Allreduce(ints, result, 256, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  TIME("bcast", 1024, 200, MPI_Bcast(ints, 256, MPI_INT, 0, MPI_COMM_WORLD));
  TIME("bcast", 65536, 20, MPI_Bcast(ints, 16384, MPI_INT, 0, MPI_COMM_WORLD));
  MPI_Finalize();
  return 0;
}
