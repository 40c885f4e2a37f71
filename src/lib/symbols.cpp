#include <lib/symbols.h>

namespace klib {

SymbolTable::SymbolTable(const void* blob, size_t size) {
  if (blob == nullptr || size < sizeof(KsymsHeader)) return;
  const auto* h = static_cast<const KsymsHeader*>(blob);
  if (h->magic[0] != 'K' || h->magic[1] != 'S' || h->magic[2] != 'Y' || h->magic[3] != 'M' || h->version != 2) {
    return;
  }
  const uint64_t need =
      sizeof(KsymsHeader) + uint64_t(h->dict_size) + uint64_t(h->count) * sizeof(KsymsEntry) + h->strings_size;
  if (need > size || h->strings_size == 0 || h->dict_size % 4 != 0) return;
  const auto* base = static_cast<const char*>(blob);
  const char* dict = base + sizeof(KsymsHeader);
  // Tokens: NUL-terminated strings filling the dictionary (padded with NULs to 4 bytes).
  uint32_t tokens = 0;
  for (uint32_t i = 0; i < h->dict_size;) {
    if (dict[i] == 0) {
      ++i;
      continue;
    }
    if (tokens == kMaxTokens) return;
    tokens_[tokens++] = dict + i;
    while (i < h->dict_size && dict[i] != 0) {
      if (uint8_t(dict[i]) <= kMaxTokens) return;  // tokens are plain text
      ++i;
    }
    if (i == h->dict_size) return;  // not terminated inside the dictionary
  }
  const auto* entries = reinterpret_cast<const KsymsEntry*>(dict + h->dict_size);
  const char* strings = dict + h->dict_size + uint64_t(h->count) * sizeof(KsymsEntry);
  if (strings[h->strings_size - 1] != 0) return;  // names must be terminated inside the blob
  for (uint32_t i = 0; i < h->count; ++i) {
    if (entries[i].name_offset >= h->strings_size) return;
    if (i > 0 && entries[i].address < entries[i - 1].address) return;
  }
  for (uint32_t i = 0; i < h->strings_size; ++i) {
    const uint8_t c = uint8_t(strings[i]);
    if (c != 0 && c <= kMaxTokens && c > tokens) return;  // a token the dictionary lacks
  }
  entries_ = entries;
  strings_ = strings;
  token_count_ = tokens;
  count_ = h->count;
  strings_size_ = h->strings_size;
  anchor_ = h->anchor_address;
  base_ = h->base;
}

void SymbolTable::decode(uint32_t offset, char* out, size_t capacity) const {
  size_t n = 0;
  bool cut = false;
  for (const char* p = strings_ + offset; *p != 0 && !cut; ++p) {
    const uint8_t c = uint8_t(*p);
    const char* piece = c <= kMaxTokens ? tokens_[c - 1] : p;
    const size_t len = c <= kMaxTokens ? ~size_t(0) : 1;
    for (size_t k = 0; k < len && piece[k] != 0; ++k) {
      if (n + 4 >= capacity) {
        cut = true;
        break;
      }
      out[n++] = piece[k];
    }
  }
  if (cut) {
    for (int k = 0; k < 3; ++k) out[n++] = '.';
  }
  out[n] = 0;
}

bool SymbolTable::lookup(uint64_t address, Symbol* out) const {
  if (entries_ == nullptr || count_ == 0 || address < address_of(0)) return false;
  // Last entry whose address <= `address`.
  uint32_t lo = 0, hi = count_;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (address_of(mid) <= address) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  // Several symbols may share an address; prefer one whose extent covers `address`.
  uint32_t best = lo;
  for (uint32_t i = lo + 1; i-- > 0 && entries_[i].address == entries_[lo].address;) {
    if (entries_[i].size != 0 && address < address_of(i) + entries_[i].size) {
      best = i;
      break;
    }
  }
  const KsymsEntry& e = entries_[best];
  if (strings_[e.name_offset] == 0) return false;  // the end-of-code sentinel
  if (e.size != 0) {
    if (address >= address_of(best) + e.size) return false;
  } else if (lo + 1 < count_ && address >= address_of(lo + 1)) {
    return false;
  }
  decode(e.name_offset, out->name, sizeof out->name);
  out->address = address_of(best);
  out->offset = address - out->address;
  return true;
}

}  // namespace klib
