// Unit Arch (toro-spec §1.4): constants, time, the memory map, strings, barriers, a spin lock,
// per-CPU slots and leaving the machine.
//
//   TNow t; Now(&t); WriteConsoleF("%d:%d\n", t.Hour, t.Min);
//   char buf[21]; InttoStr(1234, buf); StrConcat("n=", buf, line);
//   Delay(5); ReadWriteBarrier(); SetPerCPUVar(0, 42);
#pragma once

#include <toro/types.h>

// Exception vectors.
constexpr Byte EXC_DIVBYZERO = 0, EXC_INT1 = 1, EXC_NMI = 2, EXC_INT3 = 3, EXC_OVERFLOW = 4, EXC_BOUND = 5,
               EXC_ILLEGALINS = 6, EXC_DEVNOTAVA = 7, EXC_DF = 8, EXC_STACKFAULT = 12, EXC_GENERALP = 13,
               EXC_PAGEFAUL = 14, EXC_FPUE = 16;
// TMemoryRegion.Flag: the E820 type; anything but MEM_AVAILABLE is not usable RAM.
constexpr Word MEM_AVAILABLE = 1;
constexpr Word MEM_RESERVED = 2;
// Toro C++ runs up to 64 cores (Toro: 8 in 2019, 16 in HEAD).
constexpr LongInt MAX_CPU = 64;
// The kernel maps RAM with 2 MiB pages (SysCacheRegion's granularity).
constexpr QWord PAGE_SIZE = 2 * 1024 * 1024;
// A cache line in QWORDs (64 bytes), Toro HEAD's padding unit.
constexpr LongInt CACHELINE_LEN = 8;
// QWORD slots per core in PerCPUVar (128 bytes, Toro HEAD's %gs area).
constexpr LongInt MAX_PERCPU_VAR = 16;
// The CPU speed Toro assumes when it cannot measure one (ours always measures: LocalCpuSpeed).
constexpr LongInt MAX_CPU_SPEED_MHZ = 2393;

// A date and time of day (Now).
struct TNow {
  LongInt Sec, Min, Hour, Day, Month, Year;
};
using PNow = TNow*;
// The RTC's date and time (CMOS on pc/q35; 01/01/1970 00:00:00 on a machine without one). Toro
// HEAD's hard-coded 27/02/1987 date is not kept. Nothing if Data is nil.
void Now(PNow Data);
// Seconds between two date-times, never negative (FPC's SecondsBetween).
LongInt SecondsBetween(const TNow& ANow, const TNow& AThen);

// One entry of the firmware memory map (after overlaps were resolved).
struct TMemoryRegion {
  QWord Base, Length;
  Word Flag;  // MEM_AVAILABLE or another E820 type
};
using PMemoryRegion = TMemoryRegion*;
// Copies region ID (0-based, Toro HEAD) into *Buffer and returns sizeof(TMemoryRegion); 0 if
// there is no such region or Buffer is nil.
LongInt GetMemoryRegion(LongInt ID, PMemoryRegion Buffer);
// Usable RAM in bytes, the sum of the MEM_AVAILABLE regions (Toro's AvailableMemory variable):
// reads as a QWord; in WriteConsoleF write QWord(AvailableMemory).
struct TAvailableMemory {
  operator QWord() const;
};
inline constexpr TAvailableMemory AvailableMemory{};

// Value in decimal, NUL-terminated, into buff (21 bytes suffice). Nothing if buff is nil.
void InttoStr(PtrUInt Value, PXChar buff);
// True if the first Len bytes of p1 and p2 are equal (exactly Len bytes, as Toro). Len <= 0:
// true; a nil pointer: false.
Boolean StrCmp(const XChar* p1, const XChar* p2, LongInt Len);
// dst := left + right, NUL-terminated; dst may be left. The caller sizes dst.
void StrConcat(const XChar* left, const XChar* right, PXChar dst);

// Busy-wait (the thread keeps the core) for ms milliseconds / us microseconds, on the TSC.
// A negative count waits 0.
void Delay(LongInt ms);
void DelayMicro(LongInt us);
// Halts the core until the next interrupt (of any kind).
void hlt();
// lfence, sfence, and a full fence (mfence).
void ReadBarrier();
void WriteBarrier();
void ReadWriteBarrier();
// Compare-and-swap addval from CmpVal to NewVal until it succeeds; returns CmpVal. Toro's
// convention: 3 = free, 4 = busy: SpinLock(3, 4, lock); ...; SpinUnLock(lock, 3). The acquire
// pairs with SpinUnLock's release (a plain "lock := 3" is not a release in C++).
QWord SpinLock(QWord CmpVal, QWord NewVal, QWord& addval);
// Not in Toro: the releasing store for SpinLock.
void SpinUnLock(QWord& addval, QWord Value = 3);

// Per-core QWORD slots for the application (64-byte aligned rows; Toro HEAD's PerCPUVar, whose
// first slots the kernel used: ours are all the program's). SetPerCPUVar writes slot Off of the
// calling core (Toro: indexed by APIC ID); Off >= MAX_PERCPU_VAR is ignored.
alignas(64) extern QWord PerCPUVar[MAX_CPU][MAX_PERCPU_VAR];
void SetPerCPUVar(Byte Off, QWord Value);

// Powers the VM off with exit code 0 from any thread, as a return from main would
// (ShutdownProcedure, then the System_Exit line). Toro 2019: isa-debug-exit; HEAD: a triple fault.
[[noreturn]] void ShutdownInQemu();
// Resets the machine (under tools/toro run, QEMU -no-reboot: the VM ends with status 0).
[[noreturn]] void Reboot();
