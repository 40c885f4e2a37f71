/* MpiBcast's C kernel (toro-spec §3.4), runs on every core: for messages of 2, 4 ... 4096 ints,
 * 100 Bcasts from core 0, which prints Toro's line. Toro's went to 512 and hung from 256 on
 * (messages over 1020 bytes were dropped); ours go to 4096, and every core checks what it got
 * (a pattern that changes each round) and says so when it is wrong. */
#include <ToroMpi.h>

#define ROUNDS 100
#define MAX_INTS 4096

/* All cores share one address space: each rank has its own row. */
#define MAX_RANKS 64
static int rows[MAX_RANKS][MAX_INTS];

void mainC(void) {
  int rank, size, msgsize, i, j, avg, min, max, sum, errors, total_errors;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int* data = rows[rank];
  for (msgsize = 2; msgsize <= MAX_INTS; msgsize *= 2) {
    uint64_t cycles = 0;
    errors = 0;
    for (i = 0; i < ROUNDS; i++) {
      uint64_t start;
      for (j = 0; j < msgsize; j++) data[j] = rank == 0 ? msgsize * 7 + i * 131 + j : -1;
      start = Mpi_Wtime();
      Mpi_Bcast(data, msgsize, 0);
      cycles += Mpi_Wtime() - start;
      for (j = 0; j < msgsize; j++) {
        if (data[j] != msgsize * 7 + i * 131 + j) errors++;
      }
    }
    avg = (int)(cycles / ROUNDS);
    Mpi_Reduce(&avg, &min, 1, MPI_MIN, 0);
    Mpi_Reduce(&avg, &max, 1, MPI_MAX, 0);
    Mpi_Reduce(&avg, &sum, 1, MPI_SUM, 0);
    Mpi_Reduce(&errors, &total_errors, 1, MPI_SUM, 0);
    if (rank == 0) {
      if (total_errors != 0)
        printf("MPI_BCAST(%d): verification has failed (%d ints wrong)\n", msgsize, total_errors);
      else
        printf("MPI_BCAST(%d): min_time: %d cycles, max_time: %d cycles, avg_time: %d cycles\n", msgsize, min, max,
               sum / size);
    }
  }
}
