/* MpiAllReduce's C kernel (toro-spec §3.4), runs on every core: for vectors of 1, 2, 4 ... 64
 * ints, 100 AllReduce(SUM) of rank + j; every core checks its result and prints Toro's
 * `error! <j> <len> <rank> <value>` on a wrong element; core 0 prints Toro's line, with the
 * length in bytes. Then 5000 ints (20 KB, past Toro's 1020-byte messages) the same way. */
#include <ToroMpi.h>

#define ROUNDS 100
#define BIG 5000

/* All cores share one address space: each rank has its own rows. */
#define MAX_RANKS 64
static int send_rows[MAX_RANKS][BIG], recv_rows[MAX_RANKS][BIG];

static void run(int len, int rounds, int rank, int size) {
  int i, j, avg, min, max, sum, errors = 0, total_errors;
  int* send_buf = send_rows[rank];
  int* recv_buf = recv_rows[rank];
  uint64_t cycles = 0;
  for (i = 0; i < rounds; i++) {
    uint64_t start;
    for (j = 0; j < len; j++) send_buf[j] = rank + j + i;
    start = Mpi_Wtime();
    Mpi_AllReduce(send_buf, recv_buf, len, MPI_SUM, 0);
    cycles += Mpi_Wtime() - start;
    for (j = 0; j < len; j++) {
      int want = (size - 1) * size / 2 + size * (j + i);
      if (recv_buf[j] != want) {
        if (errors++ < 3) printf("error! %d %d %d %d\n", j, len, rank, recv_buf[j]);
      }
    }
  }
  avg = (int)(cycles / rounds);
  Mpi_Reduce(&avg, &min, 1, MPI_MIN, 0);
  Mpi_Reduce(&avg, &max, 1, MPI_MAX, 0);
  Mpi_Reduce(&avg, &sum, 1, MPI_SUM, 0);
  Mpi_Reduce(&errors, &total_errors, 1, MPI_SUM, 0);
  if (rank == 0 && total_errors == 0)
    printf("MPI_ALLREDUCE(%d): min_time: %d cycles, max_time: %d cycles, avg_time: %d cycles\n", len * 4, min, max,
           sum / size);
}

void mainC(void) {
  int rank, size, len;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (len = 1; len < 128; len *= 2) run(len, ROUNDS, rank, size);
  run(BIG, 10, rank, size);
}
