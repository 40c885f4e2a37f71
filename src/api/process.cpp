#include <kernel/percpu.h>
#include <sched/scheduler.h>
#include <toro/process.h>

namespace {
LongInt g_cpu_count = 1;
sched::Thread* as_thread(TThreadID id) { return sched::from_id(id); }
}  // namespace

const LongInt& CPU_COUNT = g_cpu_count;

namespace toro::detail {
// Called once by the boot sequence after the cores started.
void set_cpu_count(LongInt n) { g_cpu_count = n; }
}  // namespace toro::detail

TThreadID SysCreateThread(SizeUInt StackSize, LongInt CPU, TThreadFunc Func, Pointer Arg) {
  const uint32_t core = CPU == -1 ? kernel::current_core() : uint32_t(CPU);
  if (CPU < -1 || Func == nullptr) return 0;
  return sched::thread_id(sched::create_thread(core, StackSize, Func, Arg));
}

TThreadID BeginThread(Pointer, SizeUInt StackSize, TThreadFunc ThreadFunction, Pointer Parameter, DWORD CreationFlags,
                      TThreadID& ThreadID) {
  ThreadID =
      SysCreateThread(StackSize, CreationFlags == DWORD(-1) ? -1 : LongInt(CreationFlags), ThreadFunction, Parameter);
  return ThreadID;
}

void SysThreadSwitch() { sched::yield(); }

void Sleep(LongInt Miliseg) { sched::sleep_ms(Miliseg < 0 ? 0 : uint64_t(Miliseg)); }

DWORD SysSuspendThread(TThreadID ThreadID) {
  if (ThreadID == 0) return sched::suspend(nullptr) ? 0 : DWORD(-1);
  sched::Thread* t = as_thread(ThreadID);
  return t != nullptr && sched::suspend(t) ? 0 : DWORD(-1);
}

DWORD SysResumeThread(TThreadID ThreadID) { return sched::resume(as_thread(ThreadID)) ? 0 : DWORD(-1); }

DWORD SysKillThread(TThreadID ThreadID) { return sched::kill(as_thread(ThreadID)) ? 0 : DWORD(-1); }

void ThreadExit(Boolean) { sched::exit_current(); }

void SysEndThread(DWORD) { sched::exit_current(); }

PThread GetCurrentThread() { return reinterpret_cast<PThread>(sched::current()); }

TThreadID SysGetCurrentThreadID() { return sched::thread_id(sched::current()); }

LongInt GetCoreId() { return LongInt(kernel::current_core()); }

PCPU GetCPU() { return reinterpret_cast<PCPU>(kernel::this_cpu()); }

void SysSetCoreIdle() { sched::yield(); }

static_assert(sizeof(TCPU) == sizeof(kernel::PerCpu) && alignof(TCPU) == alignof(kernel::PerCpu),
              "CPU[] names kernel::g_percpu");
static_assert(MAX_CPU == LongInt(arch::kMaxCpus));
