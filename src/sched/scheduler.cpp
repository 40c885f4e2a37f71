#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/trap.h>
#include <arch/x86_64/tsc.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <sched/mailbox.h>
#include <sched/run_queue.h>
#include <sched/scheduler.h>

#include <cstring>
#include <new>

extern "C" void arch_switch(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" const char __tdata_start[], __tdata_end[], __tbss_end[], __tls_align[];
extern "C" void thread_trampoline();

namespace sched {

// One core's scheduler, in that core's memory; kernel::PerCpu::sched points at it.
struct alignas(64) CoreSched {
  RunQueue queue;
  Thread* current = nullptr;
  Thread* idle = nullptr;
  Thread* zombies = nullptr;  // dead threads whose memory the core frees from another stack
  Thread* spare = nullptr;    // records of dead threads, reused (type-stable: ids stay checkable)
  std::atomic<bool> running{false};
  std::atomic<bool> halted{false};  // in (or about to enter) hlt: wake it with an IPI
  // The TSC deadline the LAPIC timer is armed for (0: not armed, or fired). Only this core
  // touches it: the idle loop (interrupts off) and the timer interrupt, which clears it.
  uint64_t timer_deadline = 0;
  // run_before_yield's slot: only this core's threads touch it (cooperative: no lock).
  void (*before_yield)(void*) = nullptr;
  void* before_yield_ctx = nullptr;
  alignas(64) std::atomic<bool> mail{false};  // written by other cores
};

namespace {

// "Create a thread on your core": lives on the requester's stack until `done`.
struct CreateRequest {
  ThreadFunc func;
  void* arg;
  size_t stack_size;
  Thread* parent;
  std::atomic<Thread*> result{nullptr};
  std::atomic<bool> done{false};
};
using Box = Mailbox<CreateRequest*, 32>;

uint32_t g_core_count = 1;
Box* g_boxes = nullptr;  // g_boxes[from * g_core_count + to]
Timing g_timing;

CoreSched& me() { return *kernel::this_cpu()->sched; }
CoreSched& of(uint32_t core) { return *kernel::percpu(core).sched; }

Box& box(uint32_t from, uint32_t to) { return g_boxes[from * g_core_count + to]; }

// Wakes `core` if it halted. The caller made the work visible first (a seq_cst store or a
// release push followed by the seq_cst fence below); the idle core sets `halted` (seq_cst) and
// then looks for work: one of the two sees the other (store-load ordering needs the fences).
void wake(uint32_t core) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (core != kernel::current_core() && of(core).halted.load(std::memory_order_seq_cst)) {
    arch::lapic_send_ipi(kernel::percpu(core).apic_id, arch::kVectorWake);
  }
}

// Initial stack of a new thread: what arch_switch pops (r15, r14, r13, r12 = the thread, rbx,
// rbp) and then "returns" to thread_trampoline.
void prepare_stack(Thread* t) {
  auto* top = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(t->stack) + t->stack_size) & ~uintptr_t(15));
  *--top = reinterpret_cast<uint64_t>(&thread_trampoline);
  *--top = 0;                              // rbp
  *--top = 0;                              // rbx
  *--top = reinterpret_cast<uint64_t>(t);  // r12
  *--top = 0;                              // r13
  *--top = 0;                              // r14
  *--top = 0;                              // r15
  t->saved_rsp = reinterpret_cast<uint64_t>(top);
}

// A thread's TLS block (ELF TLS variant II, x86-64 psABI §3.4.6): the TLS image at the block's
// start, the thread pointer (FS base) right after it, pointing at itself (the TCB's first word).
// Local-exec accesses are %fs:(offset - aligned size), which lands in the block.
bool make_tls(Thread* t) {
  const size_t memsz = size_t(__tbss_end - __tdata_start);
  if (memsz == 0) return true;
  const size_t tdata = size_t(__tdata_end - __tdata_start);
  // The linker rounds the block to the TLS segment's own alignment (p_align), not more.
  size_t align = reinterpret_cast<uintptr_t>(__tls_align);
  if (align == 0) align = 1;
  const size_t aligned = (memsz + align - 1) & ~(align - 1);
  char* block = static_cast<char*>(kernel::allocate(aligned + 16, align < 16 ? 16 : align));
  if (block == nullptr) return false;
  memcpy(block, __tdata_start, tdata);
  memset(block + tdata, 0, aligned - tdata);
  char* tp = block + aligned;
  *reinterpret_cast<char**>(tp) = tp;
  t->tls = block;
  t->fs_base = reinterpret_cast<uint64_t>(tp);
  return true;
}

Thread* create_local(size_t stack_size, ThreadFunc func, void* arg, Thread* parent, bool is_main) {
  if (stack_size < 4096) stack_size = 4096;
  CoreSched& c = me();
  Thread* t = c.spare;
  uint32_t generation = 0;
  if (t != nullptr) {
    c.spare = t->zombie_next;
    generation = t->generation.load(std::memory_order_relaxed);
  } else {
    t = static_cast<Thread*>(kernel::allocate(sizeof(Thread), 64));
    if (t == nullptr) return nullptr;
  }
  new (t) Thread();
  t->generation.store(generation, std::memory_order_release);
  char* stack = static_cast<char*>(kernel::allocate_stack(stack_size, reinterpret_cast<uint64_t>(t)));
  if (stack == nullptr || !make_tls(t)) {
    if (stack != nullptr) kernel::free_stack(stack);
    t->state.store(ThreadState::kDead, std::memory_order_release);
    t->zombie_next = c.spare;
    c.spare = t;
    return nullptr;
  }
  t->core = kernel::current_core();
  t->func = func;
  t->arg = arg;
  t->stack = stack;
  t->stack_size = (stack_size + 4095) & ~size_t(4095);
  t->parent = parent;
  t->is_main = is_main;
  prepare_stack(t);
  me().queue.insert(t);
  return t;
}

void free_zombies(CoreSched& c) {
  while (c.zombies != nullptr && c.zombies != c.current) {
    Thread* z = c.zombies;
    c.zombies = z->zombie_next;
    kernel::free_stack(z->stack);
    if (z->tls != nullptr) kernel::release(z->tls);
    z->tls = nullptr;
    // A new generation: ids of the dead thread no longer match (the record stays a Thread).
    z->generation.store(z->generation.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    z->zombie_next = c.spare;
    c.spare = z;
  }
}

// Thread creation requests from other cores (interrupts off).
void drain_mail(CoreSched& c) {
  if (!c.mail.load(std::memory_order_relaxed)) return;
  c.mail.store(false, std::memory_order_seq_cst);  // cleared before looking: a later push sets it again
  const uint32_t self = kernel::current_core();
  for (uint32_t from = 0; from < g_core_count; ++from) {
    if (from == self) continue;
    while (auto request = box(from, self).pop()) {
      CreateRequest* r = *request;
      Thread* t = create_local(r->stack_size, r->func, r->arg, r->parent, false);
      r->result.store(t, std::memory_order_relaxed);
      r->done.store(true, std::memory_order_release);  // the requester may now drop r
    }
  }
}

void switch_to(CoreSched& c, Thread* next) {
  Thread* prev = c.current;
  if (next == prev) return;
  c.current = next;
  kernel::this_cpu()->current_thread = reinterpret_cast<uint64_t>(next);
  if (next->fs_base != 0) arch::set_fs_base(next->fs_base);
  arch_switch(&prev->saved_rsp, next->saved_rsp);
  // Back on prev's stack, possibly much later.
}

// Pick and run the next thread; returns when the caller runs again. Interrupts off inside.
// With `honor_kill`, a thread that was killed meanwhile exits here; waits that own resources
// (a remote creation request on the stack) pass false and check afterwards.
void schedule(bool honor_kill = true) {
  arch::disable_interrupts();
  CoreSched& c = me();
  free_zombies(c);
  drain_mail(c);
  Thread* next = c.queue.pick(c.current->is_idle ? nullptr : c.current, arch::rdtsc());
  if (next == nullptr) next = c.idle;
  switch_to(c, next);
  arch::enable_interrupts();
  Thread* self = me().current;
  if (honor_kill && !self->is_idle && self->kill.load(std::memory_order_acquire)) exit_current();
}

[[noreturn]] void idle_loop() {
  for (;;) {
    arch::disable_interrupts();
    CoreSched& c = me();
    free_zombies(c);
    drain_mail(c);
    Thread* next = c.queue.pick(nullptr, arch::rdtsc());
    if (next != nullptr) {
      switch_to(c, next);
      continue;
    }
    // Nothing to run: halt until an interrupt. The LAPIC timer must fire no later than the next
    // sleeper's deadline; it is written only when it would fire too late (not armed, or armed
    // for a later deadline). A timer armed earlier than needed is left counting: it wakes this
    // loop once, which arms it again. So an idle core that wakes for a packet and halts again
    // (the packet thread's guard sleep moving on each time) costs no timer write (issue 16:
    // every LAPIC write is an exit to the hypervisor), at most one early interrupt per guard
    // period instead.
    const uint64_t deadline = c.queue.next_deadline();
    if (deadline != 0 && (c.timer_deadline == 0 || deadline < c.timer_deadline)) {
      arch::lapic_timer_arm_at(deadline, g_timing.lapic_per_mcycles);
      c.timer_deadline = deadline;
    }
    c.halted.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the fence in wake()
    // Look again after announcing the halt: work published before our store is seen here, work
    // published after it comes with an IPI (wake()).
    if (!c.mail.load(std::memory_order_seq_cst) && c.queue.pick(nullptr, arch::rdtsc()) == nullptr) {
      arch::enable_interrupts_and_halt();
    }
    c.halted.store(false, std::memory_order_relaxed);
  }
}

// The calling context becomes the record of core's idle thread (its stack is the boot stack or
// the one kernel/start_cores.cpp gave the AP).
void init_core_state(uint32_t core) {
  CoreSched& c = of(core);
  auto* idle = static_cast<Thread*>(kernel::allocate(sizeof(Thread), 64));
  if (idle == nullptr) kernel::panic("no memory for Core#%d's idle thread", core);
  new (idle) Thread();
  idle->is_idle = true;
  idle->core = core;
  c.idle = idle;
  c.current = idle;
  kernel::this_cpu()->current_thread = reinterpret_cast<uint64_t>(idle);
}

}  // namespace

void init(uint32_t cores, const Timing& timing) {
  g_timing = timing;
  g_core_count = cores == 0 ? 1 : cores;
  for (uint32_t core = 0; core < g_core_count; ++core) {
    void* memory = kernel::allocate_for(core, sizeof(CoreSched), alignof(CoreSched));
    if (memory == nullptr) kernel::panic("no memory for Core#%d's scheduler", core);
    kernel::percpu(core).sched = new (memory) CoreSched();
  }
  g_boxes = static_cast<Box*>(kernel::allocate(sizeof(Box) * g_core_count * g_core_count, 64));
  if (g_boxes == nullptr) kernel::panic("no memory for %d mailboxes", g_core_count * g_core_count);
  for (uint32_t i = 0; i < g_core_count * g_core_count; ++i) new (&g_boxes[i]) Box();
  enter_core();
}

void enter_core() {
  const uint32_t core = kernel::current_core();
  init_core_state(core);
  of(core).running.store(true, std::memory_order_release);
}

void set_core_count(uint32_t cores) { g_core_count = cores; }

uint32_t core_count() { return g_core_count; }
bool core_running(uint32_t core) {
  return core < g_core_count && kernel::percpu(core).sched != nullptr &&
         of(core).running.load(std::memory_order_acquire);
}
uint64_t tsc_hz() { return g_timing.tsc_hz; }
uint64_t now_ms() { return arch::rdtsc() / (g_timing.tsc_hz / 1000); }
uint64_t now_us() { return arch::rdtsc() / (g_timing.tsc_hz / 1000000); }

Thread* create_thread(uint32_t core, size_t stack_size, ThreadFunc func, void* arg, bool is_main) {
  if (func == nullptr || !core_running(core)) return nullptr;
  if (stack_size == 0) stack_size = kDefaultStackSize;
  const uint32_t self = kernel::current_core();
  Thread* parent = current();
  if (core == self) {
    arch::InterruptGuard no_interrupts;  // the run queue is also touched from the idle path
    return create_local(stack_size, func, arg, parent, is_main);
  }
  before_yield();  // this thread waits below
  CreateRequest request{func, arg, stack_size, parent};
  // The request lives on this stack until the other core is done with it: these waits must not
  // end the thread (a kill is acted on afterwards).
  while (!box(self, core).push(&request)) schedule(false);  // full: let the other core catch up
  of(core).mail.store(true, std::memory_order_seq_cst);
  wake(core);
  // Synchronous, as Toro's BeginThread: other threads of this core run meanwhile.
  while (!request.done.load(std::memory_order_acquire)) schedule(false);
  Thread* created = request.result.load(std::memory_order_relaxed);
  if (!current()->is_idle && current()->kill.load(std::memory_order_acquire)) exit_current();
  return created;
}

Thread* current() {
  CoreSched* c = kernel::this_cpu()->sched;  // nullptr before sched::init (a fault during boot)
  return c != nullptr ? c->current : nullptr;
}

// The slot is emptied before the call, so work that sleeps (and so comes back here) or plugs
// again is not run twice. One copy: every way to give up the CPU calls it.
[[gnu::noinline]] void before_yield() {
  CoreSched* c = kernel::this_cpu()->sched;
  if (c == nullptr || c->before_yield == nullptr) return;
  void (*fn)(void*) = c->before_yield;
  c->before_yield = nullptr;
  fn(c->before_yield_ctx);
}

void yield() {
  before_yield();
  schedule();
}

bool run_before_yield(void (*fn)(void*), void* ctx) {
  CoreSched& c = me();
  if (c.before_yield != nullptr) return c.before_yield == fn && c.before_yield_ctx == ctx;
  c.before_yield = fn;
  c.before_yield_ctx = ctx;
  return true;
}

void sleep_ms(uint64_t ms) {
  before_yield();
  Thread* self = current();
  if (ms == 0 || self->is_idle) {
    yield();
    return;
  }
  self->wake_tsc = arch::rdtsc() + arch::ms_to_cycles(ms, g_timing.tsc_hz);
  // Ready -> Sleeping only: a suspension another core asked for in the meantime stays (the
  // thread then waits suspended; a resume ends the sleep early).
  ThreadState expected = ThreadState::kReady;
  self->state.compare_exchange_strong(expected, ThreadState::kSleeping, std::memory_order_acq_rel);
  do {
    schedule();
  } while (self->state.load(std::memory_order_acquire) != ThreadState::kReady);
}

bool sleep_unless(const std::atomic<bool>& done, uint64_t ms) {
  before_yield();
  Thread* self = current();
  if (done.load(std::memory_order_acquire)) return true;
  if (ms == 0 || self->is_idle) {
    yield();
    return done.load(std::memory_order_acquire);
  }
  self->wake_tsc = arch::rdtsc() + arch::ms_to_cycles(ms, g_timing.tsc_hz);
  ThreadState expected = ThreadState::kReady;
  self->state.compare_exchange_strong(expected, ThreadState::kSleeping, std::memory_order_seq_cst);
  // The waker stores `done` and then resume()s (Sleeping -> Ready). Both sides are seq_cst: the
  // store to `state` above and the load of `done` below, the waker's store to `done` and its
  // read of `state`. So either the waker's store comes first and the load sees it, or its resume
  // comes after our store and finds the thread Sleeping, makes it Ready, and schedule() below
  // returns at once. An interrupt on this core is the same argument in program order.
  if (done.load(std::memory_order_seq_cst)) {
    expected = ThreadState::kSleeping;
    self->state.compare_exchange_strong(expected, ThreadState::kReady, std::memory_order_acq_rel);
    return true;
  }
  do {
    schedule();
  } while (self->state.load(std::memory_order_acquire) != ThreadState::kReady);
  return done.load(std::memory_order_acquire);
}

bool is_thread(const Thread* t) {
  return t != nullptr && kernel::heap().owner_of(t) != mm::kNoCore && t->magic == kThreadMagic &&
         t->state.load(std::memory_order_acquire) != ThreadState::kDead;
}

uint64_t thread_id(const Thread* t) {
  if (t == nullptr) return 0;
  return reinterpret_cast<uint64_t>(t) | uint64_t(t->generation.load(std::memory_order_acquire) & 0xFFFF) << 48;
}

Thread* from_id(uint64_t id) {
  auto* t = reinterpret_cast<Thread*>(id & ((uint64_t(1) << 48) - 1));
  if (!is_thread(t)) return nullptr;
  // (A thread that dies right after this check and whose record is reused at once could still
  // be acted on: the window is a few instructions, and only for ids of threads that just died.)
  return (t->generation.load(std::memory_order_acquire) & 0xFFFF) == (id >> 48) ? t : nullptr;
}

bool suspend(Thread* t) {
  Thread* self = current();
  if (t == nullptr || t == self) t = self;
  if (!is_thread(t) || t->is_idle) return false;
  if (t == self) before_yield();
  // Ready or Sleeping -> Suspended, never out of Dead; for another thread it takes effect at its
  // next yield (its scheduler does not pick a suspended thread).
  ThreadState s = t->state.load(std::memory_order_relaxed);
  while (s != ThreadState::kDead && s != ThreadState::kSuspended &&
         !t->state.compare_exchange_weak(s, ThreadState::kSuspended, std::memory_order_acq_rel)) {
  }
  if (s == ThreadState::kDead) return false;
  if (t == self) {
    do {
      schedule();
    } while (self->state.load(std::memory_order_acquire) == ThreadState::kSuspended);
  }
  return true;
}

bool resume(Thread* t) {
  if (!is_thread(t) || t->is_idle) return false;
  ThreadState s = t->state.load(std::memory_order_seq_cst);  // after the waker's store: sleep_unless
  while (
      s != ThreadState::kDead && s != ThreadState::kReady &&
      !t->state.compare_exchange_weak(s, ThreadState::kReady, std::memory_order_release, std::memory_order_relaxed)) {
  }
  if (s == ThreadState::kDead) return false;
  wake(t->core);
  return true;
}

bool kill(Thread* t) {
  if (!is_thread(t) || t->is_idle) return false;
  if (t == current()) exit_current();
  t->kill.store(true, std::memory_order_release);
  resume(t);  // a suspended or sleeping thread must run to notice
  return true;
}

namespace {
[[noreturn]] void exit_now() {
  arch::disable_interrupts();
  CoreSched& c = me();
  Thread* self = c.current;
  if (self->is_main) kernel::printk("ThreadExit: Warning! MainThread has been killed\n");
  self->state.store(ThreadState::kDead, std::memory_order_release);
  c.queue.remove(self);
  self->zombie_next = c.zombies;
  c.zombies = self;  // freed once we run on another stack
  Thread* next = c.queue.pick(nullptr, arch::rdtsc());
  switch_to(c, next != nullptr ? next : c.idle);
  kernel::panic("a dead thread was scheduled");
}

}  // namespace

void exit_current() {
  before_yield();
  exit_now();
}

// A faulted thread's run_before_yield work is not run on its stack: it stays for the core's next
// thread that gives up the CPU.
void exit_after_fault() { exit_now(); }

void on_wake_interrupt(bool timer) {
  if (timer) me().timer_deadline = 0;  // fired: the count has stopped
  arch::lapic_eoi();
}

void run_idle_loop() { idle_loop(); }

Thread* debug_current(uint32_t core) {
  if (core >= g_core_count || !core_running(core)) return nullptr;
  return of(core).current;
}

size_t debug_threads(uint32_t core, Thread** out, size_t max) {
  if (core >= g_core_count || !core_running(core) || max == 0) return 0;
  CoreSched& c = of(core);
  size_t n = 0;
  auto add = [&](Thread* t) {
    if (t == nullptr || n == max) return;
    for (size_t i = 0; i < n; ++i) {
      if (out[i] == t) return;
    }
    out[n++] = t;
  };
  add(c.current);
  Thread* t = c.queue.head();
  for (size_t i = 0; t != nullptr && i < c.queue.size(); ++i, t = t->next) add(t);
  add(c.idle);
  return n;
}

}  // namespace sched

// First code of every thread (entered from thread_trampoline in context_switch.S).
extern "C" [[noreturn]] void thread_main(sched::Thread* t) {
  arch::enable_interrupts();
  if (t->kill.load(std::memory_order_acquire)) sched::exit_current();  // killed before it ever ran
  const intptr_t result = t->func(t->arg);
  (void)result;
  sched::exit_current();
}
