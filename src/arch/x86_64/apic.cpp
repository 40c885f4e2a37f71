#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/tsc.h>

namespace arch {
namespace {

// Register offsets (SDM vol. 3 table 10-1). In x2APIC mode register `offset` is MSR
// 0x800 + offset / 16 (table 10-6), and the ICR is one 64-bit MSR.
constexpr uint32_t kId = 0x20, kEoi = 0xB0, kSvr = 0xF0, kIcrLow = 0x300, kIcrHigh = 0x310;
constexpr uint32_t kLvtTimer = 0x320, kTimerInitial = 0x380, kTimerCurrent = 0x390, kTimerDivide = 0x3E0;
constexpr uint32_t kTpr = 0x80, kLvtLint0 = 0x350, kLvtLint1 = 0x360;
constexpr uint32_t kApicBaseMsr = 0x1B, kX2ApicMsrBase = 0x800, kTscDeadlineMsr = 0x6E0;
constexpr uint64_t kApicEnable = 1u << 11, kApicExtended = 1u << 10;  // IA32_APIC_BASE: EN, EXTD
constexpr uint32_t kTimerOneShot = 0, kTimerTscDeadline = 2u << 17;   // LVT timer mode (bits 17-18)
constexpr uint32_t kDeliveryPending = 1u << 12;                       // ICR delivery status (xAPIC only)

// Written by lapic_choose() on the boot core before other cores start; read-only after.
struct LapicState {
  uint64_t mmio = 0xFEE00000;  // xAPIC register page (IA32_APIC_BASE's address once chosen)
  LapicModes modes;
};
constinit LapicState g_lapic;

volatile uint32_t& mmio(uint64_t base, uint32_t offset) {
  return *reinterpret_cast<volatile uint32_t*>(static_cast<uintptr_t>(base + offset));
}

// Out of line: one copy of the mode test instead of one per register access (image size).
[[gnu::noinline]] uint32_t read(uint32_t offset) {
  if (g_lapic.modes.x2apic) return uint32_t(rdmsr(kX2ApicMsrBase + offset / 16));
  return mmio(g_lapic.mmio, offset);
}

[[gnu::noinline]] void write(uint32_t offset, uint32_t value) {
  if (g_lapic.modes.x2apic) {
    wrmsr(kX2ApicMsrBase + offset / 16, value);
  } else {
    mmio(g_lapic.mmio, offset) = value;
  }
}

void wait_icr_idle() {
  if (g_lapic.modes.x2apic) return;  // x2APIC has no delivery status: the write is the send
  for (int i = 0; i < 1000000 && (read(kIcrLow) & kDeliveryPending); ++i) cpu_relax();
}

// Fixed/INIT/STARTUP to one CPU by physical APIC ID. xAPIC: the high half (destination in bits
// 24-31) then the low half, whose write sends. x2APIC: one MSR write with the 32-bit destination
// in the high half, after the fence that makes it wait for earlier stores (a woken core must see
// what the IPI announces: scheduler.cpp wake()).
void send_icr(uint32_t apic_id, uint32_t low) {
  wait_icr_idle();
  if (g_lapic.modes.x2apic) {
    fence_before_apic_msr();
    wrmsr(kX2ApicMsrBase + kIcrLow / 16, uint64_t(apic_id) << 32 | low);
    return;
  }
  write(kIcrHigh, apic_id << 24);
  write(kIcrLow, low);
}

// Globally enabled, and in x2APIC mode if chosen. xAPIC first, then x2APIC: going from disabled
// straight to x2APIC is an invalid transition (SDM vol. 3 §10.12.5). An AP starts in xAPIC mode
// whatever the boot core runs in.
void enter_x2apic() {
  const uint64_t base = rdmsr(kApicBaseMsr) | kApicEnable;
  wrmsr(kApicBaseMsr, base);
  if (g_lapic.modes.x2apic && !(base & kApicExtended)) wrmsr(kApicBaseMsr, base | kApicExtended);
}

LapicModes lapic_offered() {
  const uint32_t ecx = cpuid(1).ecx;  // bit 21: x2APIC, bit 24: TSC-deadline
  return {(ecx & (1u << 21)) != 0, (ecx & (1u << 24)) != 0};
}

}  // namespace

LapicModes lapic_choose(bool want_x2apic, bool want_tsc_deadline) {
  const LapicModes offered = lapic_offered();
  const uint64_t base = rdmsr(kApicBaseMsr);
  g_lapic.mmio = base & 0xFFFFF000ull;
  g_lapic.modes.x2apic = (offered.x2apic && want_x2apic) || (base & kApicExtended) != 0;
  g_lapic.modes.tsc_deadline = offered.tsc_deadline && want_tsc_deadline;
  enter_x2apic();  // this core's registers follow the choice from here on (timer calibration)
  return g_lapic.modes;
}

void lapic_init() {
  enter_x2apic();
  write(kTpr, 0);                        // accept every priority
  write(kSvr, 0x100 | kVectorSpurious);  // software enable + spurious vector
  write(kTimerDivide, 0x3);              // divide by 16
  lapic_timer_stop();                    // stopped until armed; unmasked, so arming is one write
  write(kLvtLint0, 1u << 16);            // masked (no ExtINT from the 8259)
  write(kLvtLint1, 4u << 8);             // NMI (QEMU's monitor `nmi` arrives here)
}

uint32_t lapic_id() {
  const uint64_t base = rdmsr(kApicBaseMsr);
  if (base & kApicExtended) return uint32_t(rdmsr(kX2ApicMsrBase + kId / 16));  // 32-bit x2APIC ID
  return mmio(base & 0xFFFFF000ull, kId) >> 24;
}

void lapic_eoi() { write(kEoi, 0); }

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) {
  InterruptGuard no_interrupts;  // xAPIC: the two ICR writes belong together
  send_icr(apic_id, vector);     // fixed delivery, physical destination, edge
}

void lapic_send_init(uint32_t apic_id) {
  send_icr(apic_id, 0x4500);  // INIT, level assert
  wait_icr_idle();
}

void lapic_send_startup(uint32_t apic_id, uint8_t vector) {
  send_icr(apic_id, 0x4600 | vector);  // STARTUP
  wait_icr_idle();
}

bool lapic_ipi_pending() { return !g_lapic.modes.x2apic && (read(kIcrLow) & kDeliveryPending); }

void lapic_timer_arm_at(uint64_t tsc_deadline, uint64_t lapic_per_mcycles) {
  if (g_lapic.modes.tsc_deadline) {
    wrmsr(kTscDeadlineMsr, tsc_deadline == 0 ? 1 : tsc_deadline);  // 0 would disarm
    return;
  }
  const uint64_t now = rdtsc();
  write(kTimerInitial, cycles_to_lapic_ticks(tsc_deadline > now ? tsc_deadline - now : 1, lapic_per_mcycles));
}

void lapic_timer_stop() {
  write(kTimerInitial, 0);
  if (g_lapic.modes.tsc_deadline) {
    write(kLvtTimer, kTimerTscDeadline | kVectorTimer);
    // The mode change must reach the APIC before a deadline is written (SDM vol. 3 §10.5.4.1).
    fence_before_apic_msr();
    wrmsr(kTscDeadlineMsr, 0);  // disarmed
  } else {
    write(kLvtTimer, kTimerOneShot | kVectorTimer);
  }
}

uint32_t lapic_timer_current() { return read(kTimerCurrent); }

void lapic_timer_start_free_running() {
  write(kTimerDivide, 0x3);                     // divide by 16, as lapic_init() sets it
  write(kLvtTimer, (1u << 16) | kVectorTimer);  // masked, one-shot: count only
  write(kTimerInitial, 0xFFFFFFFF);
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
