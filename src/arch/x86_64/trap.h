// The register frame built by the interrupt stubs (isr.S), and the hook the kernel implements.
//
//   extern "C" void trap_dispatch(arch::TrapFrame* frame) {
//     if (frame->vector < 32) report_fault(*frame);
//   }
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch {

struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error_code;
  // Pushed by the CPU.
  uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(TrapFrame) == 22 * 8, "isr.S pushes 15 GPRs, vector, error and the CPU frame");

constexpr uint64_t kExceptionCount = 32;

// A fault thrown as a C++ exception (src/kernel/exceptions.cpp): the trap frame, cr2 and the
// core, copied by fault_trampoline.S onto the faulting thread's stack, where the trampoline's
// CFI finds the faulting frame's registers (the offsets are spelled out there too).
struct FaultFrame {
  TrapFrame regs;
  uint64_t cr2;
  uint32_t core;
  uint32_t reported;  // 1: the trap handler printed the fault report
};
static_assert(sizeof(FaultFrame) == 192, "fault_trampoline.S reserves 192 bytes");
static_assert(offsetof(FaultFrame, regs.rip) == 136 && offsetof(FaultFrame, regs.rsp) == 160 &&
                  offsetof(FaultFrame, regs.rbp) == 64 && offsetof(FaultFrame, regs.rbx) == 104 &&
                  offsetof(FaultFrame, regs.r12) == 24 && offsetof(FaultFrame, regs.rax) == 112,
              "fault_trampoline.S's CFI offsets");

// Exception names, indexed by vector (Intel SDM vol. 3 table 6-1); Toro's wording where it has one.
const char* exception_name(uint64_t vector);

// A core's GDT, TSS and IST stacks (opaque; cpu_tables_size() bytes, 64-byte aligned).
struct CpuTables;
size_t cpu_tables_size();
// Installs `tables` (nullptr: the boot core's static set) and the shared IDT on this CPU.
// #DF, NMI and #PF run on IST stacks 1-3.
void init_descriptor_tables(CpuTables* tables = nullptr);

}  // namespace arch

// Implemented by the kernel layer (src/kernel/trap.cpp); called by isr.S with interrupts off.
extern "C" void trap_dispatch(arch::TrapFrame* frame);
