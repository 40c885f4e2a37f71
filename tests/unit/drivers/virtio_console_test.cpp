// virtio-console (port 0, output and input) against a simulated device: a transport whose
// transmit queue (1) is served at the notification, or never (a stalled device), whose receive
// queue (0) the test fills with the host's bytes (type()), and whose features say what the
// driver may accept.
#include <drivers/console/virtio_console.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "sim_virtio.h"

namespace {

using drivers::VirtioConsole;
using drivers::Virtqueue;
namespace vc = drivers::virtio_console;

class SimConsole : public drivers::test::SimTransport {
 public:
  SimConsole() { offered = vc::kFeatureMultiport | vc::kFeatureVersion1; }
  uint16_t ring = 8;
  bool serve = true;  // false: the device takes nothing (a stalled host)
  uint64_t queues[2] = {};
  std::string out;  // what reached the host
  int notifies = 0, rx_notifies = 0;
  uint16_t seen = 0, used_idx = 0;
  uint16_t rx_seen = 0, rx_used_idx = 0;

  // The host sends `text`: it fills the receive buffers the driver posted, in order, each with
  // up to its length; returns how many bytes found room.
  size_t type(const std::string& text) {
    auto* base = reinterpret_cast<uint8_t*>(queues[0]);
    auto* descs = reinterpret_cast<Virtqueue::Desc*>(base);
    uint16_t avail_idx;
    memcpy(&avail_idx, base + 16u * ring + 2, 2);
    uint8_t* used = base + ((16u * ring + 6 + 2u * ring + 4095) & ~size_t(4095));
    size_t done = 0;
    for (; rx_seen != avail_idx && done < text.size(); ++rx_seen) {
      uint16_t head;
      memcpy(&head, base + 16u * ring + 4 + 2 * (rx_seen % ring), 2);
      const Virtqueue::Desc& d = descs[head];
      EXPECT_TRUE(d.flags & Virtqueue::kWrite);  // the host writes a receive buffer
      const uint32_t n = uint32_t(std::min<size_t>(d.length, text.size() - done));
      memcpy(reinterpret_cast<void*>(d.address), text.data() + done, n);
      done += n;
      const uint32_t id32 = head;
      memcpy(used + 4 + 8 * (rx_used_idx % ring), &id32, 4);
      memcpy(used + 8 + 8 * (rx_used_idx % ring), &n, 4);
      ++rx_used_idx;
      memcpy(used + 2, &rx_used_idx, 2);
    }
    return done;
  }
  bool interrupts_wanted() const {  // VIRTQ_AVAIL_F_NO_INTERRUPT clear on the receive queue
    uint16_t flags;
    memcpy(&flags, reinterpret_cast<const uint8_t*>(queues[0]) + 16u * ring, 2);
    return (flags & 1) == 0;
  }

  uint16_t queue_size(uint16_t q) override { return q < 2 ? ring : 0; }
  bool set_queue(uint16_t q, uint16_t, uint64_t phys) override {
    if (q >= 2) return false;
    queues[q] = phys;
    return true;
  }
  uint8_t config8(uint32_t) override { return 0; }
  void ack_interrupt() override {}
  void notify(uint16_t q) override {
    ++notifies;
    if (q == 0) ++rx_notifies;
    if (q != 1 || !serve) return;
    auto* base = reinterpret_cast<uint8_t*>(queues[1]);
    auto* descs = reinterpret_cast<Virtqueue::Desc*>(base);
    uint16_t avail_idx;
    memcpy(&avail_idx, base + 16u * ring + 2, 2);
    uint8_t* used = base + ((16u * ring + 6 + 2u * ring + 4095) & ~size_t(4095));
    for (; seen != avail_idx; ++seen) {
      uint16_t head;
      memcpy(&head, base + 16u * ring + 4 + 2 * (seen % ring), 2);
      const Virtqueue::Desc& d = descs[head];
      EXPECT_FALSE(d.flags & Virtqueue::kWrite);  // the host reads a transmit buffer
      out.append(reinterpret_cast<const char*>(d.address), d.length);
      const uint32_t id32 = head, length = 0;
      memcpy(used + 4 + 8 * (used_idx % ring), &id32, 4);
      memcpy(used + 8 + 8 * (used_idx % ring), &length, 4);
      ++used_idx;
      memcpy(used + 2, &used_idx, 2);
    }
  }
};

TEST(VirtioConsole, InitAcceptsOnePortAndWrites) {
  for (bool modern : {false, true}) {
    SimConsole t;
    t.is_modern = modern;
    drivers::test::Memory m;
    VirtioConsole con;
    ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_EQ(t.accepted & vc::kFeatureMultiport, 0u);  // one port: no control queues
    EXPECT_EQ(t.accepted, modern ? vc::kFeatureVersion1 : 0u);
    EXPECT_NE(t.queues[0], 0u);
    EXPECT_NE(t.queues[1], 0u);
    EXPECT_TRUE(t.statuses.back() & drivers::virtio::kDriverOk);
    EXPECT_EQ(t.rx_notifies, 1);  // the receive buffers, announced after DRIVER_OK
    EXPECT_EQ(con.write("Hello World, I am TORO !!!\n", 27), 27u);
    EXPECT_EQ(con.write("second\n", 7), 7u);
    EXPECT_EQ(t.out, "Hello World, I am TORO !!!\nsecond\n");
    EXPECT_EQ(con.bytes_written(), 34u);
  }
}

// More than a buffer: in order, in pieces of kBuffer, the ring's descriptors reused.
TEST(VirtioConsole, LongWritesInPieces) {
  SimConsole t;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  std::string text;
  for (size_t i = 0; i < 3 * vc::kBuffer + 123; ++i) text += char('a' + i % 26);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(con.write(text.data(), text.size()), text.size());
  EXPECT_EQ(t.out.size(), 5 * text.size());
  EXPECT_EQ(t.out.substr(0, text.size()), text);
  EXPECT_EQ(t.notifies - t.rx_notifies, 5 * 4);
}

// A device that takes nothing: the write gives up (a bounded wait), says so, and later writes
// neither hang nor reuse the buffer the device may still read.
TEST(VirtioConsole, StalledDeviceDoesNotHang) {
  SimConsole t;
  t.serve = false;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  EXPECT_EQ(con.write("lost\n", 5), 0u);
  EXPECT_EQ(con.timeouts(), 1u);
  EXPECT_EQ(con.write("also\n", 5), 0u);  // the buffer is still the device's
  EXPECT_EQ(t.notifies - t.rx_notifies, 1);
  t.serve = true;
  t.notify(1);  // the device wakes up and returns the first buffer
  EXPECT_EQ(con.write("back\n", 5), 5u);
  EXPECT_EQ(t.out, "lost\nback\n");
}

// Input: what the host sends comes out of try_get in order, across buffers; a buffer read to
// its end goes back to the device, so input longer than every posted buffer together arrives
// as the reader keeps up. Interrupts only when asked for.
TEST(VirtioConsole, InputInOrderAcrossBuffers) {
  SimConsole t;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  char c;
  EXPECT_FALSE(con.try_get(&c));
  EXPECT_FALSE(t.interrupts_wanted());
  con.input_interrupts(true);
  EXPECT_TRUE(t.interrupts_wanted());
  con.input_interrupts(false);
  EXPECT_FALSE(t.interrupts_wanted());
  // More than the posted buffers hold: the host waits for room, as a character device does.
  std::string text;
  for (size_t i = 0; i < 3 * vc::kInputBuffers * vc::kInputBuffer + 17; ++i) text += char('A' + i % 26);
  std::string got;
  size_t sent = 0;
  while (got.size() < text.size()) {
    sent += t.type(text.substr(sent));
    while (con.try_get(&c)) got += c;
    ASSERT_GT(t.rx_notifies, 0);  // buffers went back (QEMU waits for a notification)
  }
  EXPECT_EQ(got, text);
  EXPECT_FALSE(con.try_get(&c));
  EXPECT_EQ(t.type("$qSupported#37"), 14u);  // still posted after all that
  got.clear();
  while (con.try_get(&c)) got += c;
  EXPECT_EQ(got, "$qSupported#37");
}

// A used entry naming a buffer that is not one of the receive buffers is skipped, not read.
TEST(VirtioConsole, InputIgnoresForeignBuffers) {
  SimConsole t;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  auto* descs = reinterpret_cast<Virtqueue::Desc*>(t.queues[0]);
  static char foreign[8] = "secret!";
  descs[0].address = reinterpret_cast<uintptr_t>(foreign);  // a confused device's entry
  EXPECT_EQ(t.type("abcdefgh"), 8u);                        // into the foreign buffer (descriptor 0)
  char c;
  EXPECT_FALSE(con.try_get(&c));
  EXPECT_EQ(t.type("xy"), 2u);  // the next buffer is the driver's own
  ASSERT_TRUE(con.try_get(&c));
  EXPECT_EQ(c, 'x');
}

TEST(VirtioConsole, ModernDeviceWithoutVersion1Fails) {
  SimConsole t;
  t.is_modern = true;
  t.offered = 0;
  drivers::test::Memory m;
  VirtioConsole con;
  EXPECT_FALSE(con.init(t, {drivers::test::Memory::alloc, &m}));
  EXPECT_EQ(t.statuses.back(), drivers::virtio::kFailed);
}

}  // namespace
