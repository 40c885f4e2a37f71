// Small-object size classes: 16-byte steps up to 128 bytes, then four classes per power of two
// up to 32 KiB (160, 192, 224, 256, 320, ...). Every class is a multiple of 16 (the SysV
// max_align_t), so every block is 16-byte aligned; classes that are multiples of 64 give
// 64-byte (cache-line) aligned blocks. Internal waste: at most 15 bytes for requests of up to
// 48 bytes (the 16-byte granularity), at most 25 % of the block above that.
//
//   uint32_t c = mm::size_class(100);        // class of a 100-byte request
//   size_t bytes = mm::class_size(c);        // 112
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace mm {

constexpr size_t kPageSize = 4096;
constexpr uint32_t kClassCount = 40;
constexpr size_t kMaxSmallSize = 32 * 1024;

constexpr size_t class_size(uint32_t c) {
  if (c < 8) return size_t(c + 1) * 16;
  const uint32_t p = 7 + (c - 8) / 4, j = (c - 8) % 4;
  return (size_t(1) << p) + size_t(j + 1) * (size_t(1) << (p - 2));
}

// Requires size <= kMaxSmallSize.
constexpr uint32_t size_class(size_t size) {
  if (size <= 128) return size == 0 ? 0 : uint32_t((size + 15) / 16 - 1);
  const size_t n = size - 1;
  const uint32_t p = uint32_t(std::bit_width(n)) - 1;  // floor(log2(n)), >= 7
  return 8 + (p - 7) * 4 + uint32_t((n >> (p - 2)) & 3);
}

static_assert(class_size(kClassCount - 1) == kMaxSmallSize);
static_assert(size_class(kMaxSmallSize) == kClassCount - 1);
static_assert(class_size(size_class(129)) == 160 && class_size(size_class(257)) == 320);

// Layout of a slab (a span of pages holding blocks of one class): blocks from the first byte,
// the allocation bitmap (one bit per block, set = allocated) in the last bytes.
struct SlabLayout {
  uint32_t pages;
  uint32_t blocks;
  uint32_t bitmap_offset;
};

constexpr SlabLayout slab_layout(uint32_t c) {
  const size_t size = class_size(c);
  size_t target = 16384 / size;
  if (target < 8) target = 8;
  const size_t bytes = target * size + (target + 7) / 8;
  const uint32_t pages = uint32_t((bytes + kPageSize - 1) / kPageSize);
  const size_t total = size_t(pages) * kPageSize;
  size_t blocks = total / size;
  while (blocks * size + (blocks + 7) / 8 > total) --blocks;
  const size_t bitmap_offset = total - (blocks + 7) / 8;
  return {pages, uint32_t(blocks), uint32_t(bitmap_offset)};
}

}  // namespace mm
