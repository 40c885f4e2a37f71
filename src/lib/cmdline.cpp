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

}  // namespace klib
