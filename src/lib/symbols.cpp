#include <lib/symbols.h>

#include <cstring>

namespace klib {
namespace {

// A walk over the records (symbols.h): next() reads one, false when it is malformed or past the
// end. `name` is the record's coded name, rebuilt from the previous one's prefix; of a coded name
// longer than kMaxCoded bytes the rest is dropped (decoded, it is longer than Symbol::kMaxName).
struct Record {
  const uint8_t* p;
  const uint8_t* end;
  uint64_t address;  // of the last record read (before the first: the base)
  uint64_t size = 0;
  char name[SymbolTable::kMaxCoded + 1] = {};
  uint32_t length = 0;  // of `name`

  bool uleb(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) return false;
      const uint8_t b = *p++;
      v |= uint64_t(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;  // more than ten bytes
  }
  bool next() {
    uint64_t delta = 0;
    if (!uleb(&delta) || address + delta < address || p == end) return false;
    address += delta;
    const uint8_t head = *p++;
    const uint32_t shared = head & 0x7F;
    if (shared > length) return false;  // shares more than the previous name has
    size = 0;
    if ((head & 0x80) != 0 && !uleb(&size)) return false;
    length = shared;
    for (; p < end && *p != 0; ++p) {
      if (length < SymbolTable::kMaxCoded) name[length++] = char(*p);
    }
    if (p == end) return false;  // names end inside the records
    ++p;
    name[length] = 0;
    return true;
  }
};

}  // namespace

SymbolTable::SymbolTable(const void* blob, size_t size) {
  if (blob == nullptr || size < sizeof(KsymsHeader)) return;
  const auto* h = static_cast<const KsymsHeader*>(blob);
  if (h->magic[0] != 'K' || h->magic[1] != 'S' || h->magic[2] != 'Y' || h->magic[3] != 'M' || h->version != 5) {
    return;
  }
  const uint64_t need = sizeof(KsymsHeader) + uint64_t(h->dict_size) + uint64_t(h->records_size);
  if (need > size || h->dict_size % 4 != 0) return;
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
  // The records: every varint and name inside records_size, token bytes the dictionary has.
  const auto* records = reinterpret_cast<const uint8_t*>(dict + h->dict_size);
  Record r{records, records + h->records_size, h->base};
  for (uint32_t i = 0; i < h->count; ++i) {
    if (!r.next()) return;
    for (const char* c = r.name; *c != 0; ++c) {
      if (uint8_t(*c) <= kMaxTokens && uint8_t(*c) > tokens) return;  // a token the dictionary lacks
    }
  }
  if (r.p != r.end) return;  // bytes past the last record: not this layout
  records_ = records;
  token_count_ = tokens;
  count_ = h->count;
  records_size_ = h->records_size;
  anchor_ = h->anchor_address;
  base_ = h->base;
}

void SymbolTable::decode(const char* name, char* out, size_t capacity) const {
  size_t n = 0;
  bool cut = false;
  for (const char* p = name; *p != 0 && !cut; ++p) {
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
  if (records_ == nullptr) return false;
  // The last record at or below `address`; of several at one address (aliases), one whose
  // extent covers `address` if there is one. The constructor checked every record.
  Record r{records_, records_ + records_size_, base_};
  bool found = false, covering = false;
  uint64_t at = 0, size = 0;
  char name[kMaxCoded + 1] = {};
  for (uint32_t i = 0; i < count_ && r.next() && r.address <= address; ++i) {
    if (!found || r.address != at) covering = false;  // a new address
    if (!covering) {
      found = true;
      at = r.address;
      size = r.size;
      memcpy(name, r.name, r.length + 1);
      covering = size != 0 && address < at + size;
    }
  }
  if (!found || name[0] == 0) return false;             // before the first, or the end-of-code sentinel
  if (size != 0 && address >= at + size) return false;  // in a gap after a sized symbol
  decode(name, out->name, sizeof out->name);
  out->address = at;
  out->offset = address - at;
  return true;
}

}  // namespace klib
