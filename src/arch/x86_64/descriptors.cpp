// GDT, TSS and IDT for long mode. Selectors: 0x08 kernel code, 0x10 kernel data, 0x18 TSS.
// #DF, NMI and #PF run on their own IST stacks so that a fault on a broken stack (an overflow
// into a guard page) still reaches the fault report instead of triple-faulting. A #PF inside
// the #PF report would reuse its IST stack; the report never returns, and trap_dispatch stops
// the VM at the first nested fault.
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/trap.h>

#include <cstddef>
#include <cstdint>

extern "C" const uint64_t isr_stub_table[256];

namespace arch {
namespace {

constexpr uint16_t kCodeSelector = 0x08;
constexpr uint16_t kDataSelector = 0x10;
constexpr uint16_t kTssSelector = 0x18;
constexpr int kIstDoubleFault = 1;
constexpr int kIstNmi = 2;
constexpr int kIstPageFault = 3;  // a stack overflow into a guard page still gets a report

struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

alignas(16) IdtGate g_idt[256];  // shared by all cores
bool g_idt_built = false;

void set_gate(int vector, uint64_t handler, uint8_t ist) {
  IdtGate& g = g_idt[vector];
  g.offset_low = uint16_t(handler);
  g.selector = kCodeSelector;
  g.ist = ist;
  g.type_attr = 0x8E;  // present, DPL 0, 64-bit interrupt gate (IF cleared on entry)
  g.offset_mid = uint16_t(handler >> 16);
  g.offset_high = uint32_t(handler >> 32);
  g.reserved = 0;
}

}  // namespace

// Each core has its own GDT (its TSS descriptor's busy bit is per TSS), TSS and IST stacks.
struct alignas(64) CpuTables {
  uint64_t gdt[5];
  Tss tss;
  alignas(16) uint8_t ist_stacks[3][16384];
};

size_t cpu_tables_size() { return sizeof(CpuTables); }

namespace {
CpuTables g_boot_cpu_tables;
}  // namespace

const char* exception_name(uint64_t vector) {
  static const char* const kNames[kExceptionCount] = {
      "Division by zero",
      "Debug",
      "NMI",
      "Breakpoint",
      "Overflow",
      "Bound instruction",
      "Illegal instruction",
      "Device not available",
      "Double fault",
      "Coprocessor segment overrun",
      "Invalid TSS",
      "Segment not present",
      "Stack fault",
      "General protection fault",
      "Page Fault",
      "Reserved (15)",
      "FPU error",
      "Alignment check",
      "Machine check",
      "SIMD floating-point",
      "Virtualization",
      "Control protection",
      "Reserved (22)",
      "Reserved (23)",
      "Reserved (24)",
      "Reserved (25)",
      "Reserved (26)",
      "Reserved (27)",
      "Hypervisor injection",
      "VMM communication",
      "Security exception",
      "Reserved (31)",
  };
  return vector < kExceptionCount ? kNames[vector] : "Interrupt";
}

void init_descriptor_tables(CpuTables* t) {
  if (t == nullptr) t = &g_boot_cpu_tables;
  t->gdt[0] = 0;
  t->gdt[1] = 0x00AF9A000000FFFF;  // 64-bit code, DPL 0
  t->gdt[2] = 0x00CF92000000FFFF;  // data
  const uint64_t tss = reinterpret_cast<uint64_t>(&t->tss);
  const uint64_t limit = sizeof(Tss) - 1;
  t->gdt[3] = (limit & 0xFFFF) | ((tss & 0xFFFFFF) << 16) | (uint64_t(0x89) << 40) | (((limit >> 16) & 0xF) << 48) |
              (((tss >> 24) & 0xFF) << 56);
  t->gdt[4] = tss >> 32;

  static_assert(kIstDoubleFault == 1 && kIstNmi == 2 && kIstPageFault == 3);
  for (int i = 0; i < 3; ++i) t->tss.ist[i] = reinterpret_cast<uint64_t>(t->ist_stacks[i] + sizeof(t->ist_stacks[i]));
  t->tss.iomap_base = sizeof(Tss);

  lgdt({sizeof(t->gdt) - 1, reinterpret_cast<uint64_t>(t->gdt)});
  reload_segments(kCodeSelector, kDataSelector);
  ltr(kTssSelector);

  if (!g_idt_built) {  // the boot core builds it before any other core starts
    for (int v = 0; v < 256; ++v) {
      uint8_t ist = 0;
      if (v == 8) ist = kIstDoubleFault;
      if (v == 2) ist = kIstNmi;
      if (v == 14) ist = kIstPageFault;
      set_gate(v, isr_stub_table[v], ist);
    }
    g_idt_built = true;
  }
  lidt({sizeof(g_idt) - 1, reinterpret_cast<uint64_t>(g_idt)});
}

}  // namespace arch
