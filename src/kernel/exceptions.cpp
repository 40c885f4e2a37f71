// C++ exceptions for programs built with them (libtoro_eh.a, linked only into such programs;
// see tools/meson/program.meson): the glue libsupc++ and libgcc_eh need from a libc, the
// terminate handler, and faults thrown as the classes of <toro/exceptions.h>.
//
// Cross-core safety of the unwinder (every thread on every core may throw at once). libgcc_eh
// and libsupc++ find no pthread here, so their gthread locks are no-ops; what they share is:
//  - the FDE lookup: no object is ever registered (__register_frame_info is not called), so
//    _Unwind_Find_FDE goes straight to _dl_find_object below, which returns the image's
//    .eh_frame_hdr: immutable data, read without a lock;
//  - libgcc_eh's dwarf_reg_size_table, filled on the first unwind (a once-flag without
//    threads: two cores could race on it); warm_up() below throws once in the main thread
//    before main() runs, when no other thread exists yet, so it is filled before any race;
//  - libsupc++'s __cxa_eh_globals (caught and uncaught exceptions): a thread_local, so each
//    Toro thread has its own (sched builds every thread's TLS block);
//  - exception objects: malloc/free on the per-core heap; a thread never changes core, so an
//    object is freed where it was allocated. Reference counts use atomics because
//    __libc_single_threaded is 0;
//  - libsupc++'s emergency pool (used only when malloc fails) has a gthread mutex, a no-op
//    here: two cores out of memory throwing at once could race on it (docs/PORTING.md).
//  - the fault slots g_slot: one per core, written by the trap handler and read back by the
//    trampoline on the same core before the thread can yield (nothing else runs in between
//    but interrupt handlers, which never write a slot: they run with interrupts off).
//  - the emergency stacks g_emergency_stack (stack overflows): one per core, allocated by the
//    core's trap handler at its first overflow and used from the trap's return until the
//    unwinder lands in a handler on the thread's own stack. Nothing in between yields
//    (trampoline, __cxa_allocate_exception, the unwinder; a cooperative scheduler switches only
//    at a yield), so one thread of the core at a time is on it; interrupts nest on it as on
//    any stack.
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/cpus.h>
#include <arch/x86_64/trap.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <pthread.h>
#include <sched/scheduler.h>
#include <sched/thread.h>
#include <toro/exceptions.h>

#include <atomic>
#include <cstddef>
#include <exception>

static_assert(sizeof(TExceptionRegisters) == sizeof(arch::FaultFrame) &&
                  offsetof(TExceptionRegisters, rip) == offsetof(arch::FaultFrame, regs.rip) &&
                  offsetof(TExceptionRegisters, cr2) == offsetof(arch::FaultFrame, cr2) &&
                  offsetof(TExceptionRegisters, Reported) == offsetof(arch::FaultFrame, reported),
              "the public register frame is the kernel's FaultFrame");

extern "C" {

extern const char __image_start[], __image_end[], __eh_frame_hdr_start[];  // linker-eh.ld

// glibc's layout (dlfcn.h, x86-64: no dlfo_eh_dbase).
struct dl_find_object {
  unsigned long long dlfo_flags;
  void* dlfo_map_start;
  void* dlfo_map_end;
  void* dlfo_link_map;
  void* dlfo_eh_frame;
  unsigned long long reserved[7];
};

// libgcc_eh's way to find the unwind tables of `pc`: the one image, one .eh_frame_hdr.
int _dl_find_object(void* pc, dl_find_object* result) {
  const char* p = static_cast<const char*>(pc);
  if (p < __image_start || p >= __image_end) return -1;
  *result = dl_find_object{};
  result->dlfo_map_start = const_cast<char*>(__image_start);
  result->dlfo_map_end = const_cast<char*>(__image_end);
  result->dlfo_eh_frame = const_cast<char*>(__eh_frame_hdr_start);
  return 0;
}

char __libc_single_threaded = 0;  // libsupc++: use atomic reference counts

// libsupc++'s emergency pool names these; gthreads are inactive (no __pthread_key_create), so
// neither library calls them. Should one, they are real spin locks on the mutex's first word
// (PTHREAD_MUTEX_INITIALIZER is all zero): acquire on taking, release on giving back.
int pthread_mutex_lock(pthread_mutex_t* mutex) noexcept {
  auto* word = reinterpret_cast<int*>(mutex);
  while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE) != 0) __builtin_ia32_pause();
  return 0;
}
int pthread_mutex_unlock(pthread_mutex_t* mutex) noexcept {
  __atomic_store_n(reinterpret_cast<int*>(mutex), 0, __ATOMIC_RELEASE);
  return 0;
}

struct dwarf_eh_bases {
  void* tbase;
  void* dbase;
  void* func;
};
const void* _Unwind_Find_FDE(void* pc, dwarf_eh_bases* bases);  // libgcc_eh
void toro_fault_trampoline();                                   // fault_trampoline.S

arch::FaultFrame g_fault_slot[arch::kMaxCpus];
void* g_emergency_stack[arch::kMaxCpus];  // lowest usable byte; kEmergencyStack bytes above

}  // extern "C"

namespace {

// The stack a throw needs below the faulting rsp: the unwinder's contexts and the frames of
// __cxa_throw and the personality routine (about 3 KiB; more than twice that).
constexpr uint64_t kThrowStackRoom = 8192;
// A stack overflow is thrown from the core's emergency stack (allocate_stack: a guard page
// below it too): four times kThrowStackRoom.
constexpr uint64_t kEmergencyStack = 32 * 1024;
constexpr uint64_t kGuardPage = 4096;
// Toro prints the report of every fault it raises; past this many per boot, Toro C++ throws
// without the report (an uncaught one still gets it), so a program that faults in a loop is not
// bound by the serial port.
constexpr uint32_t kFaultReportsShown = 8;
std::atomic<uint32_t> g_faults_reported{0};  // relaxed: only a count

bool throwable_vector(uint64_t vector) {
  switch (vector) {
    case 0:
    case 4:
    case 5:
    case 6:
    case 7:
    case 13:
    case 14:
    case 16:
    case 17:
    case 19:
      return true;
    default:
      return false;  // NMI, #DF, #SS (the stack itself), #MC, ...: not the code's doing
  }
}

}  // namespace

extern "C" {

// trap.cpp's hook, in the trap handler (interrupts off). Thrown: a fault the thread itself
// caused with interrupts on (not in a kernel critical section), on its own stack with room for
// the unwinder, at an instruction with unwind information (only code built with exceptions has
// it: never the kernel's). A page fault in the thread's own guard page (a stack overflow) has
// no room left: it is thrown from the core's emergency stack, unless the thread is already
// unwinding (an overflow in a destructor the unwinding runs: reported, the thread ends).
bool toro_fault_to_throw(arch::TrapFrame* frame) {
  const sched::Thread* t = sched::current();
  if (!throwable_vector(frame->vector) || t == nullptr || t->is_idle || t->stack == nullptr ||
      (frame->rflags & (1u << 9)) == 0) {
    return false;
  }
  const uint64_t bottom = reinterpret_cast<uint64_t>(t->stack);
  const uint64_t cr2 = arch::read_cr2();
  uint64_t owner = 0;
  const bool overflow = frame->vector == 14 && kernel::guard_page_owner(cr2, &owner);
  if (overflow && ((cr2 & ~(kGuardPage - 1)) != bottom - kGuardPage || std::uncaught_exceptions() != 0)) return false;
  const uint64_t lowest = overflow ? bottom - kGuardPage : bottom + kThrowStackRoom;
  if (frame->rsp > bottom + t->stack_size || frame->rsp < lowest) return false;
  dwarf_eh_bases bases;
  const uint32_t core = kernel::current_core();
  if (core >= arch::kMaxCpus || _Unwind_Find_FDE(reinterpret_cast<void*>(frame->rip), &bases) == nullptr) {
    return false;
  }
  if (overflow && g_emergency_stack[core] == nullptr) {
    // The faulting code is the program's (it has unwind information), so this core is not
    // inside its heap or the guard-page table: allocating here is safe.
    g_emergency_stack[core] = kernel::allocate_stack(kEmergencyStack, 0);  // owner 0: no thread
    if (g_emergency_stack[core] == nullptr) return false;
  }
  const bool report = g_faults_reported.load(std::memory_order_relaxed) < kFaultReportsShown;
  if (report) {
    if (g_faults_reported.fetch_add(1, std::memory_order_relaxed) + 1 == kFaultReportsShown) {
      kernel::printk("Toro: %d faults thrown as exceptions; the next ones without a report\n", kFaultReportsShown);
    }
    kernel::print_fault_report(*frame);
  }
  arch::FaultFrame& slot = g_fault_slot[core];
  slot.regs = *frame;
  slot.cr2 = cr2;
  slot.core = core;
  slot.reported = report ? 1 : 0;
  frame->rip = reinterpret_cast<uint64_t>(&toro_fault_trampoline);
  // rsp stays (see the trampoline), or, for an overflow, becomes the top of the emergency stack:
  // the trampoline's CFI takes the faulting rsp from the copied frame, so the unwinder still
  // walks the thread's own stack, and the handler it lands in runs there.
  if (overflow) frame->rsp = reinterpret_cast<uint64_t>(g_emergency_stack[core]) + kEmergencyStack;
  return true;
}

// Called by the trampoline, on the faulting thread's stack, same core.
void toro_take_fault_frame(arch::FaultFrame* out) { *out = g_fault_slot[kernel::current_core()]; }

[[noreturn]] void toro_raise_fault(const arch::FaultFrame* fault) {
  const TExceptionRegisters& r = *reinterpret_cast<const TExceptionRegisters*>(fault);
  switch (r.Vector) {  // Toro's messages (toro-spec §2.13)
    case 0:
      throw EDivByZero("Division by Zero", r);
    case 4:
      throw EIntOverflow("OverFlow", r);
    case 5:
      throw ERangeError("Bound", r);
    case 6:
      throw EIllegalInstruction("Illegal Instruction", r);
    case 7:
      throw EInvalidOp("Device not available", r);
    case 13:
      throw EAccessViolation("General Protection", r);
    case 14: {
      uint64_t owner = 0;
      if (kernel::guard_page_owner(r.cr2, &owner)) throw EStackOverflow("Stack Overflow", r);
      throw EAccessViolation("Page Fault", r);
    }
    case 16:
      throw EInvalidOp("FPU", r);
    case 17:
      throw EAccessViolation("Alignment Check", r);
    default:
      throw EInvalidOp("SIMD", r);  // 19: trap.cpp throws no other vector
  }
}

}  // extern "C"

namespace {

[[noreturn]] void toro_terminate() {
  try {
    throw;  // the exception nobody caught (std::terminate runs with it as the current one)
  } catch (const EExternal& e) {
    const auto* fault = reinterpret_cast<const arch::FaultFrame*>(&e.Frame);
    kernel::end_uncaught_exception(e.Message, fault->reported ? nullptr : &fault->regs);
  } catch (const Exception& e) {
    kernel::end_uncaught_exception(e.Message, nullptr);
  } catch (...) {
    kernel::end_uncaught_exception("not a Toro Exception", nullptr);
  }
}

// Fills libgcc_eh's once-initialised tables before any second thread exists (see the top).
struct WarmUp {
  WarmUp() {
    try {
      throw 0;
    } catch (int) {
    }
  }
} warm_up;

}  // namespace

// libsupc++'s default handler (eh_term_handler.o: the verbose one, which needs stdio): ours is
// defined here, so that object is never linked.
namespace __cxxabiv1 {
std::terminate_handler __terminate_handler = toro_terminate;
}
