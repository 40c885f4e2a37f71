// Threads and cores (toro-spec §1.5): one cooperative scheduler per core.
//
//   PtrInt Worker(void* param) { WriteConsoleF("on core %d\n", GetCoreId()); return 0; }
//   TThreadID id = SysCreateThread(0, 1, Worker, nullptr);   // default stack, core 1
//   SysThreadSwitch();                                         // let others run
//   Sleep(10);
//
// A thread runs until it yields (SysThreadSwitch, Sleep, SysSuspendThread, waiting for a remote
// creation) or exits. Creating a thread on another core goes through that pair of cores'
// mailbox and returns once the other core has created it. A core with nothing to run halts.
#pragma once

#include <toro/arch.h>
#include <toro/types.h>

struct TThread;  // opaque: a thread's record; its address is its TThreadID
using PThread = TThread*;
// A core's per-CPU record: opaque, two cache lines, 64-byte aligned.
struct alignas(64) TCPU {
  Byte Opaque[128];
};
using PCPU = TCPU*;
// Every core's record (Toro HEAD's CPU array); CPU[GetCoreId()] is GetCPU()'s.
extern TCPU CPU[MAX_CPU] asm("_ZN6kernel8g_percpuE");

// Thread states (TThread.State in Toro; tsIdle is 2019's).
constexpr Byte tsSuspended = 1, tsReady = 2, tsZombie = 4, tsIOPending = 5, tsIdle = 6;

// Number of cores running (Toro's CPU_COUNT).
extern const LongInt& CPU_COUNT;

// Creates a thread running Func(Arg) on core CPU (-1: the calling core) with a StackSize-byte
// stack (0: 64 KiB) that has a guard page below it. Returns its ID, 0 on failure (no such
// core, out of memory).
TThreadID SysCreateThread(SizeUInt StackSize, LongInt CPU, TThreadFunc Func, Pointer Arg);
// FPC's BeginThread: CreationFlags is the core (DWORD(-1): the calling core).
TThreadID BeginThread(Pointer SecurityAttributes, SizeUInt StackSize, TThreadFunc ThreadFunction, Pointer Parameter,
                      DWORD CreationFlags, TThreadID& ThreadID);
// Yields to the next ready thread of this core (the caller runs again after the others).
void SysThreadSwitch();
// Toro 2019's form: Idle only marked polling threads there; here it yields the same way.
inline void SysThreadSwitch(Boolean Idle) {
  (void)Idle;
  SysThreadSwitch();
}
// Toro HEAD: a thread with nothing to do. Yields; a core whose threads all wait halts by itself
// (Toro halted when no device interrupt came for 2 s, even with threads ready).
void SysSetCoreIdle();
// Sleeps at least Miliseg ms (the thread does not run; an idle core halts until it is due).
void Sleep(LongInt Miliseg);
// ThreadID 0 or the caller: suspends the caller until resumed. Another thread: it stops at its
// next yield. Returns 0, or DWORD(-1) if ThreadID is not a thread.
DWORD SysSuspendThread(TThreadID ThreadID);
DWORD SysResumeThread(TThreadID ThreadID);
// The thread exits the next time it yields (at once if it is the caller).
DWORD SysKillThread(TThreadID ThreadID);
// Ends the calling thread (Schedule is accepted for Toro compatibility; it always switches).
[[noreturn]] void ThreadExit(Boolean Schedule = true);
[[noreturn]] void SysEndThread(DWORD ExitCode);
PThread GetCurrentThread();
TThreadID SysGetCurrentThreadID();
// The calling core's number (0 .. CPU_COUNT - 1).
LongInt GetCoreId();
// The calling core's per-CPU record.
PCPU GetCPU();

// Toro HEAD's ShutdownProcedure: set by the program, called once when the VM shuts down (main
// returned, or an NMI such as QEMU monitor's `nmi`), before the System_Exit line. Not called on a Panic or a fault.
extern void (*&ShutdownProcedure)();

// The FPC RTL names Toro's examples call (FPC's thread manager maps them to the Sys* calls).
inline void ThreadSwitch() { SysThreadSwitch(); }
inline TThreadID GetCurrentThreadId() { return SysGetCurrentThreadID(); }
inline DWORD SuspendThread(TThreadID threadHandle) { return SysSuspendThread(threadHandle); }
inline DWORD ResumeThread(TThreadID threadHandle) { return SysResumeThread(threadHandle); }
inline DWORD KillThread(TThreadID threadHandle) { return SysKillThread(threadHandle); }
[[noreturn]] inline void EndThread(DWORD ExitCode = 0) { SysEndThread(ExitCode); }
