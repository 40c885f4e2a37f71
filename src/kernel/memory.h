// The kernel's memory: the early boot allocator until the heap exists, then one heap per core.
//
//   kernel::memory_init(boot_info, cpus, early);     // once, on the boot core
//   void* p = kernel::heap().allocate(kernel::current_core(), 100);
#pragma once

#include <arch/x86_64/boot_info.h>
#include <kernel/percpu.h>
#include <mm/early_alloc.h>
#include <mm/heap.h>

#include <cstddef>
#include <cstdint>

namespace kernel {

// Splits all usable RAM above 1 MiB, minus the image and what the early allocator handed out,
// between `cpu_count` cores and prints the memory banner lines. Panics if there is too little.
[[gnu::cold]] void memory_init(const arch::BootInfo& boot, uint32_t cpu_count, mm::EarlyAllocator& early);
mm::Heap& heap();

// Allocation for the kernel and the API: nullptr when out of memory, after logging once per
// core which core ran out and what it had.
void* allocate(size_t size, size_t align = 16);
// Frees on behalf of the calling core; a bad pointer stops the VM (heap error handler).
void release(void* ptr);
// Allocation from another core's memory, for its boot-time structures: only before that core
// runs (a core's heap is owner-only).
void* allocate_for(uint32_t core, size_t size, size_t align);

// A stack of `size` bytes (a multiple of 4 KiB) with an unmapped guard page below it, so that an
// overflow faults instead of overwriting what lies underneath; `owner` (a thread id) is named
// when the guard is hit. Returns the stack's lowest usable address, or nullptr.
void* allocate_stack(size_t size, uint64_t owner);
// Gives back a stack from allocate_stack (its guard page is mapped again).
void free_stack(void* stack);
// If `address` is in a registered guard page: true and the owner.
bool guard_page_owner(uint64_t address, uint64_t* owner);

}  // namespace kernel
