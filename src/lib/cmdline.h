// The kernel command line split into Toro's parameters ([HEAD] GetKernelParam semantics):
// tokens separated by ' ' or ',', empty tokens skipped, 0-based.
//
//   klib::KernelParams p;
//   p.parse("virtionet,192.168.0.2  debug");   // p.count() == 3, p.get(1) == "192.168.0.2"
#pragma once

#include <cstddef>

namespace klib {

class KernelParams {
 public:
  static constexpr size_t kMaxLength = 2048;
  static constexpr size_t kMaxParams = 64;

  // Copies and tokenises `cmdline` (may be null). Text past kMaxLength or tokens past kMaxParams
  // are dropped and reported by truncated().
  void parse(const char* cmdline);
  size_t count() const { return count_; }
  const char* get(size_t index) const { return index < count_ ? params_[index] : nullptr; }
  bool truncated() const { return truncated_; }

 private:
  char buffer_[kMaxLength + 1] = {};
  const char* params_[kMaxParams] = {};
  size_t count_ = 0;
  bool truncated_ = false;
};

}  // namespace klib
