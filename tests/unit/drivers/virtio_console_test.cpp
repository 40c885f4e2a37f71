// virtio-console against a simulated device: a transport whose transmit queues are served at
// the notification, or never (a stalled device), whose receive queues the test fills with the
// host's bytes (type()), whose features say what the driver may accept, and which, with
// MULTIPORT, answers the control queue as QEMU's virtio-serial does (DEVICE_ADD for each port
// after DEVICE_READY; CONSOLE_PORT and the host's PORT_OPEN after PORT_READY).
#include <drivers/console/virtio_console.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "sim_virtio.h"

namespace {

using drivers::VirtioConsole;
using drivers::Virtqueue;
namespace vc = drivers::virtio_console;

class SimConsole : public drivers::test::SimTransport {
 public:
  static constexpr int kQueues = 6;                 // port 0 (0, 1), control (2, 3), port 1 (4, 5)
  SimConsole() { offered = vc::kFeatureVersion1; }  // MULTIPORT: multiport()
  uint16_t ring = 8;
  bool serve = true;  // false: the device takes nothing (a stalled host)
  uint64_t queues[kQueues] = {};
  std::string out[2];  // what reached the host, per port
  int notifies[kQueues] = {};
  uint16_t seen[kQueues] = {}, used_idx[kQueues] = {};
  uint32_t max_ports = 1;
  std::vector<uint32_t> ports;      // the ports the device adds (MULTIPORT)
  std::vector<std::string> events;  // the driver's control messages, as "event:id:value"
  bool guest_open[2] = {};

  void multiport(uint32_t max, std::vector<uint32_t> present) {
    offered |= vc::kFeatureMultiport;
    max_ports = max;
    ports = std::move(present);
  }
  uint16_t queue_size(uint16_t q) override { return q < kQueues ? ring : 0; }
  bool set_queue(uint16_t q, uint16_t, uint64_t phys) override {
    if (q >= kQueues) return false;
    queues[q] = phys;
    return true;
  }
  uint8_t config8(uint32_t offset) override {  // max_nr_ports at 4
    return offset >= 4 && offset < 8 ? uint8_t(max_ports >> (8 * (offset - 4))) : 0;
  }
  void ack_interrupt() override {}

  // Serves queue q's new entries: fn(descriptor) returns the bytes the device wrote.
  void take(uint16_t q, const std::function<uint32_t(const Virtqueue::Desc&)>& fn, size_t max = ~size_t(0)) {
    auto* base = reinterpret_cast<uint8_t*>(queues[q]);
    auto* descs = reinterpret_cast<Virtqueue::Desc*>(base);
    uint16_t avail_idx;
    memcpy(&avail_idx, base + 16u * ring + 2, 2);
    uint8_t* used = base + ((16u * ring + 6 + 2u * ring + 4095) & ~size_t(4095));
    for (size_t n = 0; seen[q] != avail_idx && n < max; ++seen[q], ++n) {
      uint16_t head;
      memcpy(&head, base + 16u * ring + 4 + 2 * (seen[q] % ring), 2);
      const uint32_t id32 = head, length = fn(descs[head]);
      memcpy(used + 4 + 8 * (used_idx[q] % ring), &id32, 4);
      memcpy(used + 8 + 8 * (used_idx[q] % ring), &length, 4);
      ++used_idx[q];
      memcpy(used + 2, &used_idx[q], 2);
    }
  }
  // The host sends `text` to port `port`: it fills the receive buffers the driver posted, in
  // order, each with up to its length; returns how many bytes found room.
  size_t type(const std::string& text, int port = 0) {
    size_t done = 0;
    const uint16_t q = port == 0 ? 0 : 4;
    while (done < text.size()) {
      const size_t before = done;
      take(
          q,
          [&](const Virtqueue::Desc& d) {
            EXPECT_TRUE(d.flags & Virtqueue::kWrite);  // the host writes a receive buffer
            const uint32_t n = uint32_t(std::min<size_t>(d.length, text.size() - done));
            memcpy(reinterpret_cast<void*>(d.address), text.data() + done, n);
            done += n;
            return n;
          },
          1);
      if (done == before) break;  // no buffer left
    }
    return done;
  }
  // A control message from the device (to the driver's control receive queue).
  void announce(uint32_t id, uint16_t event, uint16_t value) {
    take(
        2,
        [&](const Virtqueue::Desc& d) {
          EXPECT_GE(d.length, 8u);
          memcpy(reinterpret_cast<uint8_t*>(d.address), &id, 4);
          memcpy(reinterpret_cast<uint8_t*>(d.address) + 4, &event, 2);
          memcpy(reinterpret_cast<uint8_t*>(d.address) + 6, &value, 2);
          return 8u;
        },
        1);
  }
  bool interrupts_wanted(int port = 0) const {  // VIRTQ_AVAIL_F_NO_INTERRUPT clear on the receive queue
    uint16_t flags;
    memcpy(&flags, reinterpret_cast<const uint8_t*>(queues[port == 0 ? 0 : 4]) + 16u * ring, 2);
    return (flags & 1) == 0;
  }
  int transmit_notifies() const { return notifies[1] + notifies[5]; }

  void notify(uint16_t q) override {
    ++notifies[q];
    if (!serve || q % 2 == 0) return;
    if (q == 3) {  // control messages from the driver: answered as QEMU does, at once
      take(3, [&](const Virtqueue::Desc& d) {
        uint32_t id;
        uint16_t event, value;
        memcpy(&id, reinterpret_cast<const void*>(d.address), 4);
        memcpy(&event, reinterpret_cast<const uint8_t*>(d.address) + 4, 2);
        memcpy(&value, reinterpret_cast<const uint8_t*>(d.address) + 6, 2);
        events.push_back(std::to_string(event) + ":" + std::to_string(id) + ":" + std::to_string(value));
        if (event == vc::kDeviceReady) {
          for (uint32_t p : ports) announce(p, vc::kDeviceAdd, 1);
        } else if (event == vc::kPortReady) {
          if (id == 0) announce(id, 4, 1);  // CONSOLE_PORT
          announce(id, 7, 0);               // PORT_NAME (ignored)
          announce(id, vc::kPortOpen, 1);   // the host side is connected
        } else if (event == vc::kPortOpen && id < 2) {
          guest_open[id] = value == 1;
        }
        return 0u;
      });
      return;
    }
    const int port = q == 1 ? 0 : 1;
    take(q, [&](const Virtqueue::Desc& d) {
      EXPECT_FALSE(d.flags & Virtqueue::kWrite);  // the host reads a transmit buffer
      out[port].append(reinterpret_cast<const char*>(d.address), d.length);
      return 0u;
    });
  }
};

TEST(VirtioConsole, InitAcceptsOnePortAndWrites) {
  for (bool modern : {false, true}) {
    SimConsole t;
    t.is_modern = modern;
    drivers::test::Memory m;
    VirtioConsole con;
    ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_EQ(t.accepted, modern ? vc::kFeatureVersion1 : 0u);  // no MULTIPORT offered: one port
    EXPECT_NE(t.queues[0], 0u);
    EXPECT_NE(t.queues[1], 0u);
    EXPECT_EQ(t.queues[2], 0u);  // no control queues
    EXPECT_TRUE(t.statuses.back() & drivers::virtio::kDriverOk);
    EXPECT_EQ(t.notifies[0], 1);  // the receive buffers, announced after DRIVER_OK
    ASSERT_NE(con.port(0), nullptr);
    EXPECT_EQ(con.port(1), nullptr);
    EXPECT_EQ(con.port(0)->port(0), con.port(0));
    EXPECT_EQ(con.port(0)->write("Hello World, I am TORO !!!\n", 27), 27u);
    EXPECT_EQ(con.port(0)->write("second\n", 7), 7u);
    EXPECT_EQ(t.out[0], "Hello World, I am TORO !!!\nsecond\n");
    EXPECT_EQ(con.port(0)->bytes_written(), 34u);
  }
}

// MULTIPORT: DEVICE_READY, then for each port the device adds PORT_READY and PORT_OPEN; port 1
// is a console device of its own (the debug rings' with console=virtio), with its own queues.
TEST(VirtioConsole, MultiportOpensPortsZeroAndOne) {
  for (bool modern : {false, true}) {
    SimConsole t;
    t.is_modern = modern;
    t.multiport(31, {0, 1, 2});
    drivers::test::Memory m;
    VirtioConsole con;
    ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_TRUE(t.accepted & vc::kFeatureMultiport);
    EXPECT_EQ(t.events, (std::vector<std::string>{"0:0:1", "3:0:1", "6:0:1", "3:1:1", "6:1:1"}));  // not port 2
    EXPECT_TRUE(t.guest_open[0] && t.guest_open[1]);
    ASSERT_NE(con.port(0), nullptr);
    ASSERT_NE(con.port(1), nullptr);
    EXPECT_EQ(con.port(0)->port(1), con.port(1));
    EXPECT_EQ(con.port(1)->port(0), con.port(0));
    EXPECT_EQ(t.notifies[0], 1);
    EXPECT_EQ(t.notifies[4], 1);
    EXPECT_EQ(con.port(0)->write("console\n", 8), 8u);
    EXPECT_EQ(con.port(1)->write("debug\n", 6), 6u);
    EXPECT_EQ(t.out[0], "console\n");
    EXPECT_EQ(t.out[1], "debug\n");
    EXPECT_EQ(t.type("to one", 1), 6u);
    EXPECT_EQ(t.type("to zero", 0), 7u);
    std::string got;
    char c;
    while (con.port(1)->try_get(&c)) got += c;
    EXPECT_EQ(got, "to one");
    got.clear();
    while (con.port(0)->try_get(&c)) got += c;
    EXPECT_EQ(got, "to zero");
  }
}

// A device that allows one port (max_nr_ports 1) or adds only port 0: port 1 is absent. One
// that does not add port 0 is refused (the console would write into a closed port).
TEST(VirtioConsole, MultiportWithoutPortOne) {
  {
    SimConsole t;
    t.multiport(1, {0});
    drivers::test::Memory m;
    VirtioConsole con;
    ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_EQ(t.queues[4], 0u);  // port 1's queues not set up
    EXPECT_EQ(con.port(1), nullptr);
  }
  {
    SimConsole t;
    t.multiport(4, {0});
    drivers::test::Memory m;
    VirtioConsole con;
    ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_NE(t.queues[4], 0u);
    EXPECT_EQ(con.port(1), nullptr);  // set up, never added
    EXPECT_EQ(t.notifies[4], 0);
  }
  {
    SimConsole t;
    t.multiport(4, {1});
    drivers::test::Memory m;
    VirtioConsole con;
    EXPECT_FALSE(con.init(t, {drivers::test::Memory::alloc, &m}));
    EXPECT_EQ(t.statuses.back(), drivers::virtio::kFailed);
  }
}

// A device that never answers the control queue: init gives up (bounded) instead of hanging.
TEST(VirtioConsole, MultiportSilentDeviceDoesNotHang) {
  SimConsole t;
  t.multiport(2, {0, 1});
  t.serve = false;
  drivers::test::Memory m;
  VirtioConsole con;
  EXPECT_FALSE(con.init(t, {drivers::test::Memory::alloc, &m}));
}

// More than a buffer: in order, in pieces of kBuffer, the ring's descriptors reused.
TEST(VirtioConsole, LongWritesInPieces) {
  SimConsole t;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  std::string text;
  for (size_t i = 0; i < 3 * vc::kBuffer + 123; ++i) text += char('a' + i % 26);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(con.port(0)->write(text.data(), text.size()), text.size());
  EXPECT_EQ(t.out[0].size(), 5 * text.size());
  EXPECT_EQ(t.out[0].substr(0, text.size()), text);
  EXPECT_EQ(t.transmit_notifies(), 5 * 4);
}

// A device that takes nothing: the write gives up (a bounded wait), says so, and later writes
// neither hang nor reuse the buffer the device may still read.
TEST(VirtioConsole, StalledDeviceDoesNotHang) {
  SimConsole t;
  t.serve = false;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  auto* port = con.port(0);
  EXPECT_EQ(port->write("lost\n", 5), 0u);
  EXPECT_EQ(port->timeouts(), 1u);
  EXPECT_EQ(port->write("also\n", 5), 0u);  // the buffer is still the device's
  EXPECT_EQ(t.transmit_notifies(), 1);
  t.serve = true;
  t.notify(1);  // the device wakes up and returns the first buffer
  EXPECT_EQ(port->write("back\n", 5), 5u);
  EXPECT_EQ(t.out[0], "lost\nback\n");
}

// Input: what the host sends comes out of try_get in order, across buffers; a buffer read to
// its end goes back to the device, so input longer than every posted buffer together arrives
// as the reader keeps up. Interrupts only when asked for.
TEST(VirtioConsole, InputInOrderAcrossBuffers) {
  SimConsole t;
  drivers::test::Memory m;
  VirtioConsole con;
  ASSERT_TRUE(con.init(t, {drivers::test::Memory::alloc, &m}));
  auto* port = con.port(0);
  char c;
  EXPECT_FALSE(port->try_get(&c));
  EXPECT_FALSE(t.interrupts_wanted());
  port->input_interrupts(true);
  EXPECT_TRUE(t.interrupts_wanted());
  port->input_interrupts(false);
  EXPECT_FALSE(t.interrupts_wanted());
  // More than the posted buffers hold: the host waits for room, as a character device does.
  std::string text;
  for (size_t i = 0; i < 3 * vc::kInputBuffers * vc::kInputBuffer + 17; ++i) text += char('A' + i % 26);
  std::string got;
  size_t sent = 0;
  const int notified_at_init = t.notifies[0];
  while (got.size() < text.size()) {
    sent += t.type(text.substr(sent));
    while (port->try_get(&c)) got += c;
    ASSERT_GT(t.notifies[0], notified_at_init);  // buffers went back (QEMU waits for a notification)
  }
  EXPECT_EQ(got, text);
  EXPECT_FALSE(port->try_get(&c));
  EXPECT_EQ(t.type("$qSupported#37"), 14u);  // still posted after all that
  got.clear();
  while (port->try_get(&c)) got += c;
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
  EXPECT_FALSE(con.port(0)->try_get(&c));
  EXPECT_EQ(t.type("xy"), 2u);  // the next buffer is the driver's own
  ASSERT_TRUE(con.port(0)->try_get(&c));
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
