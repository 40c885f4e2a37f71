// The in-guest gdb stub's kernel side (see gdb_stub.h): the Target the protocol session of
// src/lib/gdb_rsp.h reads and changes, on the trap frame of the stopped context.
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/hw_breakpoints.h>
#include <arch/x86_64/paging.h>
#include <arch/x86_64/power.h>
#include <drivers/serial/uart16550.h>
#include <kernel/console.h>
#include <kernel/gdb_stub.h>
#include <kernel/percpu.h>
#include <lib/gdb_rsp.h>

#include <new>

extern "C" int main();

namespace kernel {

bool (*g_debug_trap)(arch::TrapFrame* frame) = nullptr;

namespace {

using namespace klib::gdb;

constexpr uint64_t kTrapFlag = 1u << 8, kResumeFlag = 1u << 16;
constexpr uint64_t kDr6Step = 1u << 14;

drivers::Uart16550 g_port(0x2F8);  // COM2
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

class StubTarget final : public Target {
 public:
  arch::TrapFrame* frame = nullptr;  // the stopped context (on the stopped core's stack)
  ThreadId thread = 1;               // this slice: one gdb thread, the stopped core's (core + 1)
  arch::HwBreakpoints bp;
  bool resumed = false;
  bool step = false;

  bool read_registers(ThreadId t, RegisterFile* out) override {
    if (t != thread) return false;
    const arch::TrapFrame& f = *frame;
    const uint64_t v[kProvidedRegisters] = {f.rax, f.rbx,    f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.rsp,
                                            f.r8,  f.r9,     f.r10, f.r11, f.r12, f.r13, f.r14, f.r15,
                                            f.rip, f.rflags, f.cs,  f.ss,  0x10,  0x10,  0,     0};
    for (unsigned i = 0; i < kProvidedRegisters; ++i) out->value[i] = v[i];
    return true;
  }
  bool write_register(ThreadId t, unsigned index, uint64_t value) override {
    if (t != thread) return false;
    arch::TrapFrame& f = *frame;
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
  size_t list_threads(size_t first, ThreadId* out, size_t max) override {
    if (first != 0 || max == 0) return 0;
    out[0] = thread;
    return 1;
  }
  bool thread_alive(ThreadId t) override { return t == thread; }
  size_t describe_thread(ThreadId t, char* out, size_t max) override {
    const char text[] = {'C', 'o', 'r', 'e', ' ', char('0' + (t - 1) % 10)};
    size_t n = 0;
    for (; n < sizeof text && n < max; ++n) out[n] = text[n];
    return n;
  }
  void resume(const ResumeRequest& request) override {
    step = request.step != 0;
    resumed = true;
  }
  void interrupt() override {}  // Ctrl-C: not in this slice (the core polls COM2 only when stopped)
  void detach() override {
    bp = arch::HwBreakpoints();
    step = false;
    resumed = true;
  }
  void kill() override { arch::poweroff(0); }

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

// #DB (1) or #BP (3), interrupts off: report the stop to gdb and serve it until it resumes.
bool debug_trap(arch::TrapFrame* f) {
  if (f->vector != 1 && f->vector != 3) return false;
  const uint64_t dr6 = f->vector == 1 ? arch::read_dr6() : 0;
  if (f->vector == 1) arch::write_dr6(0);
  if (g_stop_at_main) {  // the stub's own breakpoint: gdb did not set it
    g_stop_at_main = false;
    g_target.bp.remove(arch::HwKind::kExecute, reinterpret_cast<uint64_t>(&main), 1);
  }
  StopReason reason{5, ThreadId(current_core()) + 1};
  const int slot = g_target.bp.slot_hit(dr6);
  if (slot >= 0 && g_target.bp.kind(slot) != arch::HwKind::kExecute) {
    reason.watch = true;
    reason.watch_kind = g_target.bp.kind(slot) == arch::HwKind::kWrite ? BreakKind::kWrite : BreakKind::kAccess;
    reason.watch_address = g_target.bp.address[slot];
  }
  (void)kDr6Step;  // a step and a breakpoint are both SIGTRAP for gdb
  g_target.frame = f;
  g_target.thread = reason.thread;
  g_target.resumed = false;
  g_session->stopped(reason);
  while (!g_target.resumed) {
    char c;
    if (g_port.try_get(&c)) {
      g_session->feed(c);
    } else {
      arch::cpu_relax();
    }
  }
  f->rflags = (f->rflags & ~kTrapFlag) | (g_target.step ? kTrapFlag : 0);
  // Resuming on an execute breakpoint's own instruction: RF lets it run once (SDM §18.3.1.1).
  for (int i = 0; i < arch::HwBreakpoints::kSlots; ++i) {
    if (g_target.bp.in_use(i) && g_target.bp.kind(i) == arch::HwKind::kExecute && g_target.bp.address[i] == f->rip) {
      f->rflags |= kResumeFlag;
    }
  }
  load_debug_registers();
  return true;
}

}  // namespace

void gdb_stub_start() {
  g_port.init();
  g_session = new (g_session_storage) Session(g_target, klib::Sink{put, nullptr, nullptr});
  g_debug_trap = debug_trap;
  // Stop before main: an execute breakpoint on its first instruction, on this core (the main
  // thread runs on the boot core).
  g_target.bp.insert(arch::HwKind::kExecute, reinterpret_cast<uint64_t>(&main), 1);
  g_stop_at_main = true;
  load_debug_registers();
  printk("gdb: the program stops at main and waits for gdb on COM2\n");
}

bool gdb_stub_active() { return g_debug_trap != nullptr; }

}  // namespace kernel
