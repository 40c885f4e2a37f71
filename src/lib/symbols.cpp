#include <lib/symbols.h>

namespace klib {

SymbolTable::SymbolTable(const void* blob, size_t size) {
  if (blob == nullptr || size < sizeof(KsymsHeader)) return;
  const auto* h = static_cast<const KsymsHeader*>(blob);
  if (h->magic[0] != 'K' || h->magic[1] != 'S' || h->magic[2] != 'Y' || h->magic[3] != 'M' || h->version != 1) {
    return;
  }
  const uint64_t need = sizeof(KsymsHeader) + uint64_t(h->count) * sizeof(KsymsEntry) + h->strings_size;
  if (need > size || h->strings_size == 0) return;
  const auto* base = static_cast<const char*>(blob);
  const auto* entries = reinterpret_cast<const KsymsEntry*>(base + sizeof(KsymsHeader));
  const char* strings = base + sizeof(KsymsHeader) + h->count * sizeof(KsymsEntry);
  if (strings[h->strings_size - 1] != 0) return;  // names must be terminated inside the blob
  for (uint32_t i = 0; i < h->count; ++i) {
    if (entries[i].name_offset >= h->strings_size) return;
    if (i > 0 && entries[i].address < entries[i - 1].address) return;
  }
  entries_ = entries;
  strings_ = strings;
  count_ = h->count;
  strings_size_ = h->strings_size;
  anchor_ = h->anchor_address;
}

bool SymbolTable::lookup(uint64_t address, Symbol* out) const {
  if (entries_ == nullptr || count_ == 0 || address < entries_[0].address) return false;
  // Last entry whose address <= `address`.
  uint32_t lo = 0, hi = count_;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (entries_[mid].address <= address) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  // Several symbols may share an address; prefer one whose extent covers `address`.
  uint32_t best = lo;
  for (uint32_t i = lo + 1; i-- > 0 && entries_[i].address == entries_[lo].address;) {
    if (entries_[i].size != 0 && address < entries_[i].address + entries_[i].size) {
      best = i;
      break;
    }
  }
  const KsymsEntry& e = entries_[best];
  if (strings_[e.name_offset] == 0) return false;  // the end-of-code sentinel
  if (e.size != 0) {
    if (address >= e.address + e.size) return false;
  } else if (lo + 1 < count_ && address >= entries_[lo + 1].address) {
    return false;
  }
  out->name = strings_ + e.name_offset;
  out->address = e.address;
  out->offset = address - e.address;
  return true;
}

}  // namespace klib
