#include <fs/block_cache.h>
#include <gtest/gtest.h>

#include "mem_disk.h"

namespace {

using fs::BlockCache;
using fs::testing::kMallocMemory;
using fs::testing::MemDisk;

MemDisk numbered_disk(uint64_t sectors) {
  MemDisk d(sectors);
  for (uint64_t s = 0; s < sectors; ++s) d.bytes[s * 512] = uint8_t(s);
  return d;
}

TEST(BlockCache, ReadsOnceAndHitsAfter) {
  MemDisk disk = numbered_disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 1024, 1 << 20, kMallocMemory));
  EXPECT_EQ(c.blocks(), 32u);
  auto b = c.get(3);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value()->data[0], 6);  // block 3 = sectors 6 and 7
  EXPECT_EQ(b.value()->data[512], 7);
  c.put(b.value());
  auto again = c.get(3);
  ASSERT_TRUE(again);
  c.put(again.value());
  EXPECT_EQ(disk.reads, 1u);
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.get(32).error(), klib::Error::kInvalidArgument);  // beyond the partition
  c.release();
}

TEST(BlockCache, DirtyBlocksReachTheDiskAtSyncInOrderAndFlush) {
  MemDisk disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 1 << 20, kMallocMemory));
  for (uint64_t blk : {9, 2, 5}) {
    auto b = c.get_zeroed(blk);
    ASSERT_TRUE(b);
    b.value()->data[0] = uint8_t(0xA0 + blk);
    c.mark_dirty(b.value());
    c.put(b.value());
  }
  EXPECT_EQ(disk.writes, 0u);  // write-back, not write-through
  ASSERT_TRUE(c.sync());
  EXPECT_EQ(disk.writes, 3u);
  EXPECT_EQ(disk.flushes, 1u);
  EXPECT_EQ(disk.bytes[2 * 512], 0xA2);
  EXPECT_EQ(disk.bytes[9 * 512], 0xA9);
  EXPECT_EQ(c.stats().dirty, 0u);
  ASSERT_TRUE(c.sync());
  EXPECT_EQ(disk.writes, 3u);  // nothing dirty: nothing written again
  c.release();
}

TEST(BlockCache, StaysWithinItsBoundAndWritesBackWhatItEvicts) {
  MemDisk disk = numbered_disk(256);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 16 * 512, kMallocMemory));  // 16 buffers
  auto first = c.get(0);
  ASSERT_TRUE(first);
  first.value()->data[1] = 0x55;
  c.mark_dirty(first.value());
  c.put(first.value());
  for (uint64_t blk = 1; blk < 200; ++blk) {
    auto b = c.get(blk);
    ASSERT_TRUE(b) << blk;
    EXPECT_EQ(b.value()->data[0], uint8_t(blk));
    c.put(b.value());
  }
  EXPECT_LE(c.stats().buffers, 16u);
  EXPECT_EQ(disk.bytes[1], 0x55);  // evicted: written back first
  c.release();
}

TEST(BlockCache, ReferencedBuffersAreNeverReusedAndTheLimitIsAnError) {
  MemDisk disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 0, kMallocMemory));  // the minimum: 16 buffers
  std::vector<BlockCache::Buffer*> held;
  for (uint64_t blk = 0; blk < 16; ++blk) {
    auto b = c.get(blk);
    ASSERT_TRUE(b);
    held.push_back(b.value());
  }
  EXPECT_EQ(c.get(40).error(), klib::Error::kNoMemory);
  c.put(held[7]);
  auto b = c.get(40);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value(), held[7]);  // the one released
  c.put(b.value());
  for (size_t i = 0; i < held.size(); ++i) {
    if (i != 7) c.put(held[i]);
  }
  c.release();
}

TEST(BlockCache, DirectTransfersStayCoherentWithCachedBlocks) {
  MemDisk disk = numbered_disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 1 << 20, kMallocMemory));
  auto b = c.get(4);
  ASSERT_TRUE(b);
  b.value()->data[0] = 0x77;  // dirty in the cache, not on the disk yet
  c.mark_dirty(b.value());
  c.put(b.value());
  std::vector<uint8_t> buf(8 * 512);
  ASSERT_TRUE(c.read_direct(2, 8, buf.data()));
  EXPECT_EQ(buf[0], 2);
  EXPECT_EQ(buf[2 * 512], 0x77);  // the cache's newer copy
  std::vector<uint8_t> out(4 * 512, 0xEE);
  ASSERT_TRUE(c.write_direct(3, 4, out.data()));
  auto again = c.get(4);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value()->data[0], 0xEE);  // the cached copy took the new content
  EXPECT_FALSE(again.value()->dirty);
  c.put(again.value());
  ASSERT_TRUE(c.sync());
  EXPECT_EQ(disk.bytes[4 * 512], 0xEE);  // the stale dirty copy did not overwrite it
  EXPECT_EQ(c.read_direct(60, 8, buf.data()).error(), klib::Error::kInvalidArgument);
  c.release();
}

TEST(BlockCache, AFailedReadIsReportedAndNotCached) {
  MemDisk disk(64);
  disk.fail_sector = 5;
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 1 << 20, kMallocMemory));
  EXPECT_EQ(c.get(5).error(), klib::Error::kIoError);
  disk.fail_sector = ~uint64_t(0);
  disk.bytes[5 * 512] = 9;
  auto b = c.get(5);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value()->data[0], 9);
  c.put(b.value());
  c.release();
}

TEST(BlockCache, AFailedWriteBackIsReportedBySyncAndStaysDirty) {
  MemDisk disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 1 << 20, kMallocMemory));
  auto b = c.get_zeroed(6);
  ASSERT_TRUE(b);
  c.mark_dirty(b.value());
  c.put(b.value());
  disk.fail_sector = 6;
  EXPECT_EQ(c.sync().error(), klib::Error::kIoError);
  EXPECT_EQ(disk.flushes, 0u);
  EXPECT_EQ(c.stats().dirty, 1u);
  disk.fail_sector = ~uint64_t(0);
  EXPECT_TRUE(c.sync());
  c.release();
}

TEST(BlockCache, PrefetchReadsTheMissingSpanInOneRequestAndKeepsDirtyBlocks) {
  MemDisk disk = numbered_disk(64);
  BlockCache c;
  ASSERT_TRUE(c.init(&disk, 512, 1 << 20, kMallocMemory));
  auto b = c.get(12);
  ASSERT_TRUE(b);
  b.value()->data[0] = 0x99;  // dirty: the prefetch must not replace it with the disk's copy
  c.mark_dirty(b.value());
  c.put(b.value());
  const uint64_t reads = disk.reads;
  ASSERT_TRUE(c.prefetch(8, 8));
  EXPECT_EQ(disk.reads, reads + 1);
  for (uint64_t blk = 8; blk < 16; ++blk) {
    auto got = c.get(blk);
    ASSERT_TRUE(got);
    EXPECT_EQ(got.value()->data[0], blk == 12 ? 0x99 : uint8_t(blk));
    c.put(got.value());
  }
  EXPECT_EQ(disk.reads, reads + 1);  // all hits now
  ASSERT_TRUE(c.prefetch(8, 8));     // nothing missing: no request
  EXPECT_EQ(disk.reads, reads + 1);
  EXPECT_EQ(c.prefetch(64, 1).error(), klib::Error::kInvalidArgument);
  c.release();
}

}  // namespace
