#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>

namespace arch {
namespace {

// Register offsets (SDM vol. 3 table 10-1).
constexpr uint32_t kId = 0x20, kEoi = 0xB0, kSvr = 0xF0, kIcrLow = 0x300, kIcrHigh = 0x310;
constexpr uint32_t kLvtTimer = 0x320, kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3E0;
constexpr uint32_t kTpr = 0x80;

uint64_t lapic_base() { return rdmsr(0x1B) & 0xFFFFF000ull; }  // IA32_APIC_BASE

volatile uint32_t& reg(uint32_t offset) {
  return *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(lapic_base() + offset));
}

void wait_icr_idle() {
  for (int i = 0; i < 1000000 && (reg(kIcrLow) & (1u << 12)); ++i) cpu_relax();  // delivery status
}

}  // namespace

void lapic_init() {
  wrmsr(0x1B, rdmsr(0x1B) | (1u << 11));  // global enable
  reg(kTpr) = 0;                          // accept every priority
  reg(kSvr) = 0x100 | kVectorSpurious;    // software enable + spurious vector
  reg(kTimerInitial) = 0;                 // stopped until armed
  reg(kLvtTimer) = kVectorTimer;          // one-shot, unmasked: arming is one write
  reg(kTimerDivide) = 0x3;                // divide by 16
  reg(0x350) = 1u << 16;                  // LINT0 masked (no ExtINT from the 8259)
  reg(0x360) = 4u << 8;                   // LINT1: NMI (QEMU's monitor `nmi` arrives here)
}

uint32_t lapic_id() { return reg(kId) >> 24; }

void lapic_eoi() { reg(kEoi) = 0; }

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) {
  InterruptGuard no_interrupts;  // the two ICR writes belong together
  wait_icr_idle();
  reg(kIcrHigh) = apic_id << 24;
  reg(kIcrLow) = vector;  // fixed delivery, physical destination, edge
}

void lapic_send_init(uint32_t apic_id) {
  wait_icr_idle();
  reg(kIcrHigh) = apic_id << 24;
  reg(kIcrLow) = 0x4500;  // INIT, level assert
  wait_icr_idle();
}

void lapic_send_startup(uint32_t apic_id, uint8_t vector) {
  wait_icr_idle();
  reg(kIcrHigh) = apic_id << 24;
  reg(kIcrLow) = 0x4600 | vector;  // STARTUP
  wait_icr_idle();
}

bool lapic_ipi_pending() { return reg(kIcrLow) & (1u << 12); }

void lapic_timer_arm(uint32_t ticks) { reg(kTimerInitial) = ticks == 0 ? 1 : ticks; }

void lapic_timer_stop() {
  reg(kTimerInitial) = 0;
  reg(kLvtTimer) = kVectorTimer;
}

uint32_t lapic_timer_current() { return reg(kTimerCurrent); }

void lapic_timer_start_free_running() {
  reg(kTimerDivide) = 0x3;                     // divide by 16, as lapic_init() sets it
  reg(kLvtTimer) = (1u << 16) | kVectorTimer;  // masked: count only
  reg(kTimerInitial) = 0xFFFFFFFF;
}

bool ioapic_route(uint64_t base, uint32_t pin, uint8_t vector, uint32_t apic_id, bool level, bool active_low) {
  if (base == 0) return false;
  auto* select = reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base));
  auto* window = reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base + 0x10));
  *select = 1;
  const uint32_t version = *window;
  if (version == 0xFFFFFFFF || pin > ((version >> 16) & 0xFF)) return false;
  *select = 0x11 + 2 * pin;
  *window = apic_id << 24;
  *select = 0x10 + 2 * pin;
  *window = vector | (level ? 1u << 15 : 0) | (active_low ? 1u << 13 : 0);  // unmasked
  return true;
}

uint32_t ioapic_mask_all(uint64_t base) {
  if (base == 0) return 0;
  auto* select = reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base));
  auto* window = reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base + 0x10));
  *select = 1;  // IOAPICVER: bits 16-23 = maximum redirection entry
  const uint32_t version = *window;
  if (version == 0xFFFFFFFF) return 0;
  const uint32_t entries = ((version >> 16) & 0xFF) + 1;
  for (uint32_t i = 0; i < entries; ++i) {
    *select = 0x10 + 2 * i;
    *window = 1u << 16;  // masked
    *select = 0x11 + 2 * i;
    *window = 0;
  }
  return entries;
}

}  // namespace arch
