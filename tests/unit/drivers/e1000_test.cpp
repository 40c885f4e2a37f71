#include <drivers/net/e1000.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

namespace {

// A recording register file that behaves like the parts of an 82540EM the driver relies on:
// CTRL.RST clears itself, RAL/RAH hold the EEPROM's MAC.
class MockIo : public drivers::Io {
 public:
  std::map<uint32_t, uint32_t> regs;
  std::vector<std::pair<uint32_t, uint32_t>> writes;
  uint8_t read8(uint32_t o) override { return uint8_t(read32(o)); }
  uint16_t read16(uint32_t o) override { return uint16_t(read32(o)); }
  uint32_t read32(uint32_t o) override {
    uint32_t v = regs[o];
    if (o == drivers::e1000::kCtrl) regs[o] &= ~drivers::e1000::kCtrlRst;  // reset completes
    return v;
  }
  void write8(uint32_t o, uint8_t v) override { write32(o, v); }
  void write16(uint32_t o, uint16_t v) override { write32(o, v); }
  void write32(uint32_t o, uint32_t v) override {
    writes.push_back({o, v});
    regs[o] = v;
    if (o == drivers::e1000::kEerd && (v & 1)) {  // an EEPROM read: done at once, word -> 0x5452
      const uint32_t word = (v >> 8) & 0xFF;
      regs[o] = (1u << 4) | (uint32_t(eeprom[word]) << 16);
    }
  }
  uint16_t eeprom[3] = {0x5452, 0x1200, 0x5634};
  size_t index_of(uint32_t reg) const {
    for (size_t i = 0; i < writes.size(); ++i) {
      if (writes[i].first == reg) return i;
    }
    return SIZE_MAX;
  }
  size_t writes_to(uint32_t reg) const {
    size_t n = 0;
    for (const auto& w : writes) n += w.first == reg;
    return n;
  }
};

std::vector<void*> g_blocks;
void* dma_alloc(size_t size, size_t align, void*) {
  void* p = aligned_alloc(align, (size + align - 1) / align * align);
  g_blocks.push_back(p);
  return p;
}
const drivers::DmaAllocator kDma{dma_alloc, nullptr};

struct Fixture : ::testing::Test {
  MockIo io;
  drivers::E1000 nic;
  void SetUp() override {
    io.regs[drivers::e1000::kRal] = 0x12005452;  // 52:54:00:12:34:56
    io.regs[drivers::e1000::kRah] = 0x80005634;
    ASSERT_TRUE(nic.init(io, kDma));
  }
  void TearDown() override {
    for (void* p : g_blocks) free(p);
    g_blocks.clear();
  }
};

using namespace drivers::e1000;

// The ring size is the owner's choice within what RDLEN can express; anything else is the default.
TEST(E1000Ring, SizeIsChosenAtInit) {
  const struct {
    uint32_t asked, got;
  } cases[] = {{1024, 1024}, {4096, 4096}, {512, 512}, {1000 + 4, 256}, {8, 256}, {8192, 256}};
  for (const auto& c : cases) {
    MockIo io;
    drivers::E1000 nic;
    ASSERT_TRUE(nic.init(io, kDma, c.asked));
    EXPECT_EQ(nic.rx_descs(), c.got) << c.asked;
    EXPECT_EQ(io.regs[drivers::e1000::kRdlen], c.got * 16);
    EXPECT_EQ(io.regs[drivers::e1000::kRdt], c.got - 1);
  }
  for (void* p : g_blocks) free(p);
  g_blocks.clear();
}

TEST_F(Fixture, InitSequenceFollowsTheManual) {
  // Interrupts masked, then reset, before anything else is programmed.
  EXPECT_LT(io.index_of(kImc), io.index_of(kCtrl));
  ASSERT_NE(io.index_of(kCtrl), SIZE_MAX);
  EXPECT_TRUE(io.writes[io.index_of(kCtrl)].second & kCtrlRst);
  // Link up, no reset bits left.
  EXPECT_TRUE(io.regs[kCtrl] & kCtrlSlu);
  EXPECT_FALSE(io.regs[kCtrl] & kCtrlRst);
  // Rings programmed before the units are enabled.
  EXPECT_LT(io.index_of(kRdbal), io.index_of(kRctl));
  EXPECT_LT(io.index_of(kRdt), io.index_of(kRctl));
  EXPECT_LT(io.index_of(kTdbal), io.index_of(kTctl));
  EXPECT_EQ(io.regs[kRdlen], nic.rx_descs() * 16);
  EXPECT_EQ(io.regs[kRdt], nic.rx_descs() - 1);  // every buffer but one given to the device
  EXPECT_EQ(io.regs[kRctl], kRctlEn | kRctlBam | kRctlSecrc);
  EXPECT_TRUE(io.regs[kTctl] & kTctlEn);
  EXPECT_EQ(io.regs[kTipg], 0x0060200Au);
  EXPECT_EQ(io.regs[kImc], 0xFFFFFFFFu);
  const drivers::MacAddress& m = nic.mac();
  EXPECT_EQ(m.b[0], 0x52);
  EXPECT_EQ(m.b[5], 0x56);
  // The multicast table is cleared.
  EXPECT_NE(io.index_of(kMta + 4 * 127), SIZE_MAX);
}

TEST(E1000, MacFromTheEepromWhenRahIsNotValid) {
  MockIo io;  // RAH without the address-valid bit: the driver reads the EEPROM
  drivers::E1000 nic;
  ASSERT_TRUE(nic.init(io, kDma));
  EXPECT_EQ(nic.mac().b[0], 0x52);
  EXPECT_EQ(nic.mac().b[1], 0x54);
  EXPECT_EQ(nic.mac().b[3], 0x12);
  EXPECT_EQ(nic.mac().b[5], 0x56);
  EXPECT_TRUE(io.regs[kRah] & (1u << 31));  // written back as valid
  for (void* p : g_blocks) free(p);
  g_blocks.clear();
}

TEST_F(Fixture, TransmitKeepsOneDescriptorFreeAndRecycles) {
  const uint8_t frame[60] = {1, 2, 3};
  // n - 1 frames in flight at most: TDT never comes back round to TDH (an empty ring for the card).
  for (uint32_t i = 0; i + 1 < drivers::E1000::kTxDescs; ++i) {
    ASSERT_TRUE(nic.send(frame, sizeof frame)) << i;
    EXPECT_EQ(io.regs[kTdt], (i + 1) % drivers::E1000::kTxDescs);
  }
  EXPECT_FALSE(nic.send(frame, sizeof frame));
  EXPECT_EQ(nic.counters().tx_full, 1u);
  EXPECT_NE(io.regs[kTdt], io.regs[kTdh]);
  // The device finishes descriptor 0: the ring moves on.
  nic.tx_ring()[0].status = kDescDone;
  EXPECT_TRUE(nic.send(frame, sizeof frame));
  EXPECT_EQ(nic.tx_ring()[31].cmd, kTxCmdEop | kTxCmdIfcs | kTxCmdRs);
  EXPECT_EQ(nic.tx_ring()[31].length, 60);
  EXPECT_FALSE(nic.send(frame, 0));
  EXPECT_FALSE(nic.send(frame, 5000));
}

// A held doorbell: TDT is written once for a burst, when the last hold ends; a send that finds
// the ring full writes it anyway (the card must take some before there is room).
TEST_F(Fixture, HeldDoorbellWritesTheTailOnceForABurst) {
  const uint8_t frame[60] = {1, 2, 3};
  const size_t before = io.writes_to(kTdt);
  nic.hold(true);
  nic.hold(true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(nic.send(frame, sizeof frame));
  nic.hold(false);
  EXPECT_EQ(io.writes_to(kTdt), before);
  EXPECT_EQ(io.regs[kTdt], 0u);
  nic.hold(false);
  EXPECT_EQ(io.writes_to(kTdt), before + 1);
  EXPECT_EQ(io.regs[kTdt], 3u);
  nic.hold(false);  // one too many: ignored
  EXPECT_EQ(io.writes_to(kTdt), before + 1);
  ASSERT_TRUE(nic.send(frame, sizeof frame));  // not held: at once
  EXPECT_EQ(io.regs[kTdt], 4u);
  // Held until the ring is full: the refused send hands the card all that waits.
  nic.hold(true);
  for (uint32_t i = 4; i + 1 < drivers::E1000::kTxDescs; ++i) ASSERT_TRUE(nic.send(frame, sizeof frame)) << i;
  EXPECT_EQ(io.regs[kTdt], 4u);
  EXPECT_FALSE(nic.send(frame, sizeof frame));
  EXPECT_EQ(io.regs[kTdt], drivers::E1000::kTxDescs - 1);
  const size_t after_full = io.writes_to(kTdt);
  nic.hold(false);  // nothing new since: no second write
  EXPECT_EQ(io.writes_to(kTdt), after_full);
}

TEST_F(Fixture, ReceiveTakesFramesInOrderAndReturnsBuffers) {
  uint8_t buf[2048];
  EXPECT_EQ(nic.receive(buf, sizeof buf), 0u);
  for (uint32_t i = 0; i < 40; ++i) {  // more than the ring: indices wrap
    const uint32_t slot = i % nic.rx_descs();
    memset(nic.rx_buffer(slot), int(i), 64);
    nic.rx_ring()[slot].length = 64;
    nic.rx_ring()[slot].errors = 0;
    nic.rx_ring()[slot].status = kDescDone | kRxEop;
    ASSERT_EQ(nic.receive(buf, sizeof buf), 64u);
    EXPECT_EQ(buf[10], uint8_t(i));
    EXPECT_EQ(io.regs[kRdt], slot);  // the buffer went back to the device
    EXPECT_EQ(nic.rx_ring()[slot].status, 0);
  }
  // A frame with errors is dropped and counted.
  const uint32_t slot = 40 % nic.rx_descs();
  nic.rx_ring()[slot].length = 64;
  nic.rx_ring()[slot].errors = 1;
  nic.rx_ring()[slot].status = kDescDone | kRxEop;
  EXPECT_EQ(nic.receive(buf, sizeof buf), 0u);
  EXPECT_EQ(nic.counters().rx_dropped, 1u);
  EXPECT_EQ(nic.counters().rx_frames, 40u);
}

}  // namespace

namespace {
TEST_F(Fixture, LinkStatusFromTheStatusRegister) {
  io.regs[drivers::e1000::kStatus] = 0;
  EXPECT_FALSE(nic.link_up());
  io.regs[drivers::e1000::kStatus] = 2;
  EXPECT_TRUE(nic.link_up());
}
}  // namespace

namespace {
TEST_F(Fixture, PollHandsFramesOverInTheDmaBuffers) {
  struct Seen {
    std::vector<const uint8_t*> where;
    std::vector<size_t> lengths;
  } seen;
  for (uint32_t slot = 0; slot < 3; ++slot) {
    nic.rx_buffer(slot)[0] = uint8_t(slot);
    nic.rx_ring()[slot].length = uint16_t(60 + slot);
    nic.rx_ring()[slot].errors = 0;
    nic.rx_ring()[slot].status = kDescDone | kRxEop;
  }
  auto collect = [](void* ctx, const uint8_t* frame, size_t length) {
    auto* s = static_cast<Seen*>(ctx);
    s->where.push_back(frame);
    s->lengths.push_back(length);
  };
  EXPECT_EQ(nic.poll(collect, &seen, 2), 2u);  // the budget is respected
  EXPECT_EQ(nic.poll(collect, &seen, 64), 1u);
  ASSERT_EQ(seen.where.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen.where[i], nic.rx_buffer(i));  // no copy: the device's own buffer
    EXPECT_EQ(seen.lengths[i], 60u + i);
  }
  // Buffers go back kGiveBackBatch at a time: three frames leave the tail where init put it.
  EXPECT_EQ(io.regs[kRdt], nic.rx_descs() - 1);
  EXPECT_EQ(nic.poll(collect, &seen, 64), 0u);
  // A frame over two buffers (no EOP on the first): both are dropped, the tail is no frame.
  for (uint32_t slot = 3; slot < 5; ++slot) {
    nic.rx_ring()[slot].length = 1000;
    nic.rx_ring()[slot].errors = 0;
    nic.rx_ring()[slot].status = uint8_t(kDescDone | (slot == 4 ? kRxEop : 0));
  }
  EXPECT_EQ(nic.poll(collect, &seen, 64), 0u);
  EXPECT_EQ(seen.where.size(), 3u);
  EXPECT_EQ(nic.counters().rx_dropped, 1u);
  // 32 buffers taken (5 so far): the tail moves to the last one taken, in one write.
  for (uint32_t slot = 5; slot < 40; ++slot) {
    nic.rx_ring()[slot].length = 60;
    nic.rx_ring()[slot].errors = 0;
    nic.rx_ring()[slot].status = kDescDone | kRxEop;
  }
  const size_t writes = io.writes_to(kRdt);
  EXPECT_EQ(nic.poll(collect, &seen, 64), 35u);
  EXPECT_EQ(io.writes_to(kRdt), writes + 1);
  EXPECT_EQ(io.regs[kRdt], drivers::E1000::kGiveBackBatch - 1);
}
}  // namespace
