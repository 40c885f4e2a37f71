// ToroMPI (ToroMpi.h): the C interface over sched/collectives.h, one rank per core, the
// messages carried by VirtIOBus (virtiobus.cpp), whose receive sleeps until a message comes.
#include <ToroMpi.h>
#include <kernel/console.h>
#include <sched/collectives.h>
#include <toro/kernel.h>
#include <toro/process.h>
#include <toro/virtiobus.h>

#include <atomic>

namespace {

namespace mpi = sched::mpi;

// The calling core's view of VirtIOBus for sched::mpi.
struct CoreTransport {
  int32_t rank() const { return GetCoreId(); }
  int32_t size() const { return CPU_COUNT; }
  int32_t send(int32_t to, const void* data, uint32_t len) { return SendToCore(DWORD(to), data, len); }
  int64_t recv(int32_t from, void* data, uint32_t cap) { return RecvFromCore(DWORD(from), data, cap, -1); }
};

// sched::mpi's errors are ToroMpi.h's MPI_ERR_* (same numbers).
static_assert(mpi::kBadRank == MPI_ERR_RANK && mpi::kBadCount == MPI_ERR_COUNT && mpi::kBadOp == MPI_ERR_OP &&
              mpi::kBadBuffer == MPI_ERR_BUFFER && mpi::kMismatch == MPI_ERR_TRUNCATE &&
              mpi::kTransport == MPI_ERR_OTHER);

// One MpiRunOnEveryCore: the function, and how many cores have finished it.
struct Run {
  void (*main_c)();
  std::atomic<LongInt> finished{0};
};

PtrInt run_main_c(void* arg) {
  auto* run = static_cast<Run*>(arg);
  run->main_c();
  run->finished.fetch_add(1, std::memory_order_release);  // after mainC's work; see the wait
  return 0;
}

int32_t checked(const char* call, int32_t result) {
  if (result < 0) kernel::printk("%p: core %d: error %d\n", call, GetCoreId(), result);
  return result;
}

}  // namespace

extern "C" {

void MPI_Comm_size(int comm, int* size) {
  if (size != nullptr) *size = comm == MPI_COMM_WORLD ? CPU_COUNT : 0;
}

void MPI_Comm_rank(int comm, int* rank) {
  if (rank != nullptr) *rank = comm == MPI_COMM_WORLD ? GetCoreId() : -1;
}

void Mpi_Barrier(int comm) {
  if (comm != MPI_COMM_WORLD) {
    checked("Mpi_Barrier", MPI_ERR_COMM);
    return;
  }
  CoreTransport t;
  checked("Mpi_Barrier", mpi::barrier(t));
}

int Mpi_Reduce(void* send, void* recv, int count, int op, int root) {
  CoreTransport t;
  return mpi::reduce(t, static_cast<const int32_t*>(send), static_cast<int32_t*>(recv), count, op, root);
}

int Mpi_AllReduce(void* send, void* recv, int count, int op, int root) {
  CoreTransport t;
  return mpi::allreduce(t, static_cast<const int32_t*>(send), static_cast<int32_t*>(recv), count, op, root);
}

void Mpi_Bcast(void* data, int count, int root) {
  CoreTransport t;
  checked("Mpi_Bcast", mpi::bcast(t, static_cast<int32_t*>(data), count, root));
}

int Mpi_Gather(void* send, void* recv, int count, int root) {
  CoreTransport t;
  return mpi::gather(t, static_cast<const int32_t*>(send), static_cast<int32_t*>(recv), count, root);
}

int Mpi_Scatter(void* send, void* recv, int count, int root) {
  CoreTransport t;
  return mpi::scatter(t, static_cast<const int32_t*>(send), static_cast<int32_t*>(recv), count, root);
}

int Mpi_Send(void* data, int count, int dest) {
  CoreTransport t;
  return mpi::send(t, static_cast<const int32_t*>(data), count, dest);
}

int Mpi_Recv(void* data, int count, int source) {
  CoreTransport t;
  return mpi::recv(t, static_cast<int32_t*>(data), count, source);
}

uint64_t Mpi_Wtime(void) { return read_rdtsc(); }

int MpiRunOnEveryCore(void (*mainC)(void)) {
  if (mainC == nullptr) return MPI_ERR_BUFFER;
  Run run{mainC};
  LongInt started = 0;
  for (LongInt core = 0; core < CPU_COUNT; ++core, ++started) {
    if (SysCreateThread(0, core, run_main_c, &run) == 0) {
      kernel::printk("MpiRunOnEveryCore: no thread on core %d\n", core);
      break;
    }
  }
  // acquire: pairs with each thread's release, so what every mainC wrote is seen after this.
  // (The caller's own core runs one of them: sleeping lets it.)
  while (run.finished.load(std::memory_order_acquire) < started) Sleep(10);
  return started == CPU_COUNT ? MPI_SUCCESS : MPI_ERR_OTHER;
}

}  // extern "C"
