// The kernel command line split into Toro's parameters ([HEAD] GetKernelParam semantics):
// tokens separated by ' ' or ',', empty tokens skipped, 0-based. The kernel's own settings are
// `key=value` tokens among them (value()), e.g. tcpmem=25% or netstat=5.
//
//   klib::KernelParams p;
//   p.parse("virtionet,192.168.0.2  debug");   // p.count() == 3, p.get(1) == "192.168.0.2"
//   p.parse("tcpmem=8M"); uint64_t b; klib::parse_amount(p.value("tcpmem"), total, &b);
#pragma once

#include <cstddef>
#include <cstdint>

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
  // The text after `key=` in the first token that starts so, or nullptr.
  const char* value(const char* key) const;
  // Removes the first token equal to `token` (the kernel's own, such as `gdb`, which the
  // program's GetKernelParam then does not see); false if there is none.
  bool take(const char* token);

 private:
  char buffer_[kMaxLength + 1] = {};
  const char* params_[kMaxParams] = {};
  size_t count_ = 0;
  bool truncated_ = false;
};

// An amount of memory: "N" bytes, "NK", "NM", "NG" (binary units), or "N%" of `whole`. False
// (and *out untouched) for null, empty, malformed or overflowing text, or a percentage above
// 100.
bool parse_amount(const char* text, uint64_t whole, uint64_t* out);

}  // namespace klib
