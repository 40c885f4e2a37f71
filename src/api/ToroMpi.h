/* ToroMPI (toro-spec §1.13): Toro HEAD's small MPI, one rank per core, with C linkage so C
 * programs call it as Toro's examples do. A `.c` file in an app folder is compiled as C
 * (freestanding: no libc; printf below is the kernel's).
 *
 *   #include <ToroMpi.h>
 *   void mainC(void) {
 *     int rank, size, mine, sum;
 *     MPI_Comm_rank(MPI_COMM_WORLD, &rank);
 *     MPI_Comm_size(MPI_COMM_WORLD, &size);
 *     mine = rank;
 *     Mpi_Reduce(&mine, &sum, 1, MPI_SUM, 0);
 *     if (rank == 0) printf("sum: %d\n", sum);
 *   }
 *
 * Every rank (the program's thread on each core, one per core) calls the same operations in the
 * same order. Messages travel over VirtIOBus (toro/virtiobus.h) in the order they were sent per
 * pair of cores; MPI's tags and communicators other than MPI_COMM_WORLD do not exist. Vectors
 * are 32-bit ints of any length (Toro's limit of 1020 bytes a message is gone); a waiting rank
 * sleeps, its core halted, instead of spinning. Results: MPI_SUCCESS, or an MPI_ERR_* below
 * (Toro's returned nothing useful); the calls that return nothing in Toro print the error. */
#ifndef TORO_MPI_H
#define TORO_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MPI_COMM_WORLD 0
#define MPI_SUM 0
#define MPI_MIN 1
#define MPI_MAX 2

#define MPI_SUCCESS 0
#define MPI_ERR_RANK (-1)     /* a root, source or destination that is not a core (or, for  */
                              /* Mpi_Send/Mpi_Recv, the caller itself) */
#define MPI_ERR_COUNT (-2)    /* a negative count; Mpi_Send over 262144 ints (1 MiB) */
#define MPI_ERR_OP (-3)       /* not MPI_SUM, MPI_MIN or MPI_MAX */
#define MPI_ERR_BUFFER (-4)   /* a null buffer where data is needed */
#define MPI_ERR_TRUNCATE (-5) /* a message longer than the receive (it stays queued), or the */
                              /* ranks disagree on a count */
#define MPI_ERR_COMM (-7)     /* a communicator other than MPI_COMM_WORLD */
#define MPI_ERR_OTHER (-6)    /* the messaging failed (out of memory setting it up) */

/* The number of ranks (Toro's CPU_COUNT) and the caller's (its core). */
void MPI_Comm_size(int comm, int* size);
void MPI_Comm_rank(int comm, int* rank);

/* Returns once every rank has called it (dissemination barrier over messages; Toro's spun on a
 * shared counter). Correct back to back any number of times. */
void Mpi_Barrier(int comm);

/* Element-wise op (MPI_SUM wraps around, MIN, MAX) of every rank's `count` ints at `send` into
 * `recv` on `root` (recv may be send; ignored on the others). */
int Mpi_Reduce(void* send, void* recv, int count, int op, int root);
/* The same, the result in every rank's `recv` (Reduce, then Bcast from root). */
int Mpi_AllReduce(void* send, void* recv, int count, int op, int root);
/* root's `count` ints at `data` into every rank's `data`. */
void Mpi_Bcast(void* data, int count, int root);
/* Ours (Pascal-only in Toro): rank r's `count` ints into recv + r*count on root, and back. */
int Mpi_Gather(void* send, void* recv, int count, int root);
int Mpi_Scatter(void* send, void* recv, int count, int root);
/* One message of `count` ints to `dest` (waits while the channel is full); the receive takes
 * the next message from `source`, of at most `count` ints, and returns how many it held. */
int Mpi_Send(void* data, int count, int dest);
int Mpi_Recv(void* data, int count, int source);
/* The time stamp counter (raw cycles, as Toro's). */
uint64_t Mpi_Wtime(void);

/* Ours: Toro's MPI programs create mainC as a thread on every core and loop forever; this does
 * the same and returns once every core's mainC has returned: 0, or MPI_ERR_OTHER when a thread
 * could not be created (a console line says which core). `int main() { return
 * MpiRunOnEveryCore(mainC); }` in C or C++. */
int MpiRunOnEveryCore(void (*mainC)(void));

/* Toro HEAD's console calls for C (toro/console.h), and a printf of %c %d %i %u %x %s %p %%
 * with l/ll sizes and widths, printed as one piece (lines from several cores do not mix). */
void PutCtoSerial(char c);
void PrintDecimal(uintptr_t value);
void FlushUp(void);
int printf(const char* format, ...);

#ifdef __cplusplus
}
#endif

#endif
