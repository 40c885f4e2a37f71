#include <drivers/net/virtio_net.h>
#include <drivers/virtio/virtqueue.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "sim_virtio.h"

namespace {

// The device side of a legacy split virtqueue, for tests: takes what the driver made
// available and returns it as used with a length.
struct SimDevice {
  drivers::Virtqueue* q;
  uint16_t seen = 0;  // next avail index to consume
  uint16_t used_idx = 0;
  bool take(uint16_t* id) {
    if (seen == q->avail_index()) return false;
    *id = q->avail_ring()[seen % q->size()];
    ++seen;
    return true;
  }
  void give_back(uint16_t id, uint32_t length) {
    uint8_t* used = q->used();
    uint8_t* e = used + 4 + 8u * (used_idx % q->size());
    const uint32_t id32 = id;
    memcpy(e, &id32, 4);
    memcpy(e + 4, &length, 4);
    ++used_idx;
    memcpy(used + 2, &used_idx, 2);
  }
};

using drivers::test::Memory;

TEST(Virtqueue, LegacyLayoutAndIndexWrapAround) {
  Memory m;
  drivers::Virtqueue q;
  const uint16_t n = 8;
  EXPECT_EQ(drivers::Virtqueue::bytes(n), 4096u + 4096u);
  q.init(m.get(drivers::Virtqueue::bytes(n), 4096), n);
  SimDevice dev{&q};
  // 1000 rounds through an 8-entry ring: the 16-bit indices wrap many times over.
  for (uint32_t round = 0; round < 1000; ++round) {
    const uint16_t id = q.add(0x1000 + round, 100 + round % 7, round % 2);
    ASSERT_NE(id, drivers::Virtqueue::kNoDesc);
    q.publish();
    uint16_t got;
    ASSERT_TRUE(dev.take(&got));
    EXPECT_EQ(got, id);
    EXPECT_EQ(q.descriptors()[got].address, 0x1000u + round);
    EXPECT_EQ(q.descriptors()[got].flags, round % 2 ? drivers::Virtqueue::kWrite : 0);
    dev.give_back(got, 42);
    uint16_t used_id;
    uint32_t len;
    ASSERT_TRUE(q.pop_used(&used_id, &len));
    EXPECT_EQ(used_id, id);
    EXPECT_EQ(len, 42u);
    EXPECT_FALSE(q.pop_used(&used_id, &len));
  }
  EXPECT_EQ(q.free_descriptors(), n);
}

TEST(Virtqueue, FullRingAndRecycling) {
  Memory m;
  drivers::Virtqueue q;
  q.init(m.get(drivers::Virtqueue::bytes(4), 4096), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NE(q.add(0, 0, false), drivers::Virtqueue::kNoDesc);
  EXPECT_EQ(q.add(0, 0, false), drivers::Virtqueue::kNoDesc);
  q.publish();
  SimDevice dev{&q};
  uint16_t id;
  dev.take(&id);
  dev.give_back(id, 0);
  uint32_t len;
  ASSERT_TRUE(q.pop_used(&id, &len));
  EXPECT_EQ(q.free_descriptors(), 1);
  EXPECT_EQ(q.add(0, 0, false), id);  // the freed descriptor is reused
}

TEST(Virtqueue, ChainsAreLinkedPublishedByTheirHeadAndFreedWhole) {
  Memory m;
  drivers::Virtqueue q;
  q.init(m.get(drivers::Virtqueue::bytes(8), 4096), 8);
  SimDevice dev{&q};
  using Buffer = drivers::Virtqueue::Buffer;
  const Buffer three[] = {{0x1000, 16, false}, {0x2000, 512, true}, {0x3000, 1, true}};
  for (int round = 0; round < 50; ++round) {  // free-list order changes as chains come back
    const uint16_t expected_head = q.next_free();
    const uint16_t a = q.add_chain(three, 3);
    const uint16_t b = q.add_chain(three, 3);
    ASSERT_EQ(a, expected_head);
    ASSERT_NE(b, drivers::Virtqueue::kNoDesc);
    EXPECT_EQ(q.add_chain(three, 3), drivers::Virtqueue::kNoDesc);  // 2 left: nothing taken
    EXPECT_EQ(q.free_descriptors(), 2);
    q.publish();
    uint16_t head;
    ASSERT_TRUE(dev.take(&head));
    EXPECT_EQ(head, a);
    // The chain as the device walks it: NEXT on all but the last, WRITE as asked.
    const drivers::Virtqueue::Desc* d = q.descriptors();
    uint16_t id = head;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(d[id].address, three[i].address);
      EXPECT_EQ(d[id].length, three[i].length);
      EXPECT_EQ(bool(d[id].flags & drivers::Virtqueue::kWrite), three[i].device_writes);
      EXPECT_EQ(bool(d[id].flags & drivers::Virtqueue::kNext), i < 2);
      id = d[id].next;
    }
    ASSERT_TRUE(dev.take(&head));
    EXPECT_EQ(head, b);
    EXPECT_FALSE(dev.take(&head));
    dev.give_back(b, 1);  // out of order
    dev.give_back(a, 1);
    uint32_t len;
    ASSERT_TRUE(q.pop_used(&head, &len));
    EXPECT_EQ(head, b);
    EXPECT_EQ(q.free_descriptors(), 5);  // all three of b's
    ASSERT_TRUE(q.pop_used(&head, &len));
    EXPECT_EQ(head, a);
    EXPECT_EQ(q.free_descriptors(), 8);
  }
}

// A legacy virtio transport recording what the driver does.
class MockTransport : public drivers::VirtioTransport {
 public:
  std::vector<uint8_t> statuses;
  uint64_t offered = drivers::virtio_net::kFeatureMac | drivers::virtio_net::kFeatureStatus | (1u << 0) | (1u << 15) |
                     drivers::virtio_net::kFeatureVersion1;
  uint64_t accepted = ~0ull;
  bool is_modern = false;
  bool refuse_features = false;
  bool modern() const override { return is_modern; }
  uint64_t queue_phys[2] = {};
  std::vector<uint16_t> notified;
  uint8_t config[8] = {0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF, 1, 0};
  bool was_reset = false;
  void reset() override {
    was_reset = true;
    statuses.clear();
  }
  uint8_t status() override {
    const uint8_t s = statuses.empty() ? 0 : statuses.back();
    return refuse_features ? uint8_t(s & ~drivers::virtio::kFeaturesOk) : s;  // a device that rejects them
  }
  void set_status(uint8_t s) override { statuses.push_back(s); }
  uint64_t device_features() override { return offered; }
  void set_driver_features(uint64_t f) override { accepted = f; }
  uint16_t queue_size(uint16_t q) override { return q < 2 ? 16 : 0; }
  bool set_queue(uint16_t q, uint16_t, uint64_t phys) override {
    queue_phys[q] = phys;
    return true;
  }
  void notify(uint16_t q) override { notified.push_back(q); }
  uint8_t config8(uint32_t offset) override { return config[offset]; }
  void ack_interrupt() override {}
  const char* name() const override { return "mock"; }
};

TEST(VirtioNet, FeatureNegotiationAndQueueSetup) {
  Memory m;
  MockTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {Memory::alloc, &m}));
  EXPECT_TRUE(t.was_reset);
  using namespace drivers::virtio;
  ASSERT_EQ(t.statuses.size(), 3u);  // ACKNOWLEDGE, + DRIVER, + DRIVER_OK (legacy: no FEATURES_OK)
  EXPECT_EQ(t.statuses[0], kAcknowledge);
  EXPECT_EQ(t.statuses[1], kAcknowledge | kDriver);
  EXPECT_EQ(t.statuses[2], kAcknowledge | kDriver | kDriverOk);
  EXPECT_EQ(t.accepted, drivers::virtio_net::kFeatureMac | drivers::virtio_net::kFeatureStatus);  // only what we use
  EXPECT_NE(t.queue_phys[0], 0u);
  EXPECT_NE(t.queue_phys[1], 0u);
  EXPECT_EQ(t.queue_phys[0] % 4096, 0u);
  // The transmit queue's avail flags ask for no interrupts (reclaimed by polling); receive's do not.
  const auto* rx_avail = reinterpret_cast<const uint16_t*>(t.queue_phys[0] + 16 * 16);
  const auto* tx_avail = reinterpret_cast<const uint16_t*>(t.queue_phys[1] + 16 * 16);
  EXPECT_EQ(rx_avail[0], 0);
  EXPECT_EQ(tx_avail[0], 1);
  EXPECT_EQ(nic.mac().b[5], 0xEF);
  EXPECT_TRUE(nic.link_up());
  t.config[6] = 0;
  EXPECT_FALSE(nic.link_up());
}

TEST(VirtioNet, PollHandsFramesOverInPlaceAndReturnsBuffers) {
  Memory m;
  MockTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {Memory::alloc, &m}));
  // Find the receive queue through the descriptor the driver posted: simulate the device on it.
  auto* rx = static_cast<drivers::Virtqueue::Desc*>(reinterpret_cast<void*>(t.queue_phys[0]));
  uint8_t* used = reinterpret_cast<uint8_t*>(t.queue_phys[0]) + 4096;  // 16 entries: used ring on the next page
  const uint16_t first = 0;
  auto* buffer = reinterpret_cast<uint8_t*>(rx[first].address);
  memset(buffer, 0, 10);
  buffer[10] = 0xAB;
  const uint32_t id = first, len = 10 + 64;
  memcpy(used + 4, &id, 4);
  memcpy(used + 8, &len, 4);
  const uint16_t used_idx = 1;
  memcpy(used + 2, &used_idx, 2);
  const uint8_t* where = nullptr;
  size_t length = 0;
  struct Out {
    const uint8_t** where;
    size_t* length;
  } out{&where, &length};
  auto collect = [](void* ctx, const uint8_t* frame, size_t n) {
    auto* o = static_cast<Out*>(ctx);
    *o->where = frame;
    *o->length = n;
  };
  const size_t notifies = t.notified.size();
  EXPECT_EQ(nic.poll(collect, &out, 64), 1u);
  EXPECT_EQ(where, buffer + 10);  // after the header, in the posted buffer
  EXPECT_EQ(length, 64u);
  EXPECT_EQ(where[0], 0xAB);
  EXPECT_GT(t.notified.size(), notifies);  // the buffer went back and the device was told
  EXPECT_EQ(nic.poll(collect, &out, 64), 0u);
}

TEST(VirtioNet, ModernHandshakeWithFeaturesOk) {
  Memory m;
  MockTransport t;
  t.is_modern = true;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {Memory::alloc, &m}));
  using namespace drivers::virtio;
  ASSERT_EQ(t.statuses.size(), 4u);
  EXPECT_EQ(t.statuses[2], kAcknowledge | kDriver | kFeaturesOk);
  EXPECT_EQ(t.statuses[3], kAcknowledge | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_TRUE(t.accepted & drivers::virtio_net::kFeatureVersion1);
  // A device that clears FEATURES_OK: the driver gives up and says FAILED.
  MockTransport refusing;
  refusing.is_modern = true;
  refusing.refuse_features = true;
  drivers::VirtioNet other;
  EXPECT_FALSE(other.init(refusing, {Memory::alloc, &m}));
  EXPECT_EQ(refusing.statuses.back(), kFailed);
}

TEST(VirtioNet, FailsCleanlyWithoutQueues) {
  Memory m;
  struct NoQueues : MockTransport {
    uint16_t queue_size(uint16_t) override { return 0; }
  } t;
  drivers::VirtioNet nic;
  EXPECT_FALSE(nic.init(t, {Memory::alloc, &m}));
  EXPECT_EQ(t.statuses.back(), drivers::virtio::kFailed);
}

}  // namespace

// The device's side of the driver's transmit queue (MockTransport: 16 entries, legacy layout).
struct TxDevice {
  uint8_t* base;  // the descriptor table; the available ring after it, the used ring a page on
  uint16_t seen = 0, used_idx = 0;
  uint16_t available() const {
    uint16_t idx;
    memcpy(&idx, base + 16 * 16 + 2, 2);
    return idx;
  }
  // The next frame made available: its descriptor and first byte (after the 10-byte header).
  bool take(uint16_t* id, uint8_t* first) {
    if (seen == available()) return false;
    memcpy(id, base + 16 * 16 + 4 + 2 * (seen % 16), 2);
    ++seen;
    const auto* d = reinterpret_cast<const drivers::Virtqueue::Desc*>(base) + *id;
    *first = reinterpret_cast<const uint8_t*>(d->address)[10];
    return true;
  }
  void give_back(uint16_t id) {
    uint8_t* used = base + 4096;
    const uint32_t id32 = id, len = 0;
    memcpy(used + 4 + 8 * (used_idx % 16), &id32, 4);
    memcpy(used + 8 + 8 * (used_idx % 16), &len, 4);
    ++used_idx;
    memcpy(used + 2, &used_idx, 2);
  }
};

TEST(VirtioNet, FramesWaitForTransmitDescriptorsInOrderAndReceiveWaitsForThem) {
  Memory m;
  MockTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {Memory::alloc, &m}));
  TxDevice dev{reinterpret_cast<uint8_t*>(t.queue_phys[1])};
  // 16 frames fill the descriptors, 16 more wait (the backlog holds a ring's worth), then drops.
  uint8_t frame[60] = {};
  for (int i = 0; i < 33; ++i) {
    frame[0] = uint8_t(i);
    EXPECT_EQ(nic.send(frame, sizeof frame), i < 32) << i;
  }
  EXPECT_EQ(nic.counters().tx_full, 1u);
  EXPECT_EQ(nic.counters().tx_frames, 16u);
  EXPECT_EQ(dev.available(), 16);
  // A frame arrives meanwhile: poll leaves it to the device while frames wait to be sent.
  uint8_t* rx_used = reinterpret_cast<uint8_t*>(t.queue_phys[0]) + 4096;
  const uint32_t rx_id = 0, rx_len = 10 + 64;
  memcpy(rx_used + 4, &rx_id, 4);
  memcpy(rx_used + 8, &rx_len, 4);
  const uint16_t rx_idx = 1;
  memcpy(rx_used + 2, &rx_idx, 2);
  size_t received = 0;
  auto count = [](void* ctx, const uint8_t*, size_t) { ++*static_cast<size_t*>(ctx); };
  EXPECT_EQ(nic.poll(count, &received, 64), 0u);
  // The device sends the first 16; the next poll hands it the waiting ones, in order, and
  // then receives.
  uint16_t id;
  uint8_t first;
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(dev.take(&id, &first));
    EXPECT_EQ(first, i);
    dev.give_back(id);
  }
  const size_t notifies = t.notified.size();
  EXPECT_EQ(nic.poll(count, &received, 64), 1u);
  EXPECT_EQ(received, 1u);
  EXPECT_GT(t.notified.size(), notifies);
  for (int i = 16; i < 32; ++i) {
    ASSERT_TRUE(dev.take(&id, &first));
    EXPECT_EQ(first, i);
    dev.give_back(id);
  }
  EXPECT_FALSE(dev.take(&id, &first));
  // Nothing waits any more: a frame goes straight to a descriptor.
  frame[0] = 99;
  EXPECT_TRUE(nic.send(frame, sizeof frame));
  ASSERT_TRUE(dev.take(&id, &first));
  EXPECT_EQ(first, 99);
  EXPECT_EQ(nic.counters().tx_frames, 33u);
}

// A held doorbell: a burst of sends is published and kicked once, when the last hold ends; a
// send that finds ring and backlog full kicks anyway, so a held burst never waits on itself.
TEST(VirtioNet, HeldDoorbellKicksOnceForABurst) {
  Memory m;
  MockTransport t;
  drivers::VirtioNet nic;
  ASSERT_TRUE(nic.init(t, {Memory::alloc, &m}));
  TxDevice dev{reinterpret_cast<uint8_t*>(t.queue_phys[1])};
  uint8_t frame[60] = {};
  const size_t before = t.notified.size();
  nic.hold(true);
  nic.hold(true);  // nested (a socket's send inside the packet thread's batch)
  for (int i = 0; i < 5; ++i) {
    frame[0] = uint8_t(i);
    ASSERT_TRUE(nic.send(frame, sizeof frame));
  }
  EXPECT_EQ(t.notified.size(), before);
  EXPECT_EQ(dev.available(), 0);  // not published either: the device cannot see them yet
  nic.hold(false);
  EXPECT_EQ(t.notified.size(), before);
  nic.hold(false);
  ASSERT_EQ(t.notified.size(), before + 1);
  EXPECT_EQ(t.notified.back(), 1);  // the transmit queue
  EXPECT_EQ(dev.available(), 5);
  uint16_t id;
  uint8_t first;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(dev.take(&id, &first));
    EXPECT_EQ(first, i);
    dev.give_back(id);
  }
  nic.hold(false);  // one too many: ignored, and nothing is kicked for nothing
  EXPECT_EQ(t.notified.size(), before + 1);
  // Not held: every send kicks, as before.
  EXPECT_TRUE(nic.send(frame, sizeof frame));
  EXPECT_EQ(t.notified.size(), before + 2);
  ASSERT_TRUE(dev.take(&id, &first));
  dev.give_back(id);

  // Held, with more frames than ring and backlog hold (16 + 16): the send that fails kicks.
  nic.hold(true);
  for (int i = 0; i < 32; ++i) {
    frame[0] = uint8_t(100 + i);
    ASSERT_TRUE(nic.send(frame, sizeof frame)) << i;
  }
  EXPECT_EQ(t.notified.size(), before + 2);
  EXPECT_FALSE(nic.send(frame, sizeof frame));
  EXPECT_EQ(t.notified.size(), before + 3);
  EXPECT_EQ(uint16_t(dev.available() - dev.seen), 16);
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(dev.take(&id, &first));
    EXPECT_EQ(first, 100 + i);
    dev.give_back(id);
  }
  // The end of the hold posts the waiting frames into the descriptors given back, and kicks.
  nic.hold(false);
  EXPECT_EQ(t.notified.size(), before + 4);
  for (int i = 16; i < 32; ++i) {
    ASSERT_TRUE(dev.take(&id, &first));
    EXPECT_EQ(first, 100 + i);
    dev.give_back(id);
  }
  EXPECT_FALSE(dev.take(&id, &first));
}
