#include <lib/cmdline.h>

namespace klib {

void KernelParams::parse(const char* cmdline) {
  count_ = 0;
  truncated_ = false;
  size_t len = 0;
  if (cmdline != nullptr) {
    while (cmdline[len] != 0 && len < kMaxLength) {
      buffer_[len] = cmdline[len];
      ++len;
    }
    if (cmdline[len] != 0) truncated_ = true;
  }
  buffer_[len] = 0;
  bool in_token = false;
  for (size_t i = 0; i < len; ++i) {
    const char c = buffer_[i];
    if (c == ' ' || c == ',' || c == '\t' || c == '\n') {
      buffer_[i] = 0;
      in_token = false;
    } else if (!in_token) {
      in_token = true;
      if (count_ == kMaxParams) {
        truncated_ = true;
        buffer_[i] = 0;
        break;
      }
      params_[count_++] = &buffer_[i];
    }
  }
}

const char* KernelParams::value(const char* key) const {
  for (size_t i = 0; i < count_; ++i) {
    const char* t = params_[i];
    size_t k = 0;
    while (key[k] != 0 && t[k] == key[k]) ++k;
    if (key[k] == 0 && t[k] == '=') return t + k + 1;
  }
  return nullptr;
}

bool KernelParams::take(const char* token) {
  for (size_t i = 0; i < count_; ++i) {
    const char* t = params_[i];
    size_t k = 0;
    while (token[k] != 0 && t[k] == token[k]) ++k;
    if (token[k] != 0 || t[k] != 0) continue;
    for (size_t j = i + 1; j < count_; ++j) params_[j - 1] = params_[j];
    params_[--count_] = nullptr;
    return true;
  }
  return false;
}

bool parse_amount(const char* text, uint64_t whole, uint64_t* out) {
  if (text == nullptr || *text < '0' || *text > '9') return false;
  uint64_t n = 0;
  for (; *text >= '0' && *text <= '9'; ++text) {
    if (n > (UINT64_MAX - 9) / 10) return false;
    n = n * 10 + uint64_t(*text - '0');
  }
  unsigned shift = 0;
  switch (*text) {
    case 0:
      break;
    case 'K':
    case 'k':
      shift = 10;
      ++text;
      break;
    case 'M':
    case 'm':
      shift = 20;
      ++text;
      break;
    case 'G':
    case 'g':
      shift = 30;
      ++text;
      break;
    case '%':
      if (text[1] != 0 || n > 100) return false;
      *out = whole / 100 * n + whole % 100 * n / 100;
      return true;
    default:
      return false;
  }
  if (*text != 0 || n > (UINT64_MAX >> shift)) return false;
  *out = n << shift;
  return true;
}

}  // namespace klib
