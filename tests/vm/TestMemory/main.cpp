// Port of Toro's tests/memory/TestMemory (toro-spec §3.3 and §3.5): the five PASSED lines, plus
// TestGetMem-5, ours: after freeing everything TestGetMem-4 took, the core's memory is whole
// again (in use back to where it was, and a block as large as the largest before fits).
#include <toro.h>

namespace {

int g_failed = 0;

void Report(const char* name, int n, bool ok) {
  WriteDebug("%p-%d: %p\n", name, n, ok ? "PASSED" : "FAILED");
  if (!ok) WriteConsoleF("%p-%d: FAILED\n", name, n);  // on the console too, at once
  if (!ok) ++g_failed;
}

}  // namespace

int main() {
  // The first debug line takes this core's debug ring from the heap: before the "in use" count
  // that TestGetMem-5 compares with.
  WriteDebug("TestMemory: start\n");
  TMemoryStats before;
  SysGetMemoryStats(0, &before);

  Report("TestFreeMem", 0, ToroFreeMem(nullptr) == 1);
  Report("TestFreeMem", 1, ToroFreeMem(ToroGetMem(64)) != 1);
  void* zero = ToroGetMem(0);
  Report("TestGetMem", 2, zero != nullptr);
  ToroFreeMem(zero);
  Report("TestGetMem", 3, ToroGetMem(PtrUInt(2) << 30) == nullptr);

  // Allocate 64-byte blocks until there are none left, writing each; keep them in a list that
  // runs through the blocks themselves.
  void** list = nullptr;
  PtrUInt count = 0;
  for (;;) {
    void** block = static_cast<void**>(ToroGetMem(64));
    if (block == nullptr) break;
    block[0] = list;
    for (int i = 1; i < 8; ++i) block[i] = block;
    list = block;
    ++count;
  }
  bool intact = true;
  PtrUInt freed = 0;
  while (list != nullptr) {
    void** next = static_cast<void**>(list[0]);
    for (int i = 1; i < 8; ++i) intact = intact && list[i] == list;
    ToroFreeMem(list);
    list = next;
    ++freed;
  }
  WriteConsoleF("TestGetMem: %d blocks of 64 bytes\n", count);
  Report("TestGetMem", 4, count > 1000 && intact && freed == count);

  TMemoryStats after;
  SysGetMemoryStats(0, &after);
  WriteConsoleF("TestGetMem: in use %d -> %d bytes, largest free block %d -> %d bytes\n", before.BytesInUse,
                after.BytesInUse, before.LargestFreeBlock, after.LargestFreeBlock);
  void* whole = ToroGetMem(PtrUInt(before.LargestFreeBlock));
  Report("TestGetMem", 5, after.BytesInUse == before.BytesInUse && whole != nullptr);
  ToroFreeMem(whole);
  return g_failed;
}
