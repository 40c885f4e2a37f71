// x86-64 CPU primitives: port I/O, control registers, MSRs, CPUID, interrupt flag, halting.
// This header and the .S files next to it are the only places with inline assembly.
//
//   arch::outb(0x3F8, 'A');           // port I/O
//   uint64_t fault_address = arch::read_cr2();
//   arch::halt_forever();             // cli; hlt loop
#pragma once

#include <cstddef>
#include <cstdint>

namespace arch {

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t value) { asm volatile("outw %0, %1" ::"a"(value), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
  uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint16_t inw(uint16_t port) {
  uint16_t v;
  asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
inline uint32_t inl(uint16_t port) {
  uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

// `count` words between one port and memory (the direction flag is clear, as the ABI keeps it).
inline void insw(uint16_t port, uint16_t* data, size_t count) {
  asm volatile("rep insw" : "+D"(data), "+c"(count) : "d"(port) : "memory");
}
inline void outsw(uint16_t port, const uint16_t* data, size_t count) {
  asm volatile("rep outsw" : "+S"(data), "+c"(count) : "d"(port) : "memory");
}
inline uint64_t read_cr0() {
  uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
inline uint64_t read_cr2() {
  uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
inline uint64_t read_cr3() {
  uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
inline void write_cr3(uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline uint64_t read_cr4() {
  uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}

// Debug registers (SDM vol. 3 §18.2): DR0-DR3 addresses, DR6 status, DR7 control.
inline void write_dr(int n, uint64_t v) {
  switch (n) {
    case 0:
      asm volatile("mov %0, %%dr0" ::"r"(v));
      break;
    case 1:
      asm volatile("mov %0, %%dr1" ::"r"(v));
      break;
    case 2:
      asm volatile("mov %0, %%dr2" ::"r"(v));
      break;
    default:
      asm volatile("mov %0, %%dr3" ::"r"(v));
      break;
  }
}
inline uint64_t read_dr6() {
  uint64_t v;
  asm volatile("mov %%dr6, %0" : "=r"(v));
  return v;
}
inline void write_dr6(uint64_t v) { asm volatile("mov %0, %%dr6" ::"r"(v)); }
inline void write_dr7(uint64_t v) { asm volatile("mov %0, %%dr7" ::"r"(v)); }

inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t(hi) << 32) | lo;
}
// "memory": the compiler keeps memory accesses on their side of an MSR write (an x2APIC IPI or
// a TSC deadline must follow the stores it announces).
inline void wrmsr(uint32_t msr, uint64_t v) {
  asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(v)), "d"(uint32_t(v >> 32)) : "memory");
}
// WRMSR to the x2APIC and TSC-deadline MSRs is not serializing (SDM vol. 3 §10.12.3, §10.5.4.1):
// MFENCE makes earlier stores globally visible first, LFENCE keeps the WRMSR from starting
// before the MFENCE completes.
inline void fence_before_apic_msr() { asm volatile("mfence; lfence" ::: "memory"); }

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t(hi) << 32) | lo;
}

inline void cpu_relax() { asm volatile("pause" ::: "memory"); }
inline void disable_interrupts() { asm volatile("cli" ::: "memory"); }
inline void enable_interrupts() { asm volatile("sti" ::: "memory"); }
inline uint64_t read_rflags() {
  uint64_t f;
  asm volatile("pushfq; popq %0" : "=r"(f)::"memory");
  return f;
}
inline bool interrupts_enabled() { return (read_rflags() & (1u << 9)) != 0; }

// Save the interrupt flag and disable interrupts; restore() puts it back.
class InterruptGuard {
 public:
  InterruptGuard() : was_enabled_(interrupts_enabled()) { disable_interrupts(); }
  ~InterruptGuard() {
    if (was_enabled_) enable_interrupts();
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  bool was_enabled_;
};

[[noreturn]] inline void halt_forever() {
  for (;;) asm volatile("cli; hlt" ::: "memory");
}

// Bochs "magic breakpoint" (xchg %bx, %bx): stops Bochs' debugger when magic_break is enabled,
// a no-op everywhere else.
inline void bochs_magic_break() { asm volatile("xchg %%bx, %%bx" ::: "memory"); }

inline uint64_t read_rbp() {
  uint64_t v;
  asm volatile("mov %%rbp, %0" : "=r"(v));
  return v;
}

struct [[gnu::packed]] DescriptorTablePointer {
  uint16_t limit;
  uint64_t base;
};
inline void lgdt(const DescriptorTablePointer& p) { asm volatile("lgdt %0" ::"m"(p) : "memory"); }
inline void lidt(const DescriptorTablePointer& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }
inline void ltr(uint16_t selector) { asm volatile("ltr %0" ::"r"(selector) : "memory"); }

// Reload CS with a far return and the data segments with `data`.
inline void reload_segments(uint16_t code, uint16_t data) {
  asm volatile(
      "pushq %q0\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:\n\t"
      "movw %w1, %%ds\n\t"
      "movw %w1, %%es\n\t"
      "movw %w1, %%ss\n\t" ::"r"(uint64_t(code)),
      "r"(data)
      : "rax", "memory");
}

inline void invlpg(uint64_t addr) { asm volatile("invlpg (%0)" ::"r"(addr) : "memory"); }

}  // namespace arch

namespace arch {
// Remap both 8259 PICs to vectors 0x20-0x2F and mask every line: the kernel uses the APIC.
// Without the remap a stray or spurious legacy IRQ (IRQ 7 needs no unmasking) would arrive on
// vectors 8-15 and look like an exception. ICW1-ICW4: 8259A datasheet.
inline void mask_legacy_pic() {
  outb(0x20, 0x11);  // ICW1: edge, cascade, ICW4 follows
  outb(0xA0, 0x11);
  outb(0x21, 0x20);  // ICW2: vector base
  outb(0xA1, 0x28);
  outb(0x21, 0x04);  // ICW3: slave on IRQ 2
  outb(0xA1, 0x02);
  outb(0x21, 0x01);  // ICW4: 8086 mode
  outb(0xA1, 0x01);
  outb(0x21, 0xFF);  // all masked
  outb(0xA1, 0xFF);
}
}  // namespace arch

namespace arch {
// FS and GS bases (IA32_FS_BASE / IA32_GS_BASE): FS points at the running thread's TLS block,
// GS at the core's per-CPU data.
inline void set_fs_base(uint64_t v) { wrmsr(0xC0000100, v); }
inline void set_gs_base(uint64_t v) { wrmsr(0xC0000101, v); }
inline uint64_t gs_read64(uint32_t offset) {
  uint64_t v;
  asm volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(uint64_t(offset)));
  return v;
}
inline uint32_t gs_read32(uint32_t offset) {
  uint32_t v;
  asm volatile("movl %%gs:(%1), %0" : "=r"(v) : "r"(uint64_t(offset)));
  return v;
}
// sti; hlt as one step: an interrupt that arrives after the sti still ends the hlt.
inline void enable_interrupts_and_halt() { asm volatile("sti; hlt" ::: "memory"); }
inline void full_fence() { asm volatile("mfence" ::: "memory"); }
inline void load_fence() { asm volatile("lfence" ::: "memory"); }
inline void store_fence() { asm volatile("sfence" ::: "memory"); }
// hlt with the interrupt flag as it is (Toro's hlt): returns after the next interrupt.
inline void halt() { asm volatile("hlt" ::: "memory"); }
inline void breakpoint() { asm volatile("int3" ::: "memory"); }
}  // namespace arch
