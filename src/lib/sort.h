// Allocation-free insertion sort for the kernel's small tables (memory maps, arena lists):
// stable, no recursion, fine for the few dozen entries it sees.
//
//   klib::insertion_sort(regions, count, [](const R& a, const R& b) { return a.base < b.base; });
#pragma once

#include <cstddef>

namespace klib {

template <typename T, typename Less>
void insertion_sort(T* items, size_t count, Less less) {
  for (size_t i = 1; i < count; ++i) {
    T item = items[i];
    size_t j = i;
    while (j > 0 && less(item, items[j - 1])) {
      items[j] = items[j - 1];
      --j;
    }
    items[j] = item;
  }
}

}  // namespace klib
