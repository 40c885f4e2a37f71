#include <arch/x86_64/paging.h>

namespace arch {
namespace {

uint64_t* table(uint64_t address) { return reinterpret_cast<uint64_t*>(static_cast<uintptr_t>(address)); }

constexpr unsigned pml4_index(uint64_t a) { return (a >> 39) & 511; }
constexpr unsigned pdpt_index(uint64_t a) { return (a >> 30) & 511; }
constexpr unsigned pd_index(uint64_t a) { return (a >> 21) & 511; }
constexpr unsigned pt_index(uint64_t a) { return (a >> 12) & 511; }

}  // namespace

PageTableBuilder::PageTableBuilder(AllocPage alloc, void* ctx) : alloc_(alloc), ctx_(ctx) {
  pml4_ = alloc_(ctx_);
  if (pml4_ == 0) ok_ = false;
}

uint64_t* PageTableBuilder::table_at(uint64_t* entry) {
  if (*entry & kPagePresent) return table(*entry & kPageAddressMask);
  const uint64_t page = alloc_(ctx_);
  if (page == 0) {
    ok_ = false;
    return nullptr;
  }
  *entry = page | kPagePresent | kPageWritable;
  return table(page);
}

uint64_t* PageTableBuilder::pd_for(uint64_t address) {
  if (!ok_ || address >= kMaxMappedAddress) return nullptr;
  uint64_t* pdpt = table_at(&table(pml4_)[pml4_index(address)]);
  if (pdpt == nullptr) return nullptr;
  return table_at(&pdpt[pdpt_index(address)]);
}

bool PageTableBuilder::map_4k(uint64_t address, uint64_t flags) {
  uint64_t* pd = pd_for(address);
  if (pd == nullptr) return false;
  uint64_t& pde = pd[pd_index(address)];
  if ((pde & kPagePresent) && (pde & kPageLarge)) return true;  // already covered by a 2 MiB page
  uint64_t* pt = table_at(&pde);
  if (pt == nullptr) return false;
  pt[pt_index(address)] = (address & kPageAddressMask) | flags | kPagePresent;
  return true;
}

bool PageTableBuilder::identity_map(uint64_t start, uint64_t end, uint64_t flags) {
  start &= ~(kPage4K - 1);
  end = (end + kPage4K - 1) & ~(kPage4K - 1);
  if (end > kMaxMappedAddress || start > end) {
    ok_ = false;
    return false;
  }
  flags &= ~kPageLarge;
  uint64_t a = start;
  while (a < end) {
    if ((a & (kPage2M - 1)) == 0 && end - a >= kPage2M) {
      uint64_t* pd = pd_for(a);
      if (pd == nullptr) return false;
      uint64_t& pde = pd[pd_index(a)];
      if (!(pde & kPagePresent) || (pde & kPageLarge)) {
        pde = a | flags | kPagePresent | kPageLarge;
        a += kPage2M;
        continue;
      }
      // A 4 KiB table already exists here: fill it page by page below.
    }
    if (!map_4k(a, flags)) return false;
    a += kPage4K;
  }
  return ok_;
}

uint64_t* PageTableBuilder::pte_for(uint64_t address) {
  uint64_t* pd = pd_for(address);
  if (pd == nullptr) return nullptr;
  uint64_t& pde = pd[pd_index(address)];
  if (!(pde & kPagePresent)) return nullptr;
  if (pde & kPageLarge) {
    // Split: a page table with the same 512 mappings and attributes.
    const uint64_t page = alloc_(ctx_);
    if (page == 0) {
      ok_ = false;
      return nullptr;
    }
    const uint64_t base = pde & kPageAddressMask & ~(kPage2M - 1);
    const uint64_t flags = pde & (kPageWritable | kPageWriteThrough | kPageCacheDisable);
    uint64_t* pt = table(page);
    for (unsigned i = 0; i < 512; ++i) pt[i] = (base + i * kPage4K) | flags | kPagePresent;
    pde = page | kPagePresent | kPageWritable;
  }
  return &table(pde & kPageAddressMask)[pt_index(address)];
}

bool PageTableBuilder::unmap_4k(uint64_t address) {
  uint64_t* pte = pte_for(address);
  if (pte == nullptr) return ok_;  // unmapped already (or out of memory: ok_ says which)
  *pte = 0;
  return true;
}

bool PageTableBuilder::set_read_only(uint64_t start, uint64_t end) {
  for (uint64_t a = start & ~(kPage4K - 1); a < end; a += kPage4K) {
    uint64_t* pte = pte_for(a);
    if (pte == nullptr) return false;
    *pte &= ~kPageWritable;
  }
  return true;
}

bool PageTableBuilder::translate(uint64_t root, uint64_t vaddr, uint64_t* paddr, bool* writable) {
  if (vaddr >= (1ull << 47)) return false;  // only the lower canonical half is ever mapped
  bool rw = true;
  auto leaf = [&](uint64_t entry, uint64_t size) {
    *paddr = (entry & kPageAddressMask & ~(size - 1)) + (vaddr & (size - 1));
    if (writable != nullptr) *writable = rw && (entry & kPageWritable);
    return true;
  };
  const uint64_t pml4e = table(root)[pml4_index(vaddr)];
  if (!(pml4e & kPagePresent)) return false;
  rw = rw && (pml4e & kPageWritable);
  const uint64_t pdpte = table(pml4e & kPageAddressMask)[pdpt_index(vaddr)];
  if (!(pdpte & kPagePresent)) return false;
  if (pdpte & kPageLarge) return leaf(pdpte, 1ull << 30);
  rw = rw && (pdpte & kPageWritable);
  const uint64_t pde = table(pdpte & kPageAddressMask)[pd_index(vaddr)];
  if (!(pde & kPagePresent)) return false;
  if (pde & kPageLarge) return leaf(pde, kPage2M);
  rw = rw && (pde & kPageWritable);
  const uint64_t pte = table(pde & kPageAddressMask)[pt_index(vaddr)];
  if (!(pte & kPagePresent)) return false;
  return leaf(pte, kPage4K);
}

bool PageTableBuilder::set_uncached(uint64_t root, uint64_t start, uint64_t end, bool uncached) {
  const uint64_t bits = kPageCacheDisable | kPageWriteThrough;
  bool all_mapped = true;
  uint64_t a = start & ~(kPage4K - 1);
  while (a < end) {
    if (a >= kMaxMappedAddress) return false;
    const uint64_t pml4e = table(root)[pml4_index(a)];
    const uint64_t pdpte = (pml4e & kPagePresent) ? table(pml4e & kPageAddressMask)[pdpt_index(a)] : 0;
    if (!(pdpte & kPagePresent)) {
      all_mapped = false;
      a = (a + (1ull << 30)) & ~((1ull << 30) - 1);
      continue;
    }
    uint64_t& pde = table(pdpte & kPageAddressMask)[pd_index(a)];
    if (!(pde & kPagePresent)) {
      all_mapped = false;
      a = (a + kPage2M) & ~(kPage2M - 1);
    } else if (pde & kPageLarge) {
      pde = uncached ? (pde | bits) : (pde & ~bits);
      a = (a + kPage2M) & ~(kPage2M - 1);
    } else {
      uint64_t& pte = table(pde & kPageAddressMask)[pt_index(a)];
      if (pte & kPagePresent) {
        pte = uncached ? (pte | bits) : (pte & ~bits);
      } else {
        all_mapped = false;
      }
      a += kPage4K;
    }
  }
  return all_mapped;
}

}  // namespace arch
