#include <lib/pascal.h>

namespace klib {

void int_to_str(uint64_t value, char* buff) {
  if (buff == nullptr) return;
  char* end = buff;
  const Sink sink{[](void* ctx, char c) { *(*static_cast<char**>(ctx))++ = c; }, &end, nullptr};
  put_unsigned(sink, value);
  *end = '\0';
}

bool str_cmp(const char* p1, const char* p2, int32_t len) {
  if (len <= 0) return true;
  if (p1 == nullptr || p2 == nullptr) return false;
  for (int32_t i = 0; i < len; ++i) {
    if (p1[i] != p2[i]) return false;
  }
  return true;
}

void str_concat(const char* left, const char* right, char* dst) {
  if (dst == nullptr) return;
  size_t n = 0;
  if (left != nullptr) {
    // dst == left: the left part is already in place.
    while (left[n] != '\0') {
      dst[n] = left[n];
      ++n;
    }
  }
  if (right != nullptr) {
    for (size_t i = 0; right[i] != '\0'; ++i) dst[n++] = right[i];
  }
  dst[n] = '\0';
}

// H. Hinnant's days_from_civil (public domain algorithm), valid for any year.
int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {
int64_t to_seconds(const DateTime& t) {
  return days_from_civil(t.year, t.month, t.day) * 86400 + int64_t(t.hour) * 3600 + int64_t(t.minute) * 60 + t.second;
}
}  // namespace

int64_t seconds_between(const DateTime& a, const DateTime& b) {
  const int64_t d = to_seconds(a) - to_seconds(b);
  return d < 0 ? -d : d;
}

uint64_t spin_lock(uint64_t cmp_val, uint64_t new_val, uint64_t* addval) {
  for (;;) {
    uint64_t expected = cmp_val;
    // Acquire on success pairs with spin_unlock's release store.
    if (__atomic_compare_exchange_n(addval, &expected, new_val, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      return cmp_val;
    }
    // Wait with plain loads until it looks free, so the CAS does not bounce the cache line.
    while (__atomic_load_n(addval, __ATOMIC_RELAXED) != cmp_val) __builtin_ia32_pause();
  }
}

void spin_unlock(uint64_t value, uint64_t* addval) { __atomic_store_n(addval, value, __ATOMIC_RELEASE); }

}  // namespace klib
