#include <drivers/virtio/virtqueue.h>

#include <cstring>

namespace drivers {

void Virtqueue::init(void* memory, uint16_t size) {
  memset(memory, 0, bytes(size));
  size_ = size;
  auto* base = static_cast<uint8_t*>(memory);
  desc_ = reinterpret_cast<Desc*>(base);
  avail_ = reinterpret_cast<uint16_t*>(base + 16u * size);
  used_ = base + ((16u * size + 6 + 2u * size + 4095) & ~size_t(4095));
  for (uint16_t i = 0; i < size; ++i) desc_[i].next = uint16_t(i + 1 < size ? i + 1 : kNoDesc);
  free_head_ = 0;
  free_count_ = size;
  avail_shadow_ = 0;
  last_used_ = 0;
}

uint16_t Virtqueue::add(uint64_t address, uint32_t length, bool device_writes) {
  if (free_count_ == 0) return kNoDesc;
  const uint16_t id = free_head_;
  free_head_ = desc_[id].next;
  --free_count_;
  desc_[id].address = address;
  desc_[id].length = length;
  desc_[id].flags = device_writes ? kWrite : 0;
  desc_[id].next = kNoDesc;
  avail_[2 + (avail_shadow_ % size_)] = id;
  ++avail_shadow_;
  return id;
}

uint16_t Virtqueue::add_chain(const Buffer* buffers, uint16_t n) {
  if (n == 0 || free_count_ < n) return kNoDesc;
  const uint16_t head = free_head_;
  uint16_t id = head;
  for (uint16_t i = 0; i < n; ++i) {
    Desc& d = desc_[id];
    const uint16_t following = d.next;  // the free list's next: the chain's next if there is one
    d.address = buffers[i].address;
    d.length = buffers[i].length;
    d.flags = uint16_t((buffers[i].device_writes ? kWrite : 0) | (i + 1 < n ? kNext : 0));
    if (i + 1 == n) {
      free_head_ = following;
      d.next = kNoDesc;
    }
    id = following;
  }
  free_count_ = uint16_t(free_count_ - n);
  avail_[2 + (avail_shadow_ % size_)] = head;
  ++avail_shadow_;
  return head;
}

void Virtqueue::publish() {
  // Descriptors and ring entries before the index (§2.7.13: "the driver MUST perform a
  // suitable memory barrier before the idx update").
  std::atomic_thread_fence(std::memory_order_release);
  reinterpret_cast<volatile uint16_t*>(avail_)[1] = avail_shadow_;
  // The index before the notification that follows (the caller's I/O write).
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool Virtqueue::pop_used(uint16_t* id, uint32_t* length) {
  const uint16_t device_idx = reinterpret_cast<volatile uint16_t*>(used_)[1];
  if (device_idx == last_used_) return false;
  // The entry is read after the index that announced it (§2.7.14).
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint8_t* e = used_ + 4 + 8u * (last_used_ % size_);
  uint32_t used_id, used_len;
  memcpy(&used_id, e, 4);
  memcpy(&used_len, e + 4, 4);
  ++last_used_;
  if (used_id >= size_) return false;  // a confused device: ignore the entry
  // The chain goes back whole onto the free list (its links already run from head to tail).
  uint16_t tail = uint16_t(used_id);
  uint16_t n = 1;
  while ((desc_[tail].flags & kNext) && desc_[tail].next < size_ && n < size_) {
    tail = desc_[tail].next;
    ++n;
  }
  desc_[tail].next = free_head_;
  free_head_ = uint16_t(used_id);
  free_count_ = uint16_t(free_count_ + n);
  *id = uint16_t(used_id);
  *length = used_len;
  return true;
}

}  // namespace drivers
