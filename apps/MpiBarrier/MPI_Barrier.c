/* MpiBarrier's C kernel (toro-spec §3.4), runs on every core: 100 timed barriers, each core's
 * average reduced to MIN/MAX/SUM on core 0, which prints Toro's line. Then what Toro did not
 * check: 2000 barriers back to back, where no core may leave barrier k before every core has
 * arrived at it (a shared counter, read after each barrier). */
#include <ToroMpi.h>

#define ROUNDS 100
#define BACK_TO_BACK 2000

static int arrived; /* shared by the cores, only through __atomic builtins */

void mainC(void) {
  int rank, size, i, avg, min, max, sum, early = 0, total_early;
  uint64_t cycles = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (i = 0; i < ROUNDS; i++) {
    uint64_t start = Mpi_Wtime();
    Mpi_Barrier(MPI_COMM_WORLD);
    cycles += Mpi_Wtime() - start;
  }
  /* Toro HEAD's console calls for C, a character at a time: after the barriers, so that no
   * other core's line (VirtIOBus's, set up at the first call) lands inside this one. */
  if (rank == 0) {
    const char* s = "MPI_BARRIER: ranks: ";
    while (*s != 0) PutCtoSerial(*s++);
    PrintDecimal((uintptr_t)size);
    FlushUp();
  }
  avg = (int)(cycles / ROUNDS);
  Mpi_Reduce(&avg, &min, 1, MPI_MIN, 0);
  Mpi_Reduce(&avg, &max, 1, MPI_MAX, 0);
  Mpi_Reduce(&avg, &sum, 1, MPI_SUM, 0);
  if (rank == 0)
    printf("MPI_BARRIER: min_time: %d cycles, max_time: %d cycles, avg_time: %d cycles\n", min, max, sum / size);

  for (i = 0; i < BACK_TO_BACK; i++) {
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    Mpi_Barrier(MPI_COMM_WORLD);
    if (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < (i + 1) * size) early++;
  }
  Mpi_Reduce(&early, &total_early, 1, MPI_SUM, 0);
  if (rank == 0) {
    printf("MPI_BARRIER: %d barriers back to back on %d cores: %s\n", BACK_TO_BACK, size,
           total_early == 0 && arrived == BACK_TO_BACK * size ? "PASSED" : "FAILED");
  }
}
