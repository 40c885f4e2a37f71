// The ATA PIO driver against a simulated channel (sim_ata.h): IDENTIFY of master and slave,
// the 28-/48-bit command choice, multi-sector transfers byte for byte, the channel's queue,
// FLUSH CACHE, error status, timeouts measured by a fake clock, and the exact register writes.
#include <drivers/block/ata.h>
#include <drivers/device.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "sim_ata.h"

namespace {

using drivers::AtaChannel;
using drivers::BlockDevice;
using drivers::BlockOp;
using drivers::BlockRequest;
using drivers::test::SimAtaChannel;
using drivers::test::SimAtaDrive;
using klib::Error;
namespace ata = drivers::ata;

// The fake clock: microseconds that pass only when a test says so (plus `step` at every look).
uint64_t g_now = 0;
uint64_t g_step = 0;
uint64_t fake_clock() { return g_now += g_step; }

struct Finished {
  std::vector<BlockRequest*> order;
  static void on_done(BlockRequest& r, void* ctx) { static_cast<Finished*>(ctx)->order.push_back(&r); }
};

BlockRequest request(BlockOp op, uint64_t lba = 0, uint32_t count = 0, void* buffer = nullptr) {
  BlockRequest r{};
  r.op = op;
  r.lba = lba;
  r.count = count;
  r.buffer = buffer;
  return r;
}
BlockRequest read_req(uint64_t lba, uint32_t count, void* buffer) {
  return request(BlockOp::kRead, lba, count, buffer);
}
BlockRequest write_req(uint64_t lba, uint32_t count, void* buffer) {
  return request(BlockOp::kWrite, lba, count, buffer);
}

std::vector<uint8_t> pattern(size_t sectors, uint8_t seed) {
  std::vector<uint8_t> v(sectors * 512);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t(i * 7 + seed + i / 512);
  return v;
}

struct Ata : ::testing::Test {
  SimAtaChannel sim;
  AtaChannel channel;
  Finished finished;
  uint64_t delivered = 0;  // interrupt edges handed to complete()

  void SetUp() override {
    g_now = 1000;
    g_step = 0;
  }
  void init(uint64_t timeout_us = ata::kDefaultTimeoutUs) {
    ASSERT_TRUE(channel.init(sim, fake_clock, timeout_us).ok());
    sim.writes.clear();
    sim.commands.clear();
  }
  // What the kernel does: complete() at every interrupt; the simulated drives get their time.
  // Returns when `want` requests have finished or nothing moves any more.
  void run(size_t want) {
    for (int round = 0; round < 1000000 && finished.order.size() < want; ++round) {
      if (sim.irq_edges > delivered) {
        delivered = sim.irq_edges;
        channel.complete(Finished::on_done, &finished);
      } else if (!sim.tick()) {
        return;
      }
    }
  }
  // Polling only: interrupts are ignored.
  void poll(size_t want, int rounds = 100000) {
    for (int round = 0; round < rounds && finished.order.size() < want; ++round) {
      sim.tick();
      channel.complete(Finished::on_done, &finished);
    }
  }
};

TEST_F(Ata, IdentifiesMasterAndSlave) {
  sim.drive[0].sectors = 1ull << 30;  // 512 GiB, LBA48
  sim.drive[0].model = "QEMU HARDDISK";
  sim.drive[1].lba48 = false;
  sim.drive[1].sectors = 20480;
  sim.drive[1].model = "Generic 1234";
  init();
  ASSERT_NE(channel.drive(0), nullptr);
  ASSERT_NE(channel.drive(1), nullptr);
  EXPECT_EQ(channel.first_drive(), channel.drive(0));
  EXPECT_EQ(channel.drive(0)->sectors(), 1ull << 30);
  EXPECT_TRUE(channel.drive(0)->identity().lba48);
  EXPECT_STREQ(channel.drive(0)->identity().model, "QEMU HARDDISK");
  EXPECT_EQ(channel.drive(0)->max_sectors(), 65536u);
  EXPECT_EQ(channel.drive(1)->sectors(), 20480u);
  EXPECT_FALSE(channel.drive(1)->identity().lba48);
  EXPECT_STREQ(channel.drive(1)->identity().model, "Generic 1234");
  EXPECT_EQ(channel.drive(1)->max_sectors(), 256u);
  EXPECT_EQ(channel.drive(0)->sector_size(), 512u);
  EXPECT_FALSE(channel.drive(0)->read_only());
  // Through the BlockDevice interface: the channel's drives, whichever one is asked.
  BlockDevice* master = channel.drive(0);
  EXPECT_EQ(master->drive_places(), 2u);
  EXPECT_EQ(master->drive(0), master);
  EXPECT_EQ(master->drive(1), channel.drive(1));
  EXPECT_EQ(channel.drive(1)->drive(0), master);
  EXPECT_EQ(master->drive(2), nullptr);
}

TEST_F(Ata, AbsentAndPacketSlavesAreLeftOut) {
  sim.drive[1].kind = SimAtaDrive::Kind::kAbsent;
  init();
  EXPECT_NE(channel.drive(0), nullptr);
  EXPECT_EQ(channel.drive(1), nullptr);
  EXPECT_EQ(channel.drive(0)->drive(1), nullptr);

  SimAtaChannel cd;
  cd.drive[1].kind = SimAtaDrive::Kind::kAtapi;  // a CD-ROM: IDENTIFY DEVICE aborted, signature 14h EBh
  AtaChannel c;
  ASSERT_TRUE(c.init(cd, fake_clock).ok());
  EXPECT_NE(c.drive(0), nullptr);
  EXPECT_EQ(c.drive(1), nullptr);

  SimAtaChannel slave_only;  // the master place empty: the slave is the first drive
  slave_only.drive[0].kind = SimAtaDrive::Kind::kAbsent;
  AtaChannel s;
  ASSERT_TRUE(s.init(slave_only, fake_clock).ok());
  EXPECT_EQ(s.drive(0), nullptr);
  ASSERT_NE(s.drive(1), nullptr);
  EXPECT_EQ(s.first_drive(), s.drive(1));
  EXPECT_EQ(s.first_drive()->drive(0), nullptr);
}

TEST_F(Ata, NoChannelOrNoDiskIsNoDevice) {
  sim.floating = true;  // q35, microvm: nothing answers at 0x1F0
  EXPECT_EQ(ata::probe(sim, fake_clock), 0);
  EXPECT_EQ(channel.init(sim, fake_clock).error(), Error::kNoDevice);
  EXPECT_TRUE(sim.writes.empty());  // one read, nothing written

  SimAtaChannel empty;  // a channel with both places empty: status reads 0
  empty.drive[0].kind = SimAtaDrive::Kind::kAbsent;
  empty.drive[1].kind = SimAtaDrive::Kind::kAbsent;
  EXPECT_EQ(ata::probe(empty, fake_clock), 0);
  SimAtaChannel cdrom_only;
  cdrom_only.drive[0].kind = SimAtaDrive::Kind::kAtapi;
  cdrom_only.drive[1].kind = SimAtaDrive::Kind::kAbsent;
  EXPECT_EQ(ata::probe(cdrom_only, fake_clock), 0);
  AtaChannel c;
  EXPECT_EQ(c.init(cdrom_only, fake_clock).error(), Error::kNoDevice);
  EXPECT_EQ(c.first_drive(), nullptr);
  // No clock to bound the waits with: no probe.
  SimAtaChannel disk;
  EXPECT_EQ(ata::probe(disk, nullptr), 0);
  EXPECT_TRUE(disk.writes.empty());
}

TEST_F(Ata, IdentifyParsing) {
  SimAtaDrive d;
  d.sectors = 0x12345678;
  std::array<uint16_t, 256> w = d.identify();
  ata::Identity id;
  ASSERT_TRUE(ata::parse_identify(w.data(), &id));
  EXPECT_EQ(id.sectors, 0x12345678u);
  EXPECT_TRUE(id.lba48 && id.flush && id.flush_ext);
  d.lba48 = false;
  d.cache = false;
  w = d.identify();
  ASSERT_TRUE(ata::parse_identify(w.data(), &id));
  EXPECT_EQ(id.sectors, 0x0FFFFFFFu);  // 28-bit: what words 60-61 can say
  EXPECT_FALSE(id.lba48 || id.flush || id.flush_ext);
  w[49] = 0;  // CHS only
  EXPECT_FALSE(ata::parse_identify(w.data(), &id));
  w = d.identify();
  w[0] = 0x8580;  // ATAPI
  EXPECT_FALSE(ata::parse_identify(w.data(), &id));
  w = d.identify();
  w[60] = w[61] = 0;
  EXPECT_FALSE(ata::parse_identify(w.data(), &id));
}

// 28-bit commands reach sectors below 2^28 with at most 256 sectors; past either, an LBA48
// drive gets the EXT command, and the registers carry the right LBA and count.
TEST_F(Ata, TwentyEightBitUntilTheRangeNeedsMore) {
  constexpr uint64_t k28 = 1ull << 28;
  sim.drive[0].sectors = k28 + 100000;
  sim.drive[1].lba48 = false;
  sim.drive[1].sectors = k28 - 1;
  init();
  std::vector<uint8_t> buf(300 * 512);
  const struct {
    uint8_t unit;
    uint64_t lba;
    uint32_t count;
    uint8_t command;
  } cases[] = {
      {0, k28 - 8, 8, ata::kCmdReadSectors},         // ends at the last 28-bit sector
      {0, k28 - 4, 8, ata::kCmdReadSectorsExt},      // crosses the boundary
      {0, k28, 1, ata::kCmdReadSectorsExt},          // beyond it
      {0, k28 + 99999, 1, ata::kCmdReadSectorsExt},  // the last sector of the drive
      {0, 0, 256, ata::kCmdReadSectors},             // 256: count register 0
      {0, 0, 257, ata::kCmdReadSectorsExt},          // more than a 28-bit command can carry
      {0, 0x0ABCDEF, 3, ata::kCmdReadSectors},
      {1, k28 - 2, 1, ata::kCmdReadSectors},  // no LBA48: 28-bit to its end
      {1, 5, 256, ata::kCmdReadSectors},
  };
  size_t n = 0;
  for (const auto& c : cases) {
    BlockRequest r = read_req(c.lba, c.count, buf.data());
    ASSERT_TRUE(channel.drive(c.unit)->submit(r).ok());
    run(++n);
    ASSERT_EQ(finished.order.size(), n);
    EXPECT_EQ(r.error, Error::kNone) << c.lba;
    ASSERT_EQ(sim.commands.size(), n);
    EXPECT_EQ(sim.commands.back().command, c.command) << c.lba << " " << c.count;
    EXPECT_EQ(sim.commands.back().lba, c.lba);
    EXPECT_EQ(sim.commands.back().count, c.count);
    EXPECT_EQ(sim.commands.back().unit, c.unit);
  }
  // Beyond the drive, more than it takes at once, nothing: refused, never queued.
  BlockRequest beyond = read_req(k28 + 100000, 1, buf.data());
  EXPECT_EQ(channel.drive(0)->submit(beyond).error(), Error::kInvalidArgument);
  BlockRequest across = read_req(k28 + 99999, 2, buf.data());
  EXPECT_EQ(channel.drive(0)->submit(across).error(), Error::kInvalidArgument);
  BlockRequest too_many = read_req(0, 257, buf.data());
  EXPECT_EQ(channel.drive(1)->submit(too_many).error(), Error::kInvalidArgument);
  BlockRequest none = read_req(0, 0, buf.data());
  EXPECT_EQ(channel.drive(0)->submit(none).error(), Error::kInvalidArgument);
  BlockRequest huge = read_req(0, 65537, buf.data());
  EXPECT_EQ(channel.drive(0)->submit(huge).error(), Error::kInvalidArgument);
  BlockRequest wrap = read_req(~0ull, 2, buf.data());
  EXPECT_EQ(channel.drive(0)->submit(wrap).error(), Error::kInvalidArgument);
  EXPECT_TRUE(channel.idle());
  EXPECT_EQ(sim.commands.size(), n);
}

// Data through the data port, one interrupt per sector, byte for byte, also into a buffer at
// an odd address; the counters follow.
TEST_F(Ata, MultiSectorWriteAndReadAreByteExact) {
  sim.slow = true;  // every sector is its own interrupt
  sim.drive[0].sectors = 1ull << 29;
  init();
  const uint64_t identify_reads = sim.data_reads;
  BlockDevice* disk = channel.drive(0);
  std::vector<uint8_t> data = pattern(40, 3);
  BlockRequest w = write_req(100, 40, data.data());
  ASSERT_TRUE(disk->submit(w).ok());
  run(1);
  ASSERT_EQ(finished.order.size(), 1u);
  EXPECT_EQ(w.error, Error::kNone);
  EXPECT_EQ(sim.irq_edges, 40u);  // one for each sector taken
  for (uint64_t s = 0; s < 40; ++s) {
    ASSERT_EQ(memcmp(sim.drive[0].sector(100 + s).data(), data.data() + s * 512, 512), 0) << s;
  }
  EXPECT_EQ(sim.drive[0].disk.count(99), 0u);
  EXPECT_EQ(sim.drive[0].disk.count(140), 0u);

  std::vector<uint8_t> back(40 * 512 + 1, 0xEE);
  uint8_t* odd = back.data() + 1;
  BlockRequest r = read_req(100, 40, odd);
  ASSERT_TRUE(disk->submit(r).ok());
  run(2);
  ASSERT_EQ(finished.order.size(), 2u);
  EXPECT_EQ(r.error, Error::kNone);
  EXPECT_EQ(memcmp(odd, data.data(), data.size()), 0);
  EXPECT_EQ(back[0], 0xEE);
  EXPECT_EQ(sim.irq_edges, 80u);
  EXPECT_EQ(sim.data_reads - identify_reads, 40u * 256);

  // A 48-bit write of 300 sectors from an odd address, read back into an aligned buffer.
  std::vector<uint8_t> big = pattern(301, 9);
  BlockRequest w48 = write_req((1ull << 28) - 10, 300, big.data() + 1);
  ASSERT_TRUE(disk->submit(w48).ok());
  run(3);
  std::vector<uint8_t> big_back(300 * 512);
  BlockRequest r48 = read_req((1ull << 28) - 10, 300, big_back.data());
  ASSERT_TRUE(disk->submit(r48).ok());
  run(4);
  ASSERT_EQ(finished.order.size(), 4u);
  EXPECT_EQ(w48.error, Error::kNone);
  EXPECT_EQ(r48.error, Error::kNone);
  EXPECT_EQ(memcmp(big_back.data(), big.data() + 1, big_back.size()), 0);
  EXPECT_EQ(sim.commands[2].command, ata::kCmdWriteSectorsExt);
  EXPECT_EQ(sim.commands[3].command, ata::kCmdReadSectorsExt);

  const BlockDevice::Counters c = disk->counters();
  EXPECT_EQ(c.reads, 2u);
  EXPECT_EQ(c.writes, 2u);
  EXPECT_EQ(c.sectors_read, 340u);
  EXPECT_EQ(c.sectors_written, 340u);
  EXPECT_EQ(c.errors, 0u);
  EXPECT_EQ(c.interrupts, channel.interrupts());
  EXPECT_GE(c.interrupts, 680u);
}

// When the drive does everything at once, one complete() call moves every sector.
TEST_F(Ata, FastDriveFinishesInOneCall) {
  init();
  std::vector<uint8_t> data = pattern(8, 1);
  BlockRequest w = write_req(7, 8, data.data());
  ASSERT_TRUE(channel.drive(1)->submit(w).ok());
  EXPECT_EQ(channel.drive(1)->complete(Finished::on_done, &finished), 1u);
  EXPECT_EQ(w.error, Error::kNone);
  std::vector<uint8_t> back(8 * 512);
  BlockRequest r = read_req(7, 8, back.data());
  ASSERT_TRUE(channel.drive(1)->submit(r).ok());
  EXPECT_EQ(channel.drive(0)->complete(Finished::on_done, &finished), 1u);  // either drive serves the channel
  EXPECT_EQ(back, data);
  EXPECT_EQ(sim.drive[0].disk.size(), 0u);                                  // the slave's disk, not the master's
  EXPECT_EQ(channel.drive(0)->complete(Finished::on_done, &finished), 0u);  // nothing pending: harmless
}

// One command on the wire: the others wait in submission order, whichever drive they are for.
TEST_F(Ata, QueuedRequestsRunOneAfterAnother) {
  sim.slow = true;
  init();
  std::vector<uint8_t> a(4 * 512), c(2 * 512);
  std::vector<uint8_t> b = pattern(3, 5);
  sim.drive[0].sector(10)[0] = 0xA1;
  BlockRequest r1 = read_req(10, 4, a.data());
  BlockRequest r2 = write_req(20, 3, b.data());
  BlockRequest r3 = read_req(30, 2, c.data());
  BlockRequest r4 = request(BlockOp::kFlush);
  ASSERT_TRUE(channel.drive(0)->submit(r1).ok());
  ASSERT_TRUE(channel.drive(1)->submit(r2).ok());
  ASSERT_TRUE(channel.drive(0)->submit(r3).ok());
  ASSERT_TRUE(channel.drive(1)->submit(r4).ok());
  ASSERT_EQ(sim.commands.size(), 1u);  // only the first is on the wire
  EXPECT_FALSE(channel.idle());
  for (int i = 0; i < 3; ++i) {  // its sectors come, the others still wait
    sim.tick();
    channel.complete(Finished::on_done, &finished);
    EXPECT_EQ(sim.commands.size(), 1u);
  }
  run(4);
  ASSERT_EQ(finished.order.size(), 4u);
  EXPECT_EQ(finished.order[0], &r1);
  EXPECT_EQ(finished.order[1], &r2);
  EXPECT_EQ(finished.order[2], &r3);
  EXPECT_EQ(finished.order[3], &r4);
  ASSERT_EQ(sim.commands.size(), 4u);
  EXPECT_EQ(sim.commands[0].unit, 0);
  EXPECT_EQ(sim.commands[1].unit, 1);
  EXPECT_EQ(sim.commands[1].command, ata::kCmdWriteSectors);
  EXPECT_EQ(sim.commands[2].unit, 0);
  EXPECT_EQ(sim.commands[3].command, ata::kCmdFlushCacheExt);
  for (BlockRequest* r : finished.order) EXPECT_EQ(r->error, Error::kNone);
  EXPECT_EQ(a[0], 0xA1);
  EXPECT_EQ(memcmp(sim.drive[1].sector(22).data(), b.data() + 1024, 512), 0);
  EXPECT_TRUE(channel.idle());
}

// A request submitted from the completion callback starts from there.
TEST_F(Ata, CallbackMaySubmitTheNext) {
  init();
  std::vector<uint8_t> buf(512);
  struct Chain {
    BlockDevice* disk;
    BlockRequest next;
    int done = 0;
  } chain{channel.drive(0), read_req(2, 1, buf.data())};
  BlockRequest first = read_req(1, 1, buf.data());
  ASSERT_TRUE(chain.disk->submit(first).ok());
  const auto on_done = [](BlockRequest& r, void* ctx) {
    auto* c = static_cast<Chain*>(ctx);
    if (++c->done == 1) {
      EXPECT_EQ(r.error, Error::kNone);
      EXPECT_TRUE(c->disk->submit(c->next).ok());
    }
  };
  EXPECT_EQ(chain.disk->complete(on_done, &chain), 2u);
  EXPECT_EQ(chain.done, 2);
  EXPECT_EQ(sim.commands.size(), 2u);
}

TEST_F(Ata, FlushCacheAndDrivesWithoutOne) {
  sim.drive[0].lba48 = false;  // FLUSH CACHE (E7h)
  sim.drive[1].cache = false;  // nothing to flush: done without a command
  init();
  BlockRequest f0 = request(BlockOp::kFlush);
  BlockRequest f1 = request(BlockOp::kFlush);
  ASSERT_TRUE(channel.drive(0)->submit(f0).ok());
  ASSERT_TRUE(channel.drive(1)->submit(f1).ok());
  run(2);
  poll(2);
  ASSERT_EQ(finished.order.size(), 2u);
  EXPECT_EQ(f0.error, Error::kNone);
  EXPECT_EQ(f1.error, Error::kNone);
  ASSERT_EQ(sim.commands.size(), 1u);
  EXPECT_EQ(sim.commands[0].command, ata::kCmdFlushCache);
  EXPECT_EQ(sim.flushes, 1u);
  EXPECT_EQ(channel.drive(0)->counters().flushes, 1u);
  EXPECT_EQ(channel.drive(1)->counters().flushes, 1u);
}

// An error status fails the request (kIoError), hands it back, and the channel goes on.
TEST_F(Ata, ErrorStatusIsAnIoError) {
  sim.slow = true;
  init();
  sim.drive[0].bad = {53};
  std::vector<uint8_t> buf(8 * 512);
  BlockRequest bad_read = read_req(50, 8, buf.data());
  std::vector<uint8_t> data = pattern(8, 2);
  BlockRequest bad_write = write_req(50, 8, data.data());
  BlockRequest good = read_req(60, 8, buf.data());
  ASSERT_TRUE(channel.drive(0)->submit(bad_read).ok());
  ASSERT_TRUE(channel.drive(0)->submit(bad_write).ok());
  ASSERT_TRUE(channel.drive(0)->submit(good).ok());
  run(3);
  ASSERT_EQ(finished.order.size(), 3u);
  EXPECT_EQ(bad_read.error, Error::kIoError);
  EXPECT_EQ(bad_write.error, Error::kIoError);
  EXPECT_EQ(good.error, Error::kNone);
  EXPECT_EQ(channel.drive(0)->counters().errors, 2u);
  EXPECT_EQ(channel.drive(0)->counters().reads, 1u);
  // A command the drive refuses (its LBA bit missing would be ours; here: beyond its end as
  // the drive sees it) is an error too.
  sim.drive[1].sectors = 1000;
  BlockRequest refused = read_req(999, 1, buf.data());
  sim.drive[1].bad = {999};
  ASSERT_TRUE(channel.drive(1)->submit(refused).ok());
  run(4);
  EXPECT_EQ(refused.error, Error::kIoError);
  EXPECT_TRUE(channel.idle());
}

// A drive that never offers its data: without any interrupt, polling complete() ends the
// request with kTimeout once the clock passes the timeout; the channel is reset and goes on.
TEST_F(Ata, DriveThatNeverRaisesDrqTimesOut) {
  init(1000);
  std::vector<uint8_t> buf(2 * 512);
  for (SimAtaDrive::Stuck stuck : {SimAtaDrive::Stuck::kBusy, SimAtaDrive::Stuck::kNoDrq}) {
    for (BlockOp op : {BlockOp::kRead, BlockOp::kWrite}) {
      finished.order.clear();
      sim.drive[0].stuck = stuck;
      BlockRequest r = request(op, 5, 2, buf.data());
      const uint64_t resets = sim.resets;
      ASSERT_TRUE(channel.drive(0)->submit(r).ok());
      for (int i = 0; i < 10; ++i) EXPECT_EQ(channel.drive(0)->complete(Finished::on_done, &finished), 0u);
      g_now += 999;
      EXPECT_EQ(channel.drive(0)->complete(Finished::on_done, &finished), 0u);
      g_now += 2;
      EXPECT_EQ(channel.drive(0)->complete(Finished::on_done, &finished), 1u);
      EXPECT_EQ(r.error, Error::kTimeout);
      EXPECT_EQ(sim.resets, resets + 1);
      // The drive recovers: the next request works.
      sim.drive[0].stuck = SimAtaDrive::Stuck::kNo;
      BlockRequest next = request(op, 5, 2, buf.data());
      ASSERT_TRUE(channel.drive(0)->submit(next).ok());
      poll(2, 10);
      EXPECT_EQ(next.error, Error::kNone);
    }
  }
  EXPECT_EQ(channel.timeouts(), 4u);
  EXPECT_EQ(channel.drive(0)->counters().errors, 4u);
}

// A drive still busy when the next command should go out (here: busy forever) fails that
// request the same way; the queue behind it still runs once the drive is back.
TEST_F(Ata, BusyChannelBeforeTheCommandTimesOut) {
  init(500);
  std::vector<uint8_t> buf(512);
  sim.drive[0].status = ata::kStatusBsy;
  sim.drive[1].status = ata::kStatusBsy;
  BlockRequest r = read_req(1, 1, buf.data());
  ASSERT_TRUE(channel.drive(1)->submit(r).ok());
  EXPECT_TRUE(sim.commands.empty());  // waits for BSY to clear
  g_step = 100;                       // every look at the clock: 100 us later
  poll(1, 20);
  ASSERT_EQ(finished.order.size(), 1u);
  EXPECT_EQ(r.error, Error::kTimeout);
  EXPECT_TRUE(sim.commands.empty());
  g_step = 0;
  BlockRequest again = read_req(1, 1, buf.data());  // the reset brought the drives back
  ASSERT_TRUE(channel.drive(1)->submit(again).ok());
  poll(2, 10);
  EXPECT_EQ(again.error, Error::kNone);
}

// A write's first DRQ comes without an interrupt: polling finds it.
TEST_F(Ata, LateFirstDrqIsFoundByPolling) {
  init();
  sim.drive[0].first_drq_late = true;
  std::vector<uint8_t> data = pattern(2, 4);
  BlockRequest w = write_req(3, 2, data.data());
  ASSERT_TRUE(channel.drive(0)->submit(w).ok());
  EXPECT_EQ(sim.data_writes, 0u);
  poll(1, 10);
  EXPECT_EQ(w.error, Error::kNone);
  EXPECT_EQ(memcmp(sim.drive[0].sector(4).data(), data.data() + 512, 512), 0);
}

// The exact register writes of one 28-bit and one 48-bit read.
TEST_F(Ata, RegisterSequenceOfOneRead) {
  sim.drive[1].lba48 = false;
  sim.drive[1].sectors = 1ull << 27;
  init();
  const uint64_t identify_reads = sim.data_reads;
  std::vector<uint8_t> buf(2 * 512);
  BlockRequest r = read_req(0x5ABCDEF, 2, buf.data());
  ASSERT_TRUE(channel.drive(1)->submit(r).ok());
  channel.complete(Finished::on_done, &finished);
  ASSERT_EQ(finished.order.size(), 1u);
  const std::vector<std::pair<uint32_t, uint8_t>> want28 = {
      {ata::kDevice, 0xF5},  // LBA, slave, LBA bits 24-27
      {ata::kSectorCount, 2}, {ata::kLbaLow, 0xEF}, {ata::kLbaMid, 0xCD}, {ata::kLbaHigh, 0xAB}, {ata::kCommand, 0x20},
  };
  EXPECT_EQ(sim.writes, want28);
  EXPECT_EQ(sim.data_reads - identify_reads, 2u * 256);

  sim.writes.clear();
  const uint64_t lba = 0x123456789ABull;
  sim.drive[0].sectors = 1ull << 44;
  AtaChannel big;
  ASSERT_TRUE(big.init(sim, fake_clock).ok());
  sim.writes.clear();
  std::vector<uint8_t> big_buf(0x1234 * 512);
  BlockRequest r48 = read_req(lba, 0x1234, big_buf.data());
  ASSERT_TRUE(big.drive(0)->submit(r48).ok());
  big.complete(Finished::on_done, &finished);
  ASSERT_EQ(finished.order.size(), 2u);
  EXPECT_EQ(r48.error, Error::kNone);
  const std::vector<std::pair<uint32_t, uint8_t>> want48 = {
      {ata::kDevice, 0xE0},  {ata::kSectorCount, 0x12}, {ata::kLbaLow, 0x45}, {ata::kLbaMid, 0x23},
      {ata::kLbaHigh, 0x01}, {ata::kSectorCount, 0x34}, {ata::kLbaLow, 0xAB}, {ata::kLbaMid, 0x89},
      {ata::kLbaHigh, 0x67}, {ata::kCommand, 0x24},
  };
  EXPECT_EQ(sim.writes, want48);
}

// init: IDENTIFY with interrupts off, then nIEN cleared.
TEST_F(Ata, InitIdentifiesPolledThenEnablesTheInterrupt) {
  ASSERT_TRUE(channel.init(sim, fake_clock).ok());
  ASSERT_EQ(sim.commands.size(), 2u);
  EXPECT_EQ(sim.commands[0].command, ata::kCmdIdentify);
  EXPECT_EQ(sim.commands[0].unit, 0);
  EXPECT_EQ(sim.commands[1].unit, 1);
  EXPECT_EQ(sim.irq_edges, 0u);
  ASSERT_FALSE(sim.writes.empty());
  EXPECT_EQ(sim.writes.front(), (std::pair<uint32_t, uint8_t>{ata::kControl, ata::kControlNien}));
  EXPECT_EQ(sim.writes.back(), (std::pair<uint32_t, uint8_t>{ata::kControl, 0}));
}

// The two descriptors: legacy ports and IRQs, block devices, found only where a drive answers,
// never offered a PCI function (an IDE controller's class would match kAny otherwise).
TEST(AtaDriver, DescriptorsAndProbe) {
  const drivers::Driver* ata0 = nullptr;
  const drivers::Driver* ata1 = nullptr;
  for (const drivers::Driver* const* d = drivers::registered_drivers; *d != nullptr; ++d) {
    if (strcmp((*d)->name, "ATA0") == 0) ata0 = *d;
    if (strcmp((*d)->name, "ATA1") == 0) ata1 = *d;
  }
  ASSERT_NE(ata0, nullptr);
  ASSERT_NE(ata1, nullptr);
  EXPECT_EQ(ata0->device_class, drivers::DeviceClass::kBlock);
  EXPECT_EQ(ata0->isa_port, 0x1F0);
  EXPECT_EQ(ata0->isa_irq, 14);
  EXPECT_EQ(ata1->isa_port, 0x170);
  EXPECT_EQ(ata1->isa_irq, 15);
  SimAtaChannel disk, nothing;
  nothing.floating = true;
  EXPECT_TRUE(drivers::isa_present(*ata0, disk, fake_clock));
  EXPECT_FALSE(drivers::isa_present(*ata1, nothing, fake_clock));
  drivers::PciDevice ide{};
  ide.vendor = 0x8086;
  ide.device = 0x7010;
  ide.class_code = 1;
  ide.subclass = 1;
  drivers::Transport t;
  EXPECT_EQ(drivers::match_pci(ide, drivers::registered_drivers, &t), nullptr);

  // DedicateBlockDriver('ATA', ...) takes ATA0 first, then ATA1.
  drivers::DeviceRegistry registry;
  ASSERT_TRUE(registry.add({ata0, drivers::Transport::kIsa, false, nullptr, 0}).ok());
  ASSERT_TRUE(registry.add({ata1, drivers::Transport::kIsa, false, nullptr, 0}).ok());
  EXPECT_EQ(registry.claim(drivers::DeviceClass::kBlock, "ATA", drivers::NameRule::kPrefix).value()->driver, ata0);
  EXPECT_EQ(registry.claim(drivers::DeviceClass::kBlock, "ATA", drivers::NameRule::kPrefix).value()->driver, ata1);
  EXPECT_EQ(registry.claim(drivers::DeviceClass::kNetwork, "ATA", drivers::NameRule::kPrefix).error(),
            Error::kNoDevice);
}

// start_device: the channel in the core's memory over the port window at the driver's port,
// the first drive returned; no clock, no start.
TEST(AtaDriver, StartDeviceGivesTheFirstDrive) {
  static SimAtaChannel* sim = nullptr;
  static uint64_t opened_at = 0;
  SimAtaChannel channel;
  channel.drive[0].kind = SimAtaDrive::Kind::kAbsent;
  sim = &channel;
  std::vector<void*> blocks;
  const auto alloc = [](size_t size, size_t align, void* ctx) -> void* {
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    static_cast<std::vector<void*>*>(ctx)->push_back(p);
    return p;
  };
  const auto open = [](const drivers::StartContext&, uint64_t base, bool port) -> drivers::Io* {
    opened_at = port ? base : 0;
    return sim;
  };
  const drivers::Driver* ata1 = nullptr;
  for (const drivers::Driver* const* d = drivers::registered_drivers; *d != nullptr; ++d) {
    if (strcmp((*d)->name, "ATA1") == 0) ata1 = *d;
  }
  ASSERT_NE(ata1, nullptr);
  drivers::Device dev{ata1, drivers::Transport::kIsa, true, nullptr, 0};
  drivers::StartContext context{{alloc, &blocks}, 64u << 20, nullptr, open, fake_clock};
  klib::Result<void*> r = drivers::start_device(dev, context);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(opened_at, 0x170u);
  auto* disk = static_cast<BlockDevice*>(r.value());
  EXPECT_EQ(disk->drive(0), nullptr);  // the master place is empty: the slave is drive 1
  EXPECT_EQ(disk->drive(1), disk);
  EXPECT_EQ(disk->sectors(), 1u << 20);
  context.clock = nullptr;
  EXPECT_EQ(drivers::start_device(dev, context).error(), Error::kNotSupported);
  for (void* p : blocks) free(p);
}

}  // namespace
