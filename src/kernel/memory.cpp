#include <arch/x86_64/cpu.h>
#include <arch/x86_64/paging.h>
#include <arch/x86_64/spinlock.h>
#include <arch/x86_64/tsc.h>
#include <kernel/console.h>
#include <kernel/memory.h>
#include <kernel/shutdown.h>
#include <lib/sort.h>

#include <atomic>
#include <cstring>
#include <new>

extern "C" char __image_start[], __image_end[];

namespace kernel {
namespace {

mm::Heap g_heap;
// Out-of-memory lines: at most one a second per core, with the count of failures in between.
struct OomReport {
  uint64_t last_tsc;
  uint64_t failures;  // since the last line
  bool reported;
};
OomReport g_oom[mm::kMaxCores] = {};

// The guard pages of the thread stacks, with the thread each belongs to, so a fault there is
// reported as that thread's stack overflow. A list of chunks: the first in .bss, more from the
// heap as threads grow in number (never freed; a free slot is reused), so the count of live
// threads has no fixed bound. Writers hold g_guard_lock; guard_page_owner() reads without it on
// fault paths: a chunk is published (release) only once initialised, and a removal copies the
// last entry into the freed slot before lowering the count, so a reader never misses a live one.
struct Guard {
  uint64_t page;
  uint64_t owner;
};
struct GuardChunk {
  static constexpr size_t kEntries = 254;  // a chunk is 4 KiB
  Guard entries[kEntries] = {};
  std::atomic<GuardChunk*> next{nullptr};
  uint64_t reserved = 0;
};
static_assert(sizeof(GuardChunk) <= 4096);
constinit GuardChunk g_first_guards;  // constant-initialised: no constructor runs before boot
std::atomic<size_t> g_guard_count{0};
arch::SpinLock g_guard_lock;  // page-table edits and the guard list are shared by all cores

Guard* guard_slot(size_t index) {
  GuardChunk* c = &g_first_guards;
  for (; index >= GuardChunk::kEntries; index -= GuardChunk::kEntries) {
    c = c->next.load(std::memory_order_acquire);
    if (c == nullptr) return nullptr;
  }
  return &c->entries[index];
}

uint64_t zeroed_heap_page(void*) {
  void* p = allocate(4096, 4096);
  if (p == nullptr) return 0;
  memset(p, 0, 4096);
  return reinterpret_cast<uintptr_t>(p);
}

void on_heap_error(mm::HeapError error, const void* ptr, uint32_t core, void*) {
  panic("ToroFreeMem: %p: %h (detected by Core#%d)", mm::heap_error_name(error), ptr, core);
}

// Cuts [cut_base, cut_end) out of the ranges in `out` (at most one split per cut).
size_t cut(mm::MemoryRange* out, size_t n, size_t cap, uint64_t cut_base, uint64_t cut_end) {
  for (size_t i = 0; i < n; ++i) {
    mm::MemoryRange& r = out[i];
    if (cut_end <= r.base || cut_base >= r.end) continue;
    if (cut_base > r.base && cut_end < r.end && n < cap) {
      out[n++] = {cut_end, r.end};
      r.end = cut_base;
    } else if (cut_base <= r.base) {
      r.base = cut_end < r.end ? cut_end : r.end;
    } else {
      r.end = cut_base;
    }
  }
  return n;
}

}  // namespace

mm::Heap& heap() { return g_heap; }

void memory_init(const arch::BootInfo& boot, uint32_t cpu_count, mm::EarlyAllocator& early) {
  constexpr size_t kCap = arch::MemoryMap::kMaxRegions + 4;
  mm::MemoryRange ranges[kCap];
  size_t n = 0;
  for (const auto& r : boot.memory) {
    if (r.usable() && r.end() > (1u << 20) && n < kCap) {
      ranges[n++] = {r.base < (1u << 20) ? (1u << 20) : r.base, r.end()};
    }
  }
  n = cut(ranges, n, kCap, reinterpret_cast<uint64_t>(__image_start), reinterpret_cast<uint64_t>(__image_end));
  n = cut(ranges, n, kCap, early.start(), early.start() + early.used());
  // Sorted by address (the cuts may have appended).
  klib::insertion_sort(ranges, n, [](const mm::MemoryRange& a, const mm::MemoryRange& b) { return a.base < b.base; });
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += ranges[i].end - ranges[i].base;
  if (!g_heap.init(ranges, n, cpu_count, on_heap_error, nullptr)) {
    panic("not enough memory for %d cores: %d MB usable", cpu_count, total >> 20);
  }
  early.seal();
  printk("System Memory ... %d MB\n", boot.memory.usable_bytes() >> 20);
  printk("Memory per Core ... %d MB\n", (total / cpu_count) >> 20);
  for (uint32_t core = 0; core < cpu_count; ++core) {
    uint64_t base, size;
    for (uint32_t i = 0; g_heap.region(core, i, &base, &size); ++i) {
      printk("Core#%d, region addr: %h, Size: %d bytes\n", core, base, size);
    }
  }
}

void* allocate(size_t size, size_t align) {
  const uint32_t core = current_core();
  if (align == 0 || (align & (align - 1)) != 0 || align > mm::kMaxAlignment) {
    printk("ToroGetMemAligned: alignment %d is not a power of two up to %d\n", align, mm::kMaxAlignment);
    return nullptr;
  }
  void* p = g_heap.allocate(core, size, align);
  if (p == nullptr && g_heap.initialized()) {
    // The heap has already given back every cached block and empty slab and tried pages of
    // their own for a small block: what is free is either too small a span or blocks of other
    // sizes in slabs still in use.
    OomReport& r = g_oom[core];
    ++r.failures;
    const uint64_t now = arch::rdtsc();
    if (!r.reported || now - r.last_tsc >= arch::tsc_hz()) {
      const mm::HeapStats s = g_heap.stats(core, core);
      printk(
          "ToroGetMem: we ran out of memory!!! Core#%d asked for %d bytes; it has %d bytes free (%d in "
          "blocks of other sizes), largest free span %d bytes, of %d bytes\n",
          core, size, s.bytes_free, s.bytes_free_in_blocks, s.largest_free_block, s.region_bytes);
      if (r.failures > 1) printk("ToroGetMem: Core#%d: %d requests failed since the last report\n", core, r.failures);
      r.reported = true;
      r.last_tsc = now;
      r.failures = 0;
    }
  }
  return p;
}

void release(void* ptr) { g_heap.free(current_core(), ptr); }

void* allocate_for(uint32_t core, size_t size, size_t align) { return g_heap.allocate(core, size, align); }

void* allocate_stack(size_t size, uint64_t owner) {
  size = (size + 4095) & ~size_t(4095);
  // Over 32 KiB, so a page span: page aligned, and its first page becomes the guard.
  char* block = static_cast<char*>(allocate(size + 4096 < 64 * 1024 ? 64 * 1024 : size + 4096, 4096));
  if (block == nullptr) return nullptr;
  const uint64_t guard = reinterpret_cast<uintptr_t>(block);
  arch::IrqSaveGuard lock(g_guard_lock);
  const size_t n = g_guard_count.load(std::memory_order_relaxed);
  Guard* slot = guard_slot(n);
  if (slot == nullptr) {  // every chunk full: one more, linked after the last
    auto* chunk = static_cast<GuardChunk*>(allocate(sizeof(GuardChunk), 64));
    if (chunk == nullptr) {
      release(block);
      return nullptr;
    }
    new (chunk) GuardChunk();
    GuardChunk* last = &g_first_guards;
    while (GuardChunk* next = last->next.load(std::memory_order_relaxed)) last = next;
    last->next.store(chunk, std::memory_order_release);
    slot = &chunk->entries[0];
  }
  arch::PageTableBuilder tables(arch::read_cr3() & arch::kPageAddressMask, zeroed_heap_page, nullptr);
  if (!tables.unmap_4k(guard)) {
    release(block);
    return nullptr;
  }
  // Other cores may hold a stale TLB entry only if they touched this page, which was free heap
  // memory until now; the owner core flushes its own.
  arch::invlpg(guard);
  *slot = {guard, owner};
  g_guard_count.store(n + 1, std::memory_order_release);  // the entry before the count
  return block + 4096;
}

void free_stack(void* stack) {
  if (stack == nullptr) return;
  const uint64_t guard = reinterpret_cast<uintptr_t>(stack) - 4096;
  {
    arch::IrqSaveGuard lock(g_guard_lock);
    arch::PageTableBuilder tables(arch::read_cr3() & arch::kPageAddressMask, zeroed_heap_page, nullptr);
    tables.identity_map(guard, guard + 4096, arch::kPageWritable);
    arch::invlpg(guard);
    const size_t n = g_guard_count.load(std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      Guard* g = guard_slot(i);
      if (g->page == guard) {
        *g = *guard_slot(n - 1);  // the last entry first, then the count: see the top
        g_guard_count.store(n - 1, std::memory_order_release);
        break;
      }
    }
  }
  release(reinterpret_cast<void*>(guard));
}

bool guard_page_owner(uint64_t address, uint64_t* owner) {
  const uint64_t page = address & ~uint64_t(4095);
  const size_t n = g_guard_count.load(std::memory_order_acquire);  // without the lock: fault paths
  for (size_t i = 0; i < n; ++i) {
    const Guard* g = guard_slot(i);
    if (g != nullptr && g->page == page) {
      *owner = g->owner;
      return true;
    }
  }
  return false;
}

}  // namespace kernel
