#include <arch/x86_64/cpu.h>
#include <arch/x86_64/power.h>
#include <arch/x86_64/tsc.h>
#include <drivers/rtc/cmos_rtc.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/percpu.h>
#include <kernel/shutdown.h>
#include <lib/pascal.h>
#include <sched/scheduler.h>
#include <toro/arch.h>

static_assert(MAX_CPU == LongInt(arch::kMaxCpus), "PerCPUVar has a row per core the kernel can run");

namespace {
klib::DateTime to_datetime(const TNow& t) { return {t.Year, t.Month, t.Day, t.Hour, t.Min, t.Sec}; }

void spin_cycles(uint64_t cycles) {
  const uint64_t start = arch::rdtsc();
  while (arch::rdtsc() - start < cycles) arch::cpu_relax();
}
}  // namespace

void Now(PNow Data) {
  if (Data == nullptr) return;
  klib::DateTime t{1970, 1, 1, 0, 0, 0};
  if (!drivers::cmos_read_time(&t)) t = {1970, 1, 1, 0, 0, 0};
  *Data = {t.second, t.minute, t.hour, t.day, t.month, t.year};
}

LongInt SecondsBetween(const TNow& ANow, const TNow& AThen) {
  const int64_t s = klib::seconds_between(to_datetime(ANow), to_datetime(AThen));
  return s > INT32_MAX ? INT32_MAX : LongInt(s);
}

LongInt GetMemoryRegion(LongInt ID, PMemoryRegion Buffer) {
  const auto& map = kernel::g_boot_info.memory;
  if (Buffer == nullptr || ID < 0 || size_t(ID) >= map.size()) return 0;
  const arch::MemoryRegion& r = map[size_t(ID)];
  *Buffer = {r.base, r.length, Word(r.type)};
  return LongInt(sizeof(TMemoryRegion));
}

TAvailableMemory::operator QWord() const { return kernel::g_boot_info.memory.usable_bytes(); }

void InttoStr(PtrUInt Value, PXChar buff) { klib::int_to_str(Value, buff); }

Boolean StrCmp(const XChar* p1, const XChar* p2, LongInt Len) { return klib::str_cmp(p1, p2, Len); }

void StrConcat(const XChar* left, const XChar* right, PXChar dst) { klib::str_concat(left, right, dst); }

void Delay(LongInt ms) { spin_cycles(arch::ms_to_cycles(ms < 0 ? 0 : uint64_t(ms), arch::tsc_hz())); }

void DelayMicro(LongInt us) {
  const uint64_t hz = arch::tsc_hz();
  const uint64_t n = us < 0 ? 0 : uint64_t(us);
  spin_cycles(n * (hz / 1000000) + n * (hz % 1000000) / 1000000);
}

void hlt() { arch::halt(); }

void ReadBarrier() { arch::load_fence(); }

void WriteBarrier() { arch::store_fence(); }

void ReadWriteBarrier() { arch::full_fence(); }

QWord SpinLock(QWord CmpVal, QWord NewVal, QWord& addval) { return klib::spin_lock(CmpVal, NewVal, &addval); }

void SpinUnLock(QWord& addval, QWord Value) { klib::spin_unlock(Value, &addval); }

alignas(64) QWord PerCPUVar[MAX_CPU][MAX_PERCPU_VAR];

void SetPerCPUVar(Byte Off, QWord Value) {
  if (Off >= MAX_PERCPU_VAR) return;
  // Only the calling core writes its row; another core reading it needs its own ordering.
  PerCPUVar[kernel::current_core()][Off] = Value;
}

void ShutdownInQemu() {
  sched::before_yield();  // what the caller held (a blocking send) leaves first
  kernel::system_exit(0);
}

void Reboot() {
  kernel::console_flush();
  arch::reboot();
}
