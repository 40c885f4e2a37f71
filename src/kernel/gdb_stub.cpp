// The in-guest gdb stub's kernel side (see gdb_stub.h): the Target the protocol session of
// src/lib/gdb_rsp.h reads and changes, on the trap frame of the stopped context.
#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/hw_breakpoints.h>
#include <arch/x86_64/paging.h>
#include <arch/x86_64/power.h>
#include <drivers/console/virtio_console.h>
#include <drivers/device.h>
#include <drivers/serial/uart16550.h>
#include <kernel/console.h>
#include <kernel/devices.h>
#include <kernel/gdb_stub.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <lib/gdb_rsp.h>
#include <sched/scheduler.h>
#include <sched/thread.h>

#include <atomic>
#include <new>

extern "C" int main();

namespace kernel {

bool (*g_debug_trap)(arch::TrapFrame* frame) = nullptr;

namespace {

using namespace klib::gdb;

constexpr uint64_t kTrapFlag = 1u << 8, kResumeFlag = 1u << 16;
constexpr uint64_t kDr6Step = 1u << 14;

// gdb's byte stream: COM2 (polled 16550), or with `gdb=virtio` a virtio-console of its own,
// whose output is gathered into a packet-sized buffer (a device write is a notification: one
// per byte would be one VM exit per byte) and sent before the stub waits for input.
drivers::Uart16550 g_uart(0x2F8);  // COM2
struct Link {
  drivers::ConsoleDevice* device = nullptr;  // nullptr: COM2
  // The device's receive queue is read by the serving core or by the input interrupt (Ctrl-C),
  // never both at once: whoever reads holds this (the interrupt only tries).
  std::atomic<bool> reading{false};
  char out[512] = {};
  size_t used = 0;

  void put(char c) {
    if (device == nullptr) return g_uart.put(c);
    out[used++] = c;
    if (used == sizeof out) flush();
  }
  void flush() {
    if (device == nullptr) return g_uart.flush();
    if (used != 0) (void)device->write(out, used);
    used = 0;
  }
  bool try_get(char* c) {
    if (device == nullptr) return g_uart.try_get(c);
    if (reading.exchange(true, std::memory_order_acquire)) return false;
    const bool got = device->try_get(c);
    reading.store(false, std::memory_order_release);
    return got;
  }
};
constinit Link g_port;  // (constinit: the program's constructors, run at main, must not reset it)
void put(void*, char c) { g_port.put(c); }

arch::HwKind hw_kind(BreakKind k) {
  switch (k) {
    case BreakKind::kWrite:
      return arch::HwKind::kWrite;
    case BreakKind::kAccess:
      return arch::HwKind::kAccess;
    default:
      return arch::HwKind::kExecute;
  }
}

// All-stop: the core that stops (a breakpoint, a step, Ctrl-C) leads; it sends every other
// core the kVectorDebugStop IPI, and each parks in its handler with its interrupted context in
// g_frames until the leader releases them (g_release changes). gdb then sees every Toro thread
// of every core: a core's running thread through its frame, the others through the registers
// arch_switch saved on their stacks (r15..rbx, rbp, the return address).
std::atomic<int> g_leader{-1};                   // the core talking to gdb, -1: none
std::atomic<bool> g_stopping{false};             // the leader wants the others parked
std::atomic<uint32_t> g_parked{0};               // how many have parked since the leader's request
std::atomic<uint64_t> g_release{0};              // a new value lets the parked cores go
std::atomic<bool> g_interrupt{false};            // Ctrl-C came: the core it reached stops (SIGINT)
arch::TrapFrame* g_frames[arch::kMaxCpus] = {};  // a stopped core's context (its current thread's)

constexpr size_t kMaxThreads = 256;  // listed to gdb (a core's first ones when there are more)

ThreadId id_of(const sched::Thread* t) { return ThreadId(reinterpret_cast<uintptr_t>(t)); }

// The thread and its core for a gdb id: only threads that the scheduler lists (a stale id from
// gdb is not dereferenced).
sched::Thread* find_thread(ThreadId id, uint32_t* core_out) {
  sched::Thread* list[kMaxThreads];
  for (uint32_t c = 0; c < sched::core_count(); ++c) {
    const size_t n = sched::debug_threads(c, list, kMaxThreads);
    for (size_t i = 0; i < n; ++i) {
      if (id_of(list[i]) == id) {
        if (core_out != nullptr) *core_out = c;
        return list[i];
      }
    }
  }
  return nullptr;
}

// The context of thread `t` on `core`: its core's frame if it is the one running there.
arch::TrapFrame* frame_of(sched::Thread* t, uint32_t core) {
  return t == sched::debug_current(core) ? g_frames[core] : nullptr;
}

class StubTarget final : public Target {
 public:
  arch::HwBreakpoints bp;
  bool resumed = false;
  bool step = false;
  uint8_t signal = 0;     // gdb passed the stop's signal on (a fault: let it take its course)
  bool detached = false;  // gdb left: faults take their course without stopping
  bool serving = false;   // a fault while serving gdb is the stub's own: not for gdb

  bool read_registers(ThreadId id, RegisterFile* out) override {
    uint32_t core = 0;
    sched::Thread* t = find_thread(id, &core);
    if (t == nullptr) return false;
    if (const arch::TrapFrame* fp = frame_of(t, core)) {
      const arch::TrapFrame& f = *fp;
      const uint64_t v[kProvidedRegisters] = {f.rax, f.rbx,    f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp,
                                              f.r8,  f.r9,     f.r10, f.r11, f.r12, f.r13, f.r14, f.r15,
                                              f.rip, f.rflags, f.cs,  f.ss,  0x10,  0x10,  0,     0};
      for (unsigned i = 0; i < kProvidedRegisters; ++i) out->value[i] = v[i];
      return true;
    }
    if (t == sched::debug_current(core)) return false;  // running on a core that did not park
    // Switched out: arch_switch pushed rbp, rbx, r12..r15 and returns to its caller.
    uint64_t saved[7];
    if (read_memory(t->saved_rsp, reinterpret_cast<uint8_t*>(saved), sizeof saved) != sizeof saved) return false;
    *out = RegisterFile{};
    out->value[kR15] = saved[0];
    out->value[kR14] = saved[1];
    out->value[kR13] = saved[2];
    out->value[kR12] = saved[3];
    out->value[kRbx] = saved[4];
    out->value[kRbp] = saved[5];
    out->value[kRip] = saved[6];
    out->value[kRsp] = t->saved_rsp + sizeof saved;
    out->value[kEflags] = 0x202;
    out->value[kCs] = 0x08;
    out->value[kSs] = out->value[kDs] = out->value[kEs] = 0x10;
    return true;
  }
  bool write_register(ThreadId id, unsigned index, uint64_t value) override {
    uint32_t core = 0;
    sched::Thread* t = find_thread(id, &core);
    arch::TrapFrame* fp = t == nullptr ? nullptr : frame_of(t, core);
    if (fp == nullptr) return false;  // a switched-out thread's registers are not written
    arch::TrapFrame& f = *fp;
    uint64_t* const slots[] = {&f.rax, &f.rbx, &f.rcx, &f.rdx, &f.rsi, &f.rdi, &f.rbp, &f.rsp, &f.r8,
                               &f.r9,  &f.r10, &f.r11, &f.r12, &f.r13, &f.r14, &f.r15, &f.rip, &f.rflags};
    if (index < sizeof slots / sizeof slots[0]) {
      *slots[index] = value;
      return true;
    }
    return false;  // segment registers stay what the kernel set
  }
  // Only where the page tables map (writes: where they allow writing): a stray address from gdb
  // must not fault inside the stub.
  size_t read_memory(uint64_t address, uint8_t* out, size_t length) override {
    return copy(address, length, false, [&](size_t i, uint8_t* p) { out[i] = *p; });
  }
  size_t write_memory(uint64_t address, const uint8_t* in, size_t length) override {
    return copy(address, length, true, [&](size_t i, uint8_t* p) { *p = in[i]; });
  }
  Status set_breakpoint(BreakKind kind, uint64_t address, size_t length, bool insert) override {
    if (kind == BreakKind::kRead) return Status::kUnsupported;  // x86 watches writes or accesses
    // gdb's software breakpoints (Z0) are execute breakpoints in the debug registers too: int3
    // would need writing into read-only code, and cannot run in ring 0 under some hypervisors.
    if (kind == BreakKind::kSoftware || kind == BreakKind::kHardware) length = 1;
    const arch::HwResult r =
        insert ? bp.insert(hw_kind(kind), address, length) : bp.remove(hw_kind(kind), address, length);
    return r == arch::HwResult::kOk ? Status::kOk : Status::kError;
  }
  // Every core's threads, in core order, each core's running one first.
  size_t list_threads(size_t first, ThreadId* out, size_t max) override {
    sched::Thread* list[kMaxThreads];
    size_t index = 0, n_out = 0;
    for (uint32_t c = 0; c < sched::core_count() && n_out < max; ++c) {
      const size_t n = sched::debug_threads(c, list, kMaxThreads);
      for (size_t i = 0; i < n && n_out < max; ++i, ++index) {
        if (index >= first) out[n_out++] = id_of(list[i]);
      }
    }
    return n_out;
  }
  bool thread_alive(ThreadId id) override { return find_thread(id, nullptr) != nullptr; }
  // "Core 1, sleeping" (running: the core's current thread; idle: the core's idle loop).
  size_t describe_thread(ThreadId id, char* out, size_t max) override {
    uint32_t core = 0;
    sched::Thread* t = find_thread(id, &core);
    if (t == nullptr) return 0;
    const char* state = t == sched::debug_current(core) ? "running" : "ready";
    switch (t->state.load(std::memory_order_relaxed)) {
      case sched::ThreadState::kSleeping:
        if (t != sched::debug_current(core)) state = "sleeping";
        break;
      case sched::ThreadState::kSuspended:
        state = "suspended";
        break;
      default:
        break;
    }
    size_t n = 0;
    auto add = [&](const char* text) {
      for (; *text != 0 && n < max; ++text) out[n++] = *text;
    };
    char number[12];
    size_t digits = 0;
    uint32_t v = core;
    do {
      number[digits++] = char('0' + v % 10);
      v /= 10;
    } while (v != 0);
    add("Core ");
    while (digits > 0 && n < max) out[n++] = number[--digits];
    add(", ");
    add(t->is_idle ? "idle" : state);
    return n;
  }
  void resume(const ResumeRequest& request) override {
    step = request.step != 0;  // the leader's thread steps (others stay parked meanwhile)
    signal = request.signal;
    resumed = true;
  }
  void interrupt() override {}  // Ctrl-C while running arrives through the link's interrupt (on_input)
  void detach() override {
    bp = arch::HwBreakpoints();
    step = false;
    signal = 0;
    detached = true;
    resumed = true;
  }
  void kill() override {
    g_port.flush();  // the acknowledgement leaves before the machine does (Bochs drops the rest)
    arch::poweroff(0);
  }

 private:
  template <typename Fn>
  size_t copy(uint64_t address, size_t length, bool write, Fn fn) {
    const uint64_t root = arch::read_cr3();
    size_t done = 0;
    while (done < length) {
      const uint64_t a = address + done;
      uint64_t phys = 0;
      bool writable = false;
      if (a < address || !arch::PageTableBuilder::translate(root, a, &phys, &writable) || (write && !writable)) break;
      const size_t in_page = size_t(4096 - (a & 4095));
      for (size_t i = 0; i < in_page && done < length; ++i, ++done) {
        fn(done, reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(address + done)));
      }
    }
    return done;
  }
};

StubTarget g_target;
alignas(Session) unsigned char g_session_storage[sizeof(Session)];
Session* g_session = nullptr;
bool g_stop_at_main = false;

void load_debug_registers() {
  for (int i = 0; i < arch::HwBreakpoints::kSlots; ++i) arch::write_dr(i, g_target.bp.address[i]);
  arch::write_dr7(g_target.bp.dr7);
}

// Bytes the link's interrupt (on_input) took that are not a Ctrl-C, for the session (a client
// that writes before the first stop). Touched with interrupts off on the boot core only.
char g_early[256];
size_t g_early_count = 0;

// A core that another core stopped: its context in g_frames until the leader lets it go, then
// the debug registers gdb left (they are per core).
void park(arch::TrapFrame* f) {
  const uint32_t me = current_core();
  const uint64_t generation = g_release.load(std::memory_order_acquire);
  g_frames[me] = f;
  // release: the frame is published before the leader counts us (its acquire load of g_parked).
  g_parked.fetch_add(1, std::memory_order_acq_rel);
  while (g_release.load(std::memory_order_acquire) == generation) arch::cpu_relax();
  g_frames[me] = nullptr;
  load_debug_registers();
}

// The leader: every other running core parks (or 100 ms pass: a core with interrupts off that
// long is shown without its running thread's registers).
void stop_the_others(uint32_t me) {
  g_parked.store(0, std::memory_order_relaxed);
  g_stopping.store(true, std::memory_order_seq_cst);
  uint32_t others = 0;
  for (uint32_t c = 0; c < sched::core_count(); ++c) {
    if (c == me || !sched::core_running(c)) continue;
    ++others;
    arch::lapic_send_ipi(percpu(c).apic_id, arch::kVectorDebugStop);
  }
  const uint64_t deadline = arch::rdtsc() + sched::tsc_hz() / 10;
  while (g_parked.load(std::memory_order_acquire) < others && arch::rdtsc() < deadline) arch::cpu_relax();
}

void release_the_others() {
  g_stopping.store(false, std::memory_order_seq_cst);
  g_leader.store(-1, std::memory_order_release);
  g_release.fetch_add(1, std::memory_order_acq_rel);
}

// Serves gdb on the leading core until it resumes; returns with f set up to run on.
void serve(arch::TrapFrame* f, const StopReason& reason) {
  g_frames[current_core()] = f;
  g_target.resumed = false;
  g_target.detached = false;
  g_target.serving = true;
  g_session->stopped(reason);
  if (current_core() == 0) {  // what the link's interrupt kept (it runs on the boot core)
    for (size_t i = 0; i < g_early_count && !g_target.resumed; ++i) g_session->feed(g_early[i]);
    g_early_count = 0;
  }
  while (!g_target.resumed) {
    char c;
    if (g_port.try_get(&c)) {
      g_session->feed(c);
    } else {
      g_port.flush();  // the replies so far, before waiting for more
      arch::cpu_relax();
    }
  }
  g_port.flush();  // the last reply (detach's OK)
  g_target.serving = false;
  g_frames[current_core()] = nullptr;
  f->rflags = (f->rflags & ~kTrapFlag) | (g_target.step ? kTrapFlag : 0);
  // Resuming on an execute breakpoint's own instruction: RF lets it run once (SDM §18.3.1.1).
  for (int i = 0; i < arch::HwBreakpoints::kSlots; ++i) {
    if (g_target.bp.in_use(i) && g_target.bp.kind(i) == arch::HwKind::kExecute && g_target.bp.address[i] == f->rip) {
      f->rflags |= kResumeFlag;
    }
  }
  load_debug_registers();
  // A step keeps the other cores parked (the leader comes back at the next #DB); anything else
  // lets every core go.
  if (!g_target.step) release_the_others();
}

// This core stops everything and talks to gdb (false: another core leads: park instead).
bool lead(arch::TrapFrame* f, StopReason reason) {
  const int me = int(current_core());
  int expected = -1;
  if (!g_leader.compare_exchange_strong(expected, me, std::memory_order_acq_rel) && expected != me) return false;
  if (expected == -1) stop_the_others(uint32_t(me));  // (expected == me: back from a step, all parked)
  reason.thread = ThreadId(reinterpret_cast<uintptr_t>(sched::debug_current(uint32_t(me))));
  serve(f, reason);
  return true;
}

// The signal gdb shows for a CPU exception (0: not stopped for: NMI, #DF, #MC, ...).
uint8_t fault_signal(uint64_t vector) {
  switch (vector) {
    case 0:      // #DE
    case 16:     // #MF
    case 19:     // #XM
      return 8;  // SIGFPE
    case 6:
      return 4;  // SIGILL
    case 5:
    case 12:
    case 13:
    case 14:
      return 11;  // SIGSEGV
    case 17:
      return 7;  // SIGBUS (#AC)
    default:
      return 0;
  }
}

// A fault with gdb attached: stop there (gdb shows "Program received signal SIGSEGV" at the
// faulting line). gdb's `continue` passes the signal on (C0b): false, the fault takes its course
// (report, or a C++ exception); `signal 0` retries the instruction (gdb may have changed it).
bool stop_on_fault(arch::TrapFrame* f) {
  const uint8_t signal = fault_signal(f->vector);
  if (signal == 0 || g_target.serving || g_target.detached) return false;
  uint64_t owner = 0;
  if (f->vector == 14 && guard_page_owner(arch::read_cr2(), &owner)) return false;  // no stack left for gdb
  if (!lead(f, StopReason{signal, 0})) {
    park(f);  // another core has gdb: this fault comes back after
    return true;
  }
  return g_target.signal == 0;
}

// #DB (1), #BP (3) and the stop IPI, interrupts off.
bool debug_trap(arch::TrapFrame* f) {
  if (f->vector == arch::kVectorDebugStop) {
    arch::lapic_eoi();
    if (g_stopping.load(std::memory_order_acquire) && g_leader.load(std::memory_order_acquire) != int(current_core())) {
      park(f);
    } else if (g_interrupt.exchange(false, std::memory_order_acq_rel) && !lead(f, StopReason{2, 0})) {
      park(f);
    }
    return true;
  }
  if (f->vector != 1 && f->vector != 3) return stop_on_fault(f);
  const uint64_t dr6 = f->vector == 1 ? arch::read_dr6() : 0;
  if (f->vector == 1) arch::write_dr6(0);
  if (g_stop_at_main) {  // the stub's own breakpoint: gdb did not set it
    g_stop_at_main = false;
    g_target.bp.remove(arch::HwKind::kExecute, reinterpret_cast<uint64_t>(&main), 1);
  }
  StopReason reason{5, 0};
  const int slot = g_target.bp.slot_hit(dr6);
  if (slot >= 0 && g_target.bp.kind(slot) != arch::HwKind::kExecute) {
    reason.watch = true;
    reason.watch_kind = g_target.bp.kind(slot) == arch::HwKind::kWrite ? BreakKind::kWrite : BreakKind::kAccess;
    reason.watch_address = g_target.bp.address[slot];
  }
  (void)kDr6Step;  // a step and a breakpoint are both SIGTRAP for gdb
  // Two cores at a breakpoint at once: the second parks; an execute breakpoint fires again when
  // it resumes (a watchpoint's or a step's stop is lost then).
  if (!lead(f, reason)) park(f);
  return true;
}

// The link's receive interrupt (COM2's IRQ 3, or the virtio-console's) on the boot core while
// the program runs: a Ctrl-C (0x03) from gdb makes this core stop, in the stop IPI's handler,
// which has the interrupted context.
void on_input(void*) {
  if (g_port.device != nullptr) g_port.device->ack_interrupt();
  char c;
  bool ctrl_c = false;
  while (g_port.try_get(&c)) {
    if (c == 0x03) {
      ctrl_c = true;
    } else if (g_early_count < sizeof g_early) {
      g_early[g_early_count++] = c;  // (more is dropped: gdb resends unacknowledged packets)
    }
  }
  if (ctrl_c && g_leader.load(std::memory_order_acquire) < 0) {
    g_interrupt.store(true, std::memory_order_release);
    arch::lapic_send_ipi(this_cpu()->apic_id, arch::kVectorDebugStop);  // taken after this handler's EOI
  }
}

constexpr drivers::Driver kCom2{"gdb",
                                "gdb",
                                drivers::DeviceClass::kConsole,
                                0,
                                drivers::Driver::kAny,
                                drivers::Driver::kAny,
                                drivers::Driver::kAnyClass,
                                drivers::Driver::kAnyClass,
                                nullptr,
                                0x2F8,
                                3};

// `gdb=virtio`: the first free virtio-console (console=virtio took the first one at boot).
[[gnu::cold]] drivers::Device* claim_virtio() {
  drivers::Device* device = nullptr;
  klib::Result<drivers::ConsoleDevice*> started = start_free_virtio_console(&device);
  if (!started) {
    printk("gdb: no virtio-console for gdb=virtio (%p): gdb is on COM2\n", klib::error_text(started.error()));
    return nullptr;
  }
  g_port.device = started.value();
  return device;
}

}  // namespace

void gdb_stub_start(bool virtio) {
  drivers::Device* device = virtio ? claim_virtio() : nullptr;
  if (device == nullptr) g_uart.init();
  g_session = new (g_session_storage) Session(g_target, klib::Sink{put, nullptr, nullptr});
  g_debug_trap = debug_trap;
  // Stop before main: an execute breakpoint on its first instruction, on this core (the main
  // thread runs on the boot core).
  g_target.bp.insert(arch::HwKind::kExecute, reinterpret_cast<uint64_t>(&main), 1);
  g_stop_at_main = true;
  load_debug_registers();
  // Ctrl-C: the link's interrupt to this core (COM2's IRQ 3, or the device's line).
  drivers::Device com2{&kCom2, drivers::Transport::kIsa, false, nullptr, 0};
  const char* where = device != nullptr ? "VirtIOConsole" : "COM2";
  if (attach_interrupt(device != nullptr ? *device : com2, on_input, nullptr)) {
    if (device != nullptr) {
      g_port.device->input_interrupts(true);
      g_port.device->ack_interrupt();  // a line raised before the entry was unmasked (see on_input)
    } else {
      g_uart.enable_rx_interrupt();
    }
  } else {
    printk("gdb: no interrupt for %p: Ctrl-C will not stop the program\n", where);
  }
  printk("gdb: the program stops at main and waits for gdb on %p\n", where);
}

bool gdb_stub_on_com2() { return g_debug_trap != nullptr && g_port.device == nullptr; }

}  // namespace kernel
