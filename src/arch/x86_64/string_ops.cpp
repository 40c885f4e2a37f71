// memcpy and memset with the x86 string instructions (fast on every CPU with ERMSB, and small).
// The compiler emits calls to these even in freestanding code.
// The bulk moves 8 bytes per iteration and the tail a byte: on hardware `rep movsq` is as fast as
// `rep movsb`, and under QEMU's TCG, where every iteration of a `rep` is a trip through the
// translated loop, it is 8x fewer trips (a 4 KiB copy went from about a quarter of StaticWebServer's
// profile to a few per cent).
#include <cstddef>

extern "C" {

void* memcpy(void* dst, const void* src, size_t n) {
  void* ret = dst;
  size_t words = n >> 3, bytes = n & 7;
  asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(bytes) : : "memory");
  return ret;
}

void* memset(void* dst, int c, size_t n) {
  void* ret = dst;
  size_t words = n >> 3, bytes = n & 7;
  const unsigned long long pattern = 0x0101010101010101ull * static_cast<unsigned char>(c);
  asm volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(pattern) : "memory");
  asm volatile("rep stosb" : "+D"(dst), "+c"(bytes) : "a"(pattern) : "memory");
  return ret;
}

}  // extern "C"
