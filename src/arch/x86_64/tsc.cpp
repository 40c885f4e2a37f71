#include <arch/x86_64/apic.h>
#include <arch/x86_64/cpu.h>
#include <arch/x86_64/tsc.h>

namespace arch {
namespace {

constexpr uint64_t kPitHz = 1193182;

uint64_t from_cpuid_15() {
  if (cpuid(0).eax < 0x15) return 0;
  const CpuidResult r = cpuid(0x15);  // eax = denominator, ebx = numerator, ecx = crystal Hz
  if (r.eax == 0 || r.ebx == 0 || r.ecx == 0) return 0;
  return uint64_t(r.ecx) * r.ebx / r.eax;
}

uint64_t from_hypervisor_leaf() {
  if (!(cpuid(1).ecx & (1u << 31))) return 0;  // not under a hypervisor
  if (cpuid(0x40000000).eax < 0x40000010) return 0;
  return uint64_t(cpuid(0x40000010).eax) * 1000;  // TSC kHz
}

// PIT channel 2 in mode 0, gated by port 0x61 bit 0; bit 5 goes high when it reaches zero.
uint64_t from_pit() {
  const uint8_t port61 = inb(0x61);
  if (port61 == 0xFF) return 0;                  // nothing decodes the port: no PIT
  const uint32_t count = uint32_t(kPitHz / 50);  // 20 ms
  outb(0x61, uint8_t((port61 & ~0x02) | 0x01));  // speaker off, gate on
  outb(0x43, 0xB0);                              // channel 2, lobyte/hibyte, mode 0
  outb(0x42, uint8_t(count));
  outb(0x42, uint8_t(count >> 8));
  const uint8_t gate = uint8_t(inb(0x61) & ~0x01);
  outb(0x61, gate);  // a rising gate edge (re)starts the count
  outb(0x61, uint8_t(gate | 1));
  const uint64_t start = rdtsc();
  uint64_t now = start;
  while (!(inb(0x61) & 0x20)) {
    now = rdtsc();
    if (now - start > (uint64_t(1) << 36)) return 0;  // ~20 s even at 3 GHz: the PIT never fired
  }
  now = rdtsc();
  outb(0x61, port61);
  return (now - start) * kPitHz / count;
}

uint8_t rtc_read(uint8_t reg) {
  outb(0x70, uint8_t(0x80 | reg));  // NMI stays masked
  return inb(0x71);
}

void rtc_write(uint8_t reg, uint8_t value) {
  outb(0x70, uint8_t(0x80 | reg));
  outb(0x71, value);
}

// The RTC's periodic flag (register C bit 6) at 1024 Hz (register A rate 6 on the 32.768 kHz
// base; MC146818A datasheet, table 3): 32 periods = 31.25 ms of TSC. PIE is set so the RTC runs
// the periodic timer; its IRQ 8 stays masked at the 8259 and the I/O APIC.
uint64_t from_rtc() {
  const uint8_t a = rtc_read(0x0A), b = rtc_read(0x0B);
  if (a == 0xFF && b == 0xFF) return 0;  // no RTC
  rtc_write(0x0A, uint8_t((a & 0xF0) | 0x06));
  rtc_write(0x0B, uint8_t(b | 0x40));
  rtc_read(0x0C);  // clear a stale flag
  const uint64_t limit = uint64_t(1) << 34;
  auto wait_period = [&](uint64_t since) {
    while (!(rtc_read(0x0C) & 0x40)) {
      if (rdtsc() - since > limit) return false;
    }
    return true;
  };
  uint64_t result = 0;
  if (wait_period(rdtsc())) {
    const uint64_t start = rdtsc();
    int periods = 0;
    while (periods < 32 && wait_period(start)) ++periods;
    if (periods == 32) result = (rdtsc() - start) * 1024 / 32;
  }
  rtc_write(0x0B, b);
  rtc_write(0x0A, a);
  rtc_read(0x0C);
  return result;
}

}  // namespace

namespace {
uint64_t g_tsc_hz = 0;  // written once at boot, before other cores start
}  // namespace

uint64_t tsc_hz() { return g_tsc_hz; }

TscCalibration calibrate_tsc() {
  TscCalibration c;
  if ((c.hz = from_cpuid_15()) != 0) {
    c.source = "CPUID 0x15";
  } else if ((c.hz = from_hypervisor_leaf()) != 0) {
    c.source = "hypervisor leaf";
  } else if ((c.hz = from_pit()) != 0) {
    c.source = "PIT";
  } else if ((c.hz = from_rtc()) != 0) {
    c.source = "RTC";
  }
  g_tsc_hz = c.hz;
  return c;
}

uint64_t calibrate_lapic_timer(uint64_t tsc_hz) {
  const uint64_t window = ms_to_cycles(10, tsc_hz);
  lapic_timer_start_free_running();
  const uint64_t start = rdtsc();
  const uint32_t first = lapic_timer_current();
  while (rdtsc() - start < window) cpu_relax();
  const uint32_t last = lapic_timer_current();
  const uint64_t elapsed = rdtsc() - start;
  lapic_timer_stop();
  return elapsed == 0 ? 0 : uint64_t(first - last) * 1000000 / elapsed;
}

}  // namespace arch
