// The C++ runtime (memcpy and memset live in src/arch/x86_64/string_ops.cpp) a freestanding g++ build expects
// (toolchain.md, "Runtime pieces g++ needs"): mem* functions, operator new/delete and malloc & co. on the per-core
// heap,
// __cxa_pure_virtual, atexit registration (the kernel never runs global destructors: the VM powers off) and the
// libstdc++ throw helpers that header-only code can reach (they panic: the kernel has no exceptions).
#include <kernel/memory.h>
#include <kernel/shutdown.h>

#include <cstddef>
#include <cstdint>
#include <new>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n);  // src/arch/x86_64/string_ops.cpp
void* memset(void* dst, int c, size_t n);

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dst;
  if (d < s || d >= s + n) return memcpy(dst, src, n);
  while (n-- > 0) d[n] = s[n];  // overlapping, destination above source: copy backwards
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
  for (; n > 0; --n, ++a, ++b) {
    if (*a != *b || *a == 0) return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
  }
  return 0;
}

char* strchr(const char* s, int c) {
  for (;; ++s) {
    if (*s == char(c)) return const_cast<char*>(s);
    if (*s == 0) return nullptr;
  }
}

void __cxa_pure_virtual() { kernel::panic("pure virtual function called"); }

void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
int atexit(void (*)()) { return 0; }

[[noreturn]] void abort() { kernel::panic("abort() called"); }

}  // extern "C"

namespace {

void* allocate_or_panic(size_t size, size_t align) {
  void* p = kernel::allocate(size, align);
  if (p == nullptr) kernel::panic("operator new: out of memory (%d bytes)", size);
  return p;
}

void release(void* p) { kernel::release(p); }

}  // namespace

// C allocation functions for app code (and libraries it brings), on the same heap.
extern "C" {
void* malloc(size_t size) { return kernel::allocate(size); }
void free(void* p) { kernel::release(p); }
void* calloc(size_t count, size_t size) {
  if (size != 0 && count > ~size_t(0) / size) return nullptr;  // overflow
  void* p = kernel::allocate(count * size);
  if (p != nullptr) memset(p, 0, count * size);
  return p;
}
void* realloc(void* p, size_t size) { return kernel::heap().reallocate(kernel::current_core(), p, size); }
void* aligned_alloc(size_t align, size_t size) { return kernel::allocate(size, align); }
int posix_memalign(void** out, size_t align, size_t size) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return 22;  // EINVAL
  void* p = kernel::allocate(size, align);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
size_t malloc_usable_size(void* p) { return p == nullptr ? 0 : kernel::heap().usable_size(p); }
}  // extern "C"

void* operator new(size_t size) { return allocate_or_panic(size, 16); }
void* operator new[](size_t size) { return allocate_or_panic(size, 16); }
void* operator new(size_t size, std::align_val_t a) { return allocate_or_panic(size, size_t(a)); }
void* operator new[](size_t size, std::align_val_t a) { return allocate_or_panic(size, size_t(a)); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return kernel::allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return kernel::allocate(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, size_t) noexcept { release(p); }
void operator delete[](void* p, size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { release(p); }

namespace std {
const nothrow_t nothrow{};
[[noreturn]] void __throw_bad_alloc() { kernel::panic("std::bad_alloc"); }
[[noreturn]] void __throw_bad_array_new_length() { kernel::panic("std::bad_array_new_length"); }
[[noreturn]] void __throw_length_error(const char* what) { kernel::panic("std::length_error: %p", what); }
[[noreturn]] void __throw_out_of_range(const char* what) { kernel::panic("std::out_of_range: %p", what); }
[[noreturn]] void __throw_out_of_range_fmt(const char* what, ...) { kernel::panic("std::out_of_range: %p", what); }
[[noreturn]] void __throw_bad_function_call() { kernel::panic("std::bad_function_call"); }
}  // namespace std
