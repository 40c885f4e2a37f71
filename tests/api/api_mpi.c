/* The ToroMPI names of docs/API.md compiled as C (ToroMpi.h has C linkage): each function is
 * assigned to a pointer of Toro's prototype (a mismatch is an error under -Werror), each
 * constant is checked against Toro's value. tests/api/check_inventory.py reads this file too. */
#include <ToroMpi.h>

_Static_assert(MPI_SUM == 0 && MPI_MIN == 1 && MPI_MAX == 2 && MPI_COMM_WORLD == 0, "Toro's values");
_Static_assert(MPI_SUCCESS == 0 && MPI_ERR_RANK < 0 && MPI_ERR_COUNT < 0 && MPI_ERR_OP < 0 && MPI_ERR_BUFFER < 0 &&
                   MPI_ERR_TRUNCATE < 0 && MPI_ERR_OTHER < 0 && MPI_ERR_COMM < 0,
               "errors are negative");

void (*const api_mpi_comm_size)(int, int*) = MPI_Comm_size;
void (*const api_mpi_comm_rank)(int, int*) = MPI_Comm_rank;
void (*const api_mpi_barrier)(int) = Mpi_Barrier;
int (*const api_mpi_reduce)(void*, void*, int, int, int) = Mpi_Reduce;
int (*const api_mpi_allreduce)(void*, void*, int, int, int) = Mpi_AllReduce;
void (*const api_mpi_bcast)(void*, int, int) = Mpi_Bcast;
int (*const api_mpi_gather)(void*, void*, int, int) = Mpi_Gather;
int (*const api_mpi_scatter)(void*, void*, int, int) = Mpi_Scatter;
int (*const api_mpi_send)(void*, int, int) = Mpi_Send;
int (*const api_mpi_recv)(void*, int, int) = Mpi_Recv;
uint64_t (*const api_mpi_wtime)(void) = Mpi_Wtime;
void (*const api_put_c_to_serial)(char) = PutCtoSerial;
void (*const api_print_decimal)(uintptr_t) = PrintDecimal;
void (*const api_flush_up)(void) = FlushUp;
int (*const api_printf)(const char*, ...) = printf;
int (*const api_mpi_run_on_every_core)(void (*)(void)) = MpiRunOnEveryCore;
