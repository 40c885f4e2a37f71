// One cooperative scheduler per core (toro-spec §2.6-2.7): threads run until they yield,
// sleep, suspend or exit; a core with nothing to run halts until an interrupt (a wake-up IPI
// or its LAPIC timer for the next sleeper) and costs the host no CPU.
//
//   sched::init(cores, timing);                           // boot core; then:
//   sched::Thread* t = sched::create_thread(1, 32768, Worker, arg);   // on core 1
//   sched::sleep_ms(10);
//   sched::run_idle_loop();                               // the boot context becomes core 0's idle
#pragma once

#include <sched/thread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sched {

constexpr size_t kDefaultStackSize = 64 * 1024;

struct Timing {
  uint64_t tsc_hz;
  uint64_t lapic_per_mcycles;  // LAPIC timer ticks per million TSC cycles
};

// Boot core, once: a scheduler for each of `cores` cores (in each core's own memory, hung on
// its kernel::PerCpu record), the mailboxes between them, and the calling context as core 0's
// idle thread. Starting the other CPUs is kernel/start_cores.cpp's job.
void init(uint32_t cores, const Timing& timing);
// On a core that has just started: the calling context becomes its idle thread and the core
// accepts threads. Then run_idle_loop().
void enter_core();
// After start-up: the number of cores that run (core numbers stay dense).
void set_core_count(uint32_t cores);
uint32_t core_count();
bool core_running(uint32_t core);
uint64_t tsc_hz();
// Time since the TSC started (boot), from the calibrated rate: the kernel's monotonic clock.
uint64_t now_ms();
uint64_t now_us();

// Creates a thread on `core` (the caller's core: immediately; another core: through the
// mailbox of that pair, and returns once that core created it). nullptr when out of memory or
// when `core` does not run. The new thread runs when its core's scheduler reaches it.
Thread* create_thread(uint32_t core, size_t stack_size, ThreadFunc func, void* arg, bool is_main = false);
Thread* current();
void yield();
void sleep_ms(uint64_t ms);
// Sleeps until `done` is true, at most `ms`, without losing a wake-up: the thread is marked
// sleeping before `done` is looked at, so whoever sets `done` (seq_cst) and then resume()s the
// thread -- an interrupt handler, another core -- either is seen by that look or ends the sleep.
// Returns `done` at the end (false: the time ran out, or another resume came first).
bool sleep_unless(const std::atomic<bool>& done, uint64_t ms);
// nullptr or current(): suspends the caller until resumed. Another thread: it stops at its next
// yield. Returns false for something that is not a live thread.
bool suspend(Thread* t);
bool resume(Thread* t);
bool kill(Thread* t);
[[noreturn]] void exit_current();
// Runs fn(ctx) on the calling core just before its current thread next gives up the CPU
// (yield, sleep_ms, sleep_unless, suspending itself, a remote create_thread's wait, or its end;
// not a fault's end), on that thread's stack with interrupts on: a "plug" that holds work until
// the thread stops running, as Linux flushes a block plug in schedule(). The network stack holds
// a blocking socket's segments this way (net/socket/stream.h). One slot per core, taken by one
// call: the same fn and ctx again are a no-op; false if it holds another (the caller then does
// its work at once). The slot is emptied before fn runs, so fn may plug again or even sleep.
bool run_before_yield(void (*fn)(void*), void* ctx);
// Runs that work now, as giving up the CPU would: where the program ends without a yield (main
// returning, ShutdownInQemu), so what it held is not lost.
void before_yield();
// True if `t` points at a live thread (kernel memory with the thread magic, not dead).
bool is_thread(const Thread* t);
// Thread ids for the API: the record's address and its generation in the top 16 bits, so that
// an id of a dead thread does not reach a new thread living in the same record.
uint64_t thread_id(const Thread* t);
Thread* from_id(uint64_t id);  // nullptr for a stale or invalid id

// For a debugger, while every core is stopped (the gdb stub): `core`'s threads, its current one
// first, then the rest of its ring and its idle thread; up to `max`; returns how many.
size_t debug_threads(uint32_t core, Thread** out, size_t max);
// The thread `core` runs (its idle thread when it has nothing to run); nullptr for no such core.
Thread* debug_current(uint32_t core);

// Interrupt-time hooks (trap.cpp).
// The wake-up IPI or the LAPIC timer (`timer`): EOI; the idle loop looks for work.
void on_wake_interrupt(bool timer);
// After a fault report in a thread other than the main thread: that thread dies, the core goes on.
[[noreturn]] void exit_after_fault();

// The calling context becomes this core's idle thread: never returns.
[[noreturn]] void run_idle_loop();

}  // namespace sched
