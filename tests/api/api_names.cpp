// The compile test of docs/API.md: every name listed there as same, differs or extension, with
// Toro's signature (as Toro C++ spells it). Compiled with the kernel's flags against <toro.h>; a
// name that goes missing or changes signature breaks the build. tests/api/check_inventory.py
// checks that this file and the table list the same names. Nothing here runs.
#include <toro.h>

#include <type_traits>

#define SIG(name, ...) static_assert(std::is_same_v<decltype(&name), __VA_ARGS__>, #name)

// Kernel / Arch
static_assert(EXC_DIVBYZERO == 0 && EXC_INT1 == 1 && EXC_NMI == 2 && EXC_INT3 == 3 && EXC_OVERFLOW == 4 &&
              EXC_BOUND == 5 && EXC_ILLEGALINS == 6 && EXC_DEVNOTAVA == 7 && EXC_DF == 8 && EXC_STACKFAULT == 12 &&
              EXC_GENERALP == 13 && EXC_PAGEFAUL == 14 && EXC_FPUE == 16);
static_assert(MEM_AVAILABLE == 1 && MEM_RESERVED == 2 && MAX_CPU_SPEED_MHZ == 2393 && CACHELINE_LEN == 8 &&
              MAX_PERCPU_VAR == 16 && PAGE_SIZE == 2 * 1024 * 1024 && MAX_CPU >= 16);
static_assert(std::is_same_v<decltype(TNow::Sec), LongInt> && std::is_same_v<decltype(TNow::Year), LongInt> &&
              sizeof(TNow) == 6 * sizeof(LongInt) && std::is_same_v<PNow, TNow*>);
static_assert(std::is_same_v<decltype(TMemoryRegion::Base), QWord> &&
              std::is_same_v<decltype(TMemoryRegion::Length), QWord> &&
              std::is_same_v<decltype(TMemoryRegion::Flag), Word> && std::is_same_v<PMemoryRegion, TMemoryRegion*>);
SIG(Now, void (*)(PNow));
SIG(SecondsBetween, LongInt (*)(const TNow&, const TNow&));
SIG(GetMemoryRegion, LongInt (*)(LongInt, PMemoryRegion));
static_assert(std::is_convertible_v<decltype(AvailableMemory), QWord>);
SIG(InttoStr, void (*)(PtrUInt, PXChar));
SIG(StrCmp, Boolean (*)(const XChar*, const XChar*, LongInt));
SIG(StrConcat, void (*)(const XChar*, const XChar*, PXChar));
SIG(read_rdtsc, QWord (*)());
SIG(hlt, void (*)());
SIG(ReadBarrier, void (*)());
SIG(WriteBarrier, void (*)());
SIG(ReadWriteBarrier, void (*)());
SIG(Delay, void (*)(LongInt));
SIG(DelayMicro, void (*)(LongInt));
SIG(SpinLock, QWord (*)(QWord, QWord, QWord&));
SIG(SpinUnLock, void (*)(QWord&, QWord));
static_assert(std::is_same_v<decltype(PerCPUVar), QWord[MAX_CPU][MAX_PERCPU_VAR]> && alignof(decltype(PerCPUVar)) >= 8);
SIG(SetPerCPUVar, void (*)(Byte, QWord));
SIG(ShutdownInQemu, void (*)());
SIG(Reboot, void (*)());
static_assert(std::is_same_v<decltype(LocalCpuSpeed), const Int64&>);
SIG(GetKernelParam, const char* (*)(LongInt));
SIG(KernelParamCount, LongInt (*)());

// Process
static_assert(std::is_same_v<PThread, TThread*> && std::is_same_v<PCPU, TCPU*> && alignof(TCPU) == 64);
static_assert(std::is_same_v<decltype(CPU), TCPU[MAX_CPU]>);
static_assert(tsSuspended == 1 && tsReady == 2 && tsZombie == 4 && tsIOPending == 5 && tsIdle == 6);
static_assert(std::is_same_v<TThreadFunc, PtrInt (*)(void*)> && std::is_same_v<TThreadID, PtrUInt>);
static_assert(std::is_same_v<decltype(CPU_COUNT), const LongInt&>);
SIG(BeginThread, TThreadID (*)(Pointer, SizeUInt, TThreadFunc, Pointer, DWORD, TThreadID&));
SIG(SysCreateThread, TThreadID (*)(SizeUInt, LongInt, TThreadFunc, Pointer));
SIG(SysGetCurrentThreadID, TThreadID (*)());
static_assert(std::is_same_v<decltype(static_cast<void (*)()>(&SysThreadSwitch)), void (*)()> &&
              std::is_same_v<decltype(static_cast<void (*)(Boolean)>(&SysThreadSwitch)), void (*)(Boolean)>);
SIG(Sleep, void (*)(LongInt));
SIG(SysSuspendThread, DWORD (*)(TThreadID));
SIG(SysResumeThread, DWORD (*)(TThreadID));
SIG(SysKillThread, DWORD (*)(TThreadID));
SIG(ThreadExit, void (*)(Boolean));
SIG(SysEndThread, void (*)(DWORD));
SIG(GetCurrentThread, PThread (*)());
SIG(GetCoreId, LongInt (*)());
SIG(GetCPU, PCPU (*)());
SIG(SysSetCoreIdle, void (*)());
static_assert(std::is_same_v<decltype(ShutdownProcedure), void (*&)()>);
SIG(ThreadSwitch, void (*)());
SIG(GetCurrentThreadId, TThreadID (*)());
SIG(SuspendThread, DWORD (*)(TThreadID));
SIG(ResumeThread, DWORD (*)(TThreadID));
SIG(KillThread, DWORD (*)(TThreadID));
SIG(EndThread, void (*)(DWORD));

// Console
SIG(PrintDecimal, void (*)(PtrUInt));
SIG(PutCtoSerial, void (*)(XChar));
SIG(FlushUp, void (*)());
SIG(ReadFromSerial, void (*)(XChar&));
static_assert(std::is_same_v<decltype(HeadLess), Boolean> && std::is_same_v<decltype(Color), Byte>);
SIG(EnabledConsole, void (*)());
SIG(DisabledConsole, void (*)());
SIG(CleanConsole, void (*)());

// Memory
SIG(ToroGetMem, Pointer (*)(PtrUInt));
SIG(ToroAllocMem, Pointer (*)(PtrUInt));
SIG(ToroFreeMem, LongInt (*)(Pointer));
SIG(NumaFreeMem, LongInt (*)(Pointer));
SIG(GetPointerSize, PtrUInt (*)(Pointer));
SIG(SysCacheRegion, Boolean (*)(Pointer, PtrUInt));
SIG(SysUnCacheRegion, Boolean (*)(Pointer, PtrUInt));
SIG(ToroGetMemAligned, Pointer (*)(PtrUInt, PtrUInt));
SIG(SysGetMemoryStats, Boolean (*)(LongInt, TMemoryStats*));

// Filesystem
static_assert(INODE_DIR == 1 && INODE_REG == 2 && SeekSet == 0 && SeekCur == 1 && SeekEof == 2 && O_RDONLY == 0 &&
              O_WRONLY == 1 && O_RDWR == 2 && MAX_DEV_NAME == 30 && MAX_INODES_IN_CACHE == 300 &&
              MAX_BUFFERS_IN_CACHE == 5000);
static_assert(std::is_same_v<PInode, TInode*> && std::is_same_v<THandle, PtrUInt> &&
              std::is_same_v<decltype(TInode::Size), Int64>);
SIG(DedicateBlockDriver, void (*)(const char*, LongInt));
SIG(SysMount, Boolean (*)(const char*, const char*, LongInt));
SIG(SysOpenFile, THandle (*)(const char*, LongInt));
SIG(SysReadFile, LongInt (*)(THandle, LongInt, Pointer));
SIG(SysWriteFile, LongInt (*)(THandle, LongInt, const void*));
SIG(SysSeekFile, LongInt (*)(THandle, LongInt, LongInt));
SIG(SysStatFile, LongInt (*)(const char*, PInode));
SIG(SysCloseFile, void (*)(THandle));
SIG(SysCreateFile, THandle (*)(const char*));
SIG(SysCreateDir, LongInt (*)(const char*));

// Network
static_assert(std::is_same_v<TIPAddress, DWORD> && sizeof(THardwareAddress) == 6 && SOCKET_DATAGRAM == 1 &&
              SOCKET_STREAM == 2 && std::is_same_v<PSocket, TSocket*> && std::is_same_v<TInitProc, void (*)()> &&
              std::is_same_v<TSocketProc, LongInt (*)(PSocket)> && std::is_same_v<PNetworkHandler, TNetworkHandler*>);
static_assert(std::is_same_v<decltype(TSocket::SourcePort), DWORD> &&
              std::is_same_v<decltype(TSocket::DestIp), TIPAddress> &&
              std::is_same_v<decltype(TSocket::Blocking), Boolean> &&
              std::is_same_v<decltype(TSocket::UserDefined), Pointer>);
SIG(_IPAddress, void (*)(const Byte*, TIPAddress&));
SIG(_IPAddresstoArray, void (*)(TIPAddress, Byte*));
SIG(SwapWORD, Word (*)(Word));
SIG(GetLocalMAC, THardwareAddress (*)());
SIG(ICMPSendEcho, LongInt (*)(TIPAddress, const void*, LongInt, Word, Word));
SIG(ICMPPoolPackets, PICMPReply (*)());
SIG(DedicateNetwork, Boolean (*)(const char*, const Byte*, const Byte*, const Byte*, TThreadFunc));
SIG(SysRegisterNetworkService, Boolean (*)(PNetworkHandler));
SIG(SysSocket, PSocket (*)(LongInt));
SIG(SysSocketBind, Boolean (*)(PSocket, TIPAddress, TIPAddress, LongInt));
SIG(SysSocketListen, Boolean (*)(PSocket, LongInt));
SIG(SysSocketAccept, PSocket (*)(PSocket));
SIG(SysSocketConnect, Boolean (*)(PSocket));
SIG(SysSocketRecv, LongInt (*)(PSocket, PChar, DWORD, DWORD));
SIG(SysSocketPeek, LongInt (*)(PSocket, PChar, DWORD));
SIG(SysSocketSend, LongInt (*)(PSocket, const char*, DWORD, DWORD));
SIG(IPStrtoArray, void (*)(const char*, Byte*));
SIG(GetMacAddress, PMachine (*)(TIPAddress));
static_assert(std::is_same_v<decltype(TMachine::IpAddress), TIPAddress> &&
              std::is_same_v<decltype(TMachine::HardAddress), THardwareAddress> && std::is_same_v<PMachine, TMachine*>);
SIG(SysSocketSelect, Boolean (*)(PSocket, LongInt));
SIG(SysSocketClose, void (*)(PSocket));
static_assert(std::is_same_v<PPacket, TPacket*> && std::is_same_v<decltype(TPacket::Size), LongInt> &&
              std::is_same_v<decltype(TPacket::Data), Pointer> && std::is_same_v<decltype(TPacket::Status), Boolean> &&
              std::is_same_v<decltype(TPacket::Ready), Boolean> && std::is_same_v<decltype(TPacket::Delete), Boolean> &&
              std::is_same_v<decltype(TPacket::Next), PPacket>);
SIG(SysNetworkRead, PPacket (*)());
SIG(SysNetworkSend, Boolean (*)(PPacket));
SIG(AllocatePacket, PPacket (*)(LongInt));

// Calls whose forms the signatures above cannot show: the format checks of WriteConsoleF and
// Panic, and both ToroReAllocMem forms (a variable is updated; any pointer value works).
void api_names_calls(char* p, const char* text) {
  WriteConsoleF("%d %s\n", 1, text);
  Panic(p == nullptr, "nil %d\n", 2);
  ToroReAllocMem(p, 10);
  Pointer q = ToroReAllocMem(p + 0, 20);
  q = NumaReAllocMem(q, 30);
  (void)q;
  TThread* t = GetCurrentThread();
  (void)t;
}

// Debug
SIG(DumpDebugRing, void (*)());
SIG(SetDebugRing, void (*)(PChar, LongInt));
[[maybe_unused]] static void UsesWriteDebug() { WriteDebug("%p: %d\n", "TestX", 1); }

// Memory: private heaps
SIG(XHeapAcquire, PXHeap (*)(Byte));
SIG(XHeapAlloc, Pointer (*)(PXHeap, PtrUInt));
SIG(XHeapFree, void (*)(PXHeap, Pointer));
SIG(XHeapRealloc, Pointer (*)(PXHeap, Pointer, PtrUInt));
SIG(XHeapRelease, void (*)(PXHeap));
SIG(XHeapStack, Boolean (*)(PXHeap));
SIG(XHeapUnstack, Boolean (*)(PXHeap));

// VirtIOBus
SIG(SendTo, void (*)(DWORD, const void*, DWORD));
SIG(RecvFrom, void (*)(DWORD, void*));
SIG(SendToCore, LongInt (*)(DWORD, const void*, DWORD));
SIG(RecvFromCore, LongInt (*)(DWORD, void*, DWORD, LongInt));
SIG(PollFromCore, LongInt (*)(DWORD, void*, DWORD));
static_assert(VIRTIO_CPU_MAX_PKT_SIZE == 1024 && VIRTIO_CPU_MAX_PKT_PAYLOAD_SIZE == 1020 &&
              VIRTIOBUS_MAX_MESSAGE == 1u << 20 && VIRTIOBUS_E_BAD_CORE < 0);
