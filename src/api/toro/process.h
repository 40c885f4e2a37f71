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

#include <toro/types.h>

struct TThread;  // opaque: a thread's record; its address is its TThreadID
using PThread = TThread*;
struct TCPU;  // opaque: a core's per-CPU record (64-byte aligned)
using PCPU = TCPU*;

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
