/* MpiReduce's C kernel (toro-spec §3.4), runs on every core: for vectors of 1, 2, 4 ... 64 ints
 * filled with the rank, 100 Reduce(SUM) to core 0, which checks every element is
 * (N-1)*N/2 and prints Toro's line with the cores' average time. Then what Toro could not do:
 * 10000 ints (40 KB; Toro's messages stopped at 1020 bytes), MIN and MAX, and every core as root. */
#include <ToroMpi.h>

#define ROUNDS 100
#define BIG 10000

/* All cores share one address space: each rank has its own rows. */
#define MAX_RANKS 64
static int send_rows[MAX_RANKS][BIG], recv_rows[MAX_RANKS][BIG];

static void report(const char* what, int len, uint64_t cycles, int ok, int rank, int size) {
  int avg = (int)(cycles / ROUNDS), min, max, sum, bad = !ok, total_bad;
  Mpi_Reduce(&avg, &min, 1, MPI_MIN, 0);
  Mpi_Reduce(&avg, &max, 1, MPI_MAX, 0);
  Mpi_Reduce(&avg, &sum, 1, MPI_SUM, 0);
  Mpi_Reduce(&bad, &total_bad, 1, MPI_SUM, 0);
  if (rank != 0) return;
  if (total_bad != 0)
    printf("%s(%d): verification has failed\n", what, len);
  else
    printf("%s(%d): min_time: %d cycles, max_time: %d cycles, avg_time: %d cycles\n", what, len, min, max, sum / size);
}

void mainC(void) {
  int rank, size, len, i, j, root, ok;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int* send_buf = send_rows[rank];
  int* recv_buf = recv_rows[rank];
  for (len = 1; len <= 64; len *= 2) {
    uint64_t cycles = 0;
    ok = 1;
    for (i = 0; i < ROUNDS; i++) {
      uint64_t start;
      for (j = 0; j < len; j++) send_buf[j] = rank;
      start = Mpi_Wtime();
      if (Mpi_Reduce(send_buf, recv_buf, len, MPI_SUM, 0) != MPI_SUCCESS) ok = 0;
      cycles += Mpi_Wtime() - start;
      if (rank == 0) {
        for (j = 0; j < len; j++) {
          if (recv_buf[j] != (size - 1) * size / 2) ok = 0;
        }
      }
    }
    report("MPI_REDUCE", len, cycles, ok, rank, size);
  }

  /* 10000 ints to every root in turn, SUM, MIN and MAX of rank*BIG + j. */
  for (root = 0; root < size; root++) {
    static const int ops[3] = {MPI_SUM, MPI_MIN, MPI_MAX};
    int k;
    ok = 1;
    for (k = 0; k < 3; k++) {
      for (j = 0; j < BIG; j++) send_buf[j] = rank * BIG + j;
      if (Mpi_Reduce(send_buf, recv_buf, BIG, ops[k], root) != MPI_SUCCESS) ok = 0;
      if (rank == root) {
        for (j = 0; j < BIG; j++) {
          int want = ops[k] == MPI_SUM   ? (size - 1) * size / 2 * BIG + size * j
                     : ops[k] == MPI_MIN ? j
                                         : (size - 1) * BIG + j;
          if (recv_buf[j] != want) ok = 0;
        }
      }
    }
    {
      int bad = !ok, total_bad;
      Mpi_Reduce(&bad, &total_bad, 1, MPI_SUM, 0);
      if (rank == 0)
        printf("MPI_REDUCE(%d): SUM, MIN and MAX to core %d: %s\n", BIG, root, total_bad == 0 ? "PASSED" : "FAILED");
    }
  }
  {
    int bad = 0, err;
    /* Bad arguments: defined errors, nothing sent. */
    if (Mpi_Reduce(send_buf, recv_buf, 1, 7, 0) != MPI_ERR_OP) bad = 1;
    if (Mpi_Reduce(send_buf, recv_buf, 1, MPI_SUM, size) != MPI_ERR_RANK) bad = 1;
    if (Mpi_Reduce(send_buf, recv_buf, -1, MPI_SUM, 0) != MPI_ERR_COUNT) bad = 1;
    if (Mpi_Reduce(0, recv_buf, 1, MPI_SUM, 0) != MPI_ERR_BUFFER) bad = 1;
    Mpi_Reduce(&bad, &err, 1, MPI_SUM, 0);
    if (rank == 0) printf("MPI_REDUCE: bad arguments: %s\n", err == 0 ? "PASSED" : "FAILED");
  }
  {
    /* Ours (Pascal-only or absent in Toro): Gather and Scatter through core 0, and a ring of
     * Mpi_Send/Mpi_Recv (core 0 starts it, so no two cores wait on each other). */
    int mine[3], back[3] = {-1, -1, -1}, got[4] = {-1, -1, -1, -1}, bad = 0, total, k, prev = (rank + size - 1) % size;
    int* all = recv_rows[rank];
    for (k = 0; k < 3; k++) mine[k] = rank * (k + 1);
    if (Mpi_Gather(mine, all, 3, 0) != MPI_SUCCESS) bad = 1;
    if (rank == 0) {
      for (k = 0; k < size * 3; k++) {
        if (all[k] != (k / 3) * (k % 3 + 1)) bad = 1;
      }
    }
    if (Mpi_Scatter(all, back, 3, 0) != MPI_SUCCESS || back[0] != mine[0] || back[2] != mine[2]) bad = 1;
    if (rank == 0 && Mpi_Send(mine, 3, 1) != MPI_SUCCESS) bad = 1;
    if (Mpi_Recv(got, 4, prev) != 3 || got[1] != prev * 2 || got[3] != -1) bad = 1;
    if (rank != 0 && Mpi_Send(mine, 3, (rank + 1) % size) != MPI_SUCCESS) bad = 1;
    if (Mpi_Send(mine, 3, rank) != MPI_ERR_RANK || Mpi_Recv(got, 3, size) != MPI_ERR_RANK) bad = 1;
    Mpi_Reduce(&bad, &total, 1, MPI_SUM, 0);
    if (rank == 0) printf("MPI_GATHER, MPI_SCATTER, MPI_SEND/MPI_RECV: %s\n", total == 0 ? "PASSED" : "FAILED");
  }
}
