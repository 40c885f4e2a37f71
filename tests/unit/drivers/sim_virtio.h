// What the virtio driver tests share: DMA memory from the host heap (aligned, freed with the
// test), handed to drivers as their DmaAllocator.
//
//   drivers::test::Memory m;
//   nic.init(transport, {drivers::test::Memory::alloc, &m});
#pragma once

#include <drivers/virtio/transport.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace drivers::test {

struct Memory {
  std::vector<void*> blocks;
  Memory() = default;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  ~Memory() {
    for (void* p : blocks) free(p);
  }
  void* get(size_t size, size_t align) {
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    blocks.push_back(p);
    return p;
  }
  static void* alloc(size_t size, size_t align, void* self) { return static_cast<Memory*>(self)->get(size, align); }
};

// The device-status and feature registers of a simulated transport: what every simulated virtio
// device shares (its queues and configuration are its own).
class SimTransport : public drivers::VirtioTransport {
 public:
  uint64_t offered = 0;   // the device's features
  uint64_t accepted = 0;  // what the driver wrote back
  bool is_modern = false;
  std::vector<uint8_t> statuses;  // every status the driver set, in order

  bool modern() const override { return is_modern; }
  void reset() override { statuses.clear(); }
  uint8_t status() override { return statuses.empty() ? 0 : statuses.back(); }
  void set_status(uint8_t s) override { statuses.push_back(s); }
  uint64_t device_features() override { return offered; }
  void set_driver_features(uint64_t f) override { accepted = f; }
  const char* name() const override { return "sim"; }
};

}  // namespace drivers::test
