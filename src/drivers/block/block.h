// What the kernel needs of a disk; drivers (virtio-blk, ATA) implement it. Requests are
// asynchronous: submit() queues one (the device may hold several in flight), and complete()
// -- called from the device's interrupt handler, or in a loop when polling -- finishes what
// the device has done and hands each finished request to the caller's callback. Waiting is the
// caller's business (the kernel puts the thread to sleep until the callback wakes it:
// src/fs/kernel.cpp; a host test runs the simulated device), so drivers know no scheduler.
//
//   drivers::BlockRequest r{.op = drivers::BlockOp::kRead, .lba = 0, .count = 1, .buffer = sector};
//   klib::Status s = disk->submit(r);         // kInvalidArgument (beyond the end, count 0),
//                                             // kReadOnly (a write to a read-only device)
//   ... interrupt: disk->complete(on_done, ctx) calls on_done(r, ctx) once r.error is set.
//
// Sector numbers are 64-bit and sectors are 512 bytes (sector_size() says otherwise if a device
// ever needs it). A buffer is identity-mapped kernel memory: the device is given its address.
#pragma once

#include <lib/result.h>

#include <cstddef>
#include <cstdint>

namespace drivers {

enum class BlockOp : uint8_t { kRead, kWrite, kFlush };

struct BlockRequest {
  BlockOp op;
  uint64_t lba;    // first sector (ignored by kFlush)
  uint32_t count;  // sectors (0 for kFlush)
  void* buffer;    // count * sector_size() bytes (nullptr for kFlush)
  // Set by the driver before it hands the request to complete()'s callback: kNone, kIoError
  // (the device failed it), kTimeout (the device did not answer in time: ATA), kNotSupported
  // (kFlush on a device without a cache to flush is kNone, not this).
  klib::Error error;
  // The caller's: the kernel keeps the waiting thread here. Untouched by drivers.
  void* waiter;
  // The driver's: its queue of submitted requests. Untouched by callers.
  BlockRequest* next;
  uint32_t driver_tag;
};

class BlockDevice {
 public:
  virtual uint32_t sector_size() const = 0;  // bytes, 512
  virtual uint64_t sectors() const = 0;      // capacity
  virtual bool read_only() const = 0;
  // Queues `r` (the device may run several at once, in any order). kInvalidArgument if the
  // range is outside the device or count is 0 (or over max_sectors()), kReadOnly for a write to
  // a read-only device; then `r` is not queued and no callback comes for it.
  virtual klib::Status submit(BlockRequest& r) = 0;
  // Acknowledges the device's interrupt and finishes what the device has done: each finished
  // request gets its error set and is handed to `done` (in completion order), and queued
  // requests are started as the device has room. Returns the number finished. Safe to call when
  // nothing is pending (a shared or spurious interrupt, a polling loop).
  using DoneFn = void (*)(BlockRequest& r, void* ctx);
  virtual size_t complete(DoneFn done, void* ctx) = 0;
  // The largest `count` one request may carry.
  virtual uint32_t max_sectors() const = 0;
  // For the console line of DedicateBlockDriver and the tests.
  struct Counters {
    uint64_t reads, writes, flushes, sectors_read, sectors_written, errors, interrupts;
  };
  virtual Counters counters() const = 0;
  // A device with several drive places behind one controller and interrupt (an ATA channel:
  // master and slave, drive_places() 2) gives each drive: drive(0), drive(1); nullptr for an
  // empty place (the device start_device returns is the first drive there is). complete() on
  // any of them serves them all. A plain device is its own drive 0 of 1. Toro numbers the
  // minors of a device with several places per drive (toro-spec §2.11.2, ATA: drive i's whole
  // disk is minor 5 * i, its MBR partitions 5 * i + 1 .. 5 * i + 4: mbr::MinorScheme::kAta).
  virtual uint32_t drive_places() const { return 1; }
  virtual BlockDevice* drive(uint32_t i) { return i == 0 ? this : nullptr; }

 protected:
  ~BlockDevice() = default;
};

}  // namespace drivers
