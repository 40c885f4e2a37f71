// virtio-blk against a simulated device: a transport whose queue 0 is served by a device that
// walks each descriptor chain (header, data segments, status) against a disk in memory, either
// at the notification or when the test says, in any order.
#include <drivers/block/virtio_blk.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sim_virtio.h"

namespace {

using drivers::BlockOp;
using drivers::BlockRequest;
using drivers::VirtioBlk;
using drivers::Virtqueue;
using klib::Error;
namespace vb = drivers::virtio_blk;

class SimBlk : public drivers::test::SimTransport {
 public:
  explicit SimBlk(uint64_t sectors) : disk(sectors * 512) {
    for (size_t i = 0; i < disk.size(); ++i) disk[i] = uint8_t(i * 7 + i / 512);
    offered = vb::kFeatureSizeMax | vb::kFeatureSegMax | vb::kFeatureFlush | (1u << 6) | vb::kFeatureVersion1;
  }
  std::vector<uint8_t> disk;
  uint32_t size_max = 0, seg_max = 126;
  uint16_t ring = 16;
  bool run_at_notify = true;  // false: requests wait in `pending` until run()
  uint8_t fail_with = 0;      // a status the device answers every request with (0: do the work)
  uint64_t queue = 0;
  int notifies = 0, acks = 0, flushes = 0;
  std::vector<uint16_t> pending;          // chain heads taken, not answered yet
  std::vector<uint32_t> segment_lengths;  // of every data descriptor seen
  uint16_t seen = 0, used_idx = 0;

  uint16_t queue_size(uint16_t q) override { return q == 0 ? ring : 0; }
  bool set_queue(uint16_t q, uint16_t, uint64_t phys) override {
    queue = q == 0 ? phys : queue;
    return q == 0;
  }
  uint8_t config8(uint32_t offset) override {
    uint8_t c[16] = {};
    const uint64_t capacity = disk.size() / 512;
    memcpy(c, &capacity, 8);  // the host is little-endian, as the virtio config
    memcpy(c + 8, &size_max, 4);
    memcpy(c + 12, &seg_max, 4);
    return offset < sizeof c ? c[offset] : 0;
  }
  void ack_interrupt() override { ++acks; }
  void notify(uint16_t) override {
    ++notifies;
    uint16_t avail_idx;
    memcpy(&avail_idx, avail() + 2, 2);
    for (; seen != avail_idx; ++seen) {
      uint16_t head;
      memcpy(&head, avail() + 4 + 2 * (seen % ring), 2);
      pending.push_back(head);
    }
    if (run_at_notify) {
      while (!pending.empty()) run(0);
    }
  }
  // Executes the k-th pending chain and returns it through the used ring.
  void run(size_t k) {
    const uint16_t head = pending[k];
    pending.erase(pending.begin() + long(k));
    std::vector<const Virtqueue::Desc*> chain;
    for (uint16_t id = head;; id = descs()[id].next) {
      chain.push_back(&descs()[id]);
      if (!(descs()[id].flags & Virtqueue::kNext)) break;
    }
    uint8_t status = execute(chain);
    if (fail_with != 0) status = fail_with;
    *reinterpret_cast<uint8_t*>(chain.back()->address) = status;
    uint8_t* used = reinterpret_cast<uint8_t*>(queue) + used_offset();
    const uint32_t id32 = head, length = 1;
    memcpy(used + 4 + 8 * (used_idx % ring), &id32, 4);
    memcpy(used + 8 + 8 * (used_idx % ring), &length, 4);
    ++used_idx;
    memcpy(used + 2, &used_idx, 2);
  }

 private:
  Virtqueue::Desc* descs() { return reinterpret_cast<Virtqueue::Desc*>(queue); }
  uint8_t* avail() { return reinterpret_cast<uint8_t*>(queue) + 16u * ring; }
  size_t used_offset() const { return (16u * ring + 6 + 2u * ring + 4095) & ~size_t(4095); }
  uint8_t execute(const std::vector<const Virtqueue::Desc*>& chain) {
    // §5.2.6: the header device-readable, the status (last, 1 byte) device-writable.
    if (chain.size() < 2 || chain[0]->length != 16 || (chain[0]->flags & Virtqueue::kWrite) ||
        chain.back()->length != 1 || !(chain.back()->flags & Virtqueue::kWrite)) {
      return vb::kStatusIoError;
    }
    uint32_t type;
    uint64_t sector;
    memcpy(&type, reinterpret_cast<const void*>(chain[0]->address), 4);
    memcpy(&sector, reinterpret_cast<const uint8_t*>(chain[0]->address) + 8, 8);
    if (type == vb::kTypeFlush) {
      ++flushes;
      return vb::kStatusOk;
    }
    uint64_t offset = sector * 512;
    for (size_t i = 1; i + 1 < chain.size(); ++i) {
      const Virtqueue::Desc& d = *chain[i];
      segment_lengths.push_back(d.length);
      if (offset + d.length > disk.size()) return vb::kStatusIoError;
      auto* data = reinterpret_cast<uint8_t*>(d.address);
      if (type == vb::kTypeIn && (d.flags & Virtqueue::kWrite)) {
        memcpy(data, disk.data() + offset, d.length);
      } else if (type == vb::kTypeOut && !(d.flags & Virtqueue::kWrite)) {
        memcpy(disk.data() + offset, data, d.length);
      } else {
        return vb::kStatusIoError;
      }
      offset += d.length;
    }
    return vb::kStatusOk;
  }
};

// What complete() handed back, in order.
struct Done {
  std::vector<BlockRequest*> order;
  static void on_done(BlockRequest& r, void* self) { static_cast<Done*>(self)->order.push_back(&r); }
};

BlockRequest request(BlockOp op, uint64_t lba, uint32_t count, void* buffer) {
  BlockRequest r{};
  r.op = op;
  r.lba = lba;
  r.count = count;
  r.buffer = buffer;
  return r;
}

struct VirtioBlkTest : ::testing::Test {
  drivers::test::Memory m;
  SimBlk sim{4096};  // 2 MiB
  VirtioBlk disk;
  Done done;
  void init() { ASSERT_TRUE(disk.init(sim, {drivers::test::Memory::alloc, &m})); }
  // Submits and completes one request; its error.
  Error transfer(BlockOp op, uint64_t lba, uint32_t count, void* buffer) {
    BlockRequest r = request(op, lba, count, buffer);
    r.error = Error::kBusy;
    if (const klib::Status s = disk.submit(r); !s) return s.error();
    disk.complete(Done::on_done, &done);
    EXPECT_EQ(done.order.back(), &r);
    return r.error;
  }
};

TEST_F(VirtioBlkTest, NegotiatesFeaturesAndReadsTheConfiguration) {
  init();
  using namespace drivers::virtio;
  ASSERT_EQ(sim.statuses.size(), 3u);  // legacy: ACKNOWLEDGE, DRIVER, DRIVER_OK
  EXPECT_EQ(sim.statuses[2], kAcknowledge | kDriver | kDriverOk);
  // What the driver uses and nothing else (BLK_SIZE and VERSION_1 on a legacy transport: no).
  EXPECT_EQ(sim.accepted, vb::kFeatureSizeMax | vb::kFeatureSegMax | vb::kFeatureFlush);
  EXPECT_EQ(disk.sectors(), 4096u);
  EXPECT_EQ(disk.sector_size(), 512u);
  EXPECT_FALSE(disk.read_only());
  EXPECT_EQ(disk.max_sectors(), vb::kMaxRequestSectors);  // 128 KiB: size_max 0 is no limit
  EXPECT_NE(sim.queue, 0u);
  EXPECT_EQ(sim.queue % 4096, 0u);
}

TEST_F(VirtioBlkTest, ModernDeviceGetsFeaturesOkAndVersion1) {
  sim.is_modern = true;
  init();
  using namespace drivers::virtio;
  ASSERT_EQ(sim.statuses.size(), 4u);
  EXPECT_EQ(sim.statuses[2], kAcknowledge | kDriver | kFeaturesOk);
  EXPECT_EQ(sim.statuses[3], kAcknowledge | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_TRUE(sim.accepted & vb::kFeatureVersion1);
}

TEST_F(VirtioBlkTest, ReadsAndWritesOneAndManySectors) {
  init();
  std::vector<uint8_t> buffer(256 * 512);
  EXPECT_EQ(transfer(BlockOp::kRead, 7, 1, buffer.data()), Error::kNone);
  EXPECT_EQ(memcmp(buffer.data(), sim.disk.data() + 7 * 512, 512), 0);
  EXPECT_EQ(transfer(BlockOp::kRead, 100, 256, buffer.data()), Error::kNone);
  EXPECT_EQ(memcmp(buffer.data(), sim.disk.data() + 100 * 512, 256 * 512), 0);
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = uint8_t(i ^ 0x5A);
  EXPECT_EQ(transfer(BlockOp::kWrite, 4096 - 256, 256, buffer.data()), Error::kNone);  // the last sectors
  EXPECT_EQ(memcmp(buffer.data(), sim.disk.data() + (4096 - 256) * 512, 256 * 512), 0);
  EXPECT_EQ(transfer(BlockOp::kWrite, 0, 1, buffer.data()), Error::kNone);
  EXPECT_EQ(memcmp(buffer.data(), sim.disk.data(), 512), 0);
  const auto c = disk.counters();
  EXPECT_EQ(c.reads, 2u);
  EXPECT_EQ(c.writes, 2u);
  EXPECT_EQ(c.sectors_read, 257u);
  EXPECT_EQ(c.sectors_written, 257u);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_EQ(sim.acks, 4);  // complete() acknowledges the interrupt every time
}

TEST_F(VirtioBlkTest, SplitsDataIntoSegmentsOfSizeMaxWithinSegMax) {
  sim.size_max = 4096;
  sim.seg_max = 8;
  init();
  EXPECT_EQ(disk.max_sectors(), 64u);  // 8 segments of 4 KiB
  std::vector<uint8_t> buffer(64 * 512);
  EXPECT_EQ(transfer(BlockOp::kRead, 1, 64, buffer.data()), Error::kNone);
  EXPECT_EQ(memcmp(buffer.data(), sim.disk.data() + 512, buffer.size()), 0);
  EXPECT_EQ(sim.segment_lengths, std::vector<uint32_t>(8, 4096));
  sim.segment_lengths.clear();
  EXPECT_EQ(transfer(BlockOp::kRead, 1, 9, buffer.data()), Error::kNone);  // 4 KiB + 512
  EXPECT_EQ(sim.segment_lengths, (std::vector<uint32_t>{4096, 512}));
  BlockRequest too_big = request(BlockOp::kRead, 0, 65, buffer.data());
  EXPECT_EQ(disk.submit(too_big).error(), Error::kInvalidArgument);
}

TEST_F(VirtioBlkTest, SeveralInFlightCompleteOutOfOrder) {
  sim.run_at_notify = false;
  init();
  uint8_t buffers[4][1024];
  BlockRequest r[4];
  for (int i = 0; i < 4; ++i) {
    r[i] = request(BlockOp::kRead, uint64_t(10 * i), 2, buffers[i]);
    ASSERT_TRUE(disk.submit(r[i]));
  }
  EXPECT_EQ(sim.pending.size(), 4u);  // all four at the device at once
  EXPECT_EQ(disk.in_flight(), 4u);
  sim.run(2);  // the device answers the third request first, then the first
  sim.run(0);
  EXPECT_EQ(disk.complete(Done::on_done, &done), 2u);
  EXPECT_EQ(done.order, (std::vector<BlockRequest*>{&r[2], &r[0]}));
  EXPECT_EQ(disk.complete(Done::on_done, &done), 0u);  // a spurious interrupt: nothing
  sim.run(1);
  sim.run(0);
  EXPECT_EQ(disk.complete(Done::on_done, &done), 2u);
  EXPECT_EQ(done.order, (std::vector<BlockRequest*>{&r[2], &r[0], &r[3], &r[1]}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r[i].error, Error::kNone);
    EXPECT_EQ(memcmp(buffers[i], sim.disk.data() + 10 * i * 512, 1024), 0) << i;
  }
  EXPECT_EQ(disk.in_flight(), 0u);
}

TEST_F(VirtioBlkTest, RequestsWaitInTheDriverWhenTheRingIsFull) {
  sim.ring = 8;  // two chains of three descriptors fit
  sim.run_at_notify = false;
  init();
  uint8_t buffers[5][512];
  BlockRequest r[5];
  for (int i = 0; i < 5; ++i) {
    memset(buffers[i], i + 1, 512);
    r[i] = request(BlockOp::kWrite, uint64_t(i), 1, buffers[i]);
    ASSERT_TRUE(disk.submit(r[i]));  // never refused for want of descriptors
  }
  EXPECT_EQ(disk.in_flight(), 2u);
  EXPECT_EQ(disk.waiting(), 3u);
  EXPECT_EQ(sim.pending.size(), 2u);
  sim.run(1);
  EXPECT_EQ(disk.complete(Done::on_done, &done), 1u);
  // The freed descriptors took the oldest waiting request, which the device was told of.
  EXPECT_EQ(disk.waiting(), 2u);
  EXPECT_EQ(sim.pending.size(), 2u);
  while (done.order.size() < 5) {
    while (!sim.pending.empty()) sim.run(0);
    disk.complete(Done::on_done, &done);
  }
  EXPECT_EQ(done.order, (std::vector<BlockRequest*>{&r[1], &r[0], &r[2], &r[3], &r[4]}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(r[i].error, Error::kNone);
    EXPECT_EQ(sim.disk[size_t(i) * 512 + 100], i + 1);
  }
  EXPECT_EQ(disk.waiting(), 0u);
}

TEST_F(VirtioBlkTest, FlushGoesToTheDeviceOnlyWithTheFeature) {
  init();
  EXPECT_EQ(transfer(BlockOp::kFlush, 0, 0, nullptr), Error::kNone);
  EXPECT_EQ(sim.flushes, 1);
  EXPECT_EQ(disk.counters().flushes, 1u);

  SimBlk plain(64);
  plain.offered &= ~vb::kFeatureFlush;
  VirtioBlk other;
  ASSERT_TRUE(other.init(plain, {drivers::test::Memory::alloc, &m}));
  BlockRequest f = request(BlockOp::kFlush, 0, 0, nullptr);
  f.error = Error::kBusy;
  const int notifies = plain.notifies;
  ASSERT_TRUE(other.submit(f));
  EXPECT_EQ(plain.notifies, notifies);  // the device is not asked
  Done d;
  EXPECT_EQ(other.complete(Done::on_done, &d), 1u);
  EXPECT_EQ(d.order, std::vector<BlockRequest*>{&f});
  EXPECT_EQ(f.error, Error::kNone);
  EXPECT_EQ(plain.flushes, 0);
}

TEST_F(VirtioBlkTest, ReadOnlyDeviceRefusesWritesAtSubmit) {
  sim.offered |= vb::kFeatureReadOnly;
  init();
  EXPECT_TRUE(disk.read_only());
  uint8_t buffer[512] = {};
  const std::vector<uint8_t> before = sim.disk;
  EXPECT_EQ(transfer(BlockOp::kWrite, 3, 1, buffer), Error::kReadOnly);
  EXPECT_EQ(sim.disk, before);
  EXPECT_TRUE(done.order.empty());  // refused requests get no callback
  EXPECT_EQ(transfer(BlockOp::kRead, 3, 1, buffer), Error::kNone);
}

TEST_F(VirtioBlkTest, RefusesRequestsOutsideTheDisk) {
  init();
  uint8_t buffer[1024];
  EXPECT_EQ(transfer(BlockOp::kRead, 4096, 1, buffer), Error::kInvalidArgument);
  EXPECT_EQ(transfer(BlockOp::kRead, 4095, 2, buffer), Error::kInvalidArgument);
  EXPECT_EQ(transfer(BlockOp::kWrite, ~0ull, 2, buffer), Error::kInvalidArgument);  // no wrap-around
  EXPECT_EQ(transfer(BlockOp::kRead, 0, 0, buffer), Error::kInvalidArgument);
  EXPECT_EQ(transfer(BlockOp::kRead, 0, 1, nullptr), Error::kInvalidArgument);
  EXPECT_TRUE(done.order.empty());
  EXPECT_EQ(sim.notifies, 0);
  EXPECT_EQ(transfer(BlockOp::kRead, 4095, 1, buffer), Error::kNone);
}

TEST_F(VirtioBlkTest, DeviceStatusErrorIsAnIoError) {
  init();
  uint8_t buffer[512];
  sim.fail_with = vb::kStatusIoError;
  EXPECT_EQ(transfer(BlockOp::kRead, 1, 1, buffer), Error::kIoError);
  sim.fail_with = vb::kStatusUnsupported;
  EXPECT_EQ(transfer(BlockOp::kFlush, 0, 0, nullptr), Error::kNotSupported);
  sim.fail_with = 0x7F;  // not a status virtio defines
  EXPECT_EQ(transfer(BlockOp::kWrite, 1, 1, buffer), Error::kIoError);
  EXPECT_EQ(disk.counters().errors, 3u);
  sim.fail_with = 0;
  EXPECT_EQ(transfer(BlockOp::kRead, 1, 1, buffer), Error::kNone);
}

TEST_F(VirtioBlkTest, FailsCleanlyWithoutAQueueOrWhenFeaturesAreRefused) {
  sim.ring = 0;
  EXPECT_FALSE(disk.init(sim, {drivers::test::Memory::alloc, &m}));
  EXPECT_EQ(sim.statuses.back(), drivers::virtio::kFailed);
  struct Refusing : SimBlk {
    using SimBlk::SimBlk;
    uint8_t status() override { return uint8_t(SimBlk::status() & ~drivers::virtio::kFeaturesOk); }
  } refusing(64);
  refusing.is_modern = true;
  VirtioBlk other;
  EXPECT_FALSE(other.init(refusing, {drivers::test::Memory::alloc, &m}));
  EXPECT_EQ(refusing.statuses.back(), drivers::virtio::kFailed);
}

}  // namespace
