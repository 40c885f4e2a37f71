#include <gtest/gtest.h>
#include <lib/cmdline.h>

#include <string>

namespace {

TEST(KernelParams, SplitsOnSpacesAndCommasSkippingEmptyTokens) {
  klib::KernelParams p;
  p.parse("virtionet,192.168.0.2  ,, debug");
  ASSERT_EQ(p.count(), 3u);
  EXPECT_STREQ(p.get(0), "virtionet");
  EXPECT_STREQ(p.get(1), "192.168.0.2");
  EXPECT_STREQ(p.get(2), "debug");
  EXPECT_EQ(p.get(3), nullptr);
  EXPECT_FALSE(p.truncated());
}

TEST(KernelParams, EmptyAndNull) {
  klib::KernelParams p;
  p.parse(nullptr);
  EXPECT_EQ(p.count(), 0u);
  p.parse("   ");
  EXPECT_EQ(p.count(), 0u);
  EXPECT_EQ(p.get(0), nullptr);
}

TEST(KernelParams, MicrovmDeviceTokens) {
  klib::KernelParams p;
  p.parse("server virtio_mmio.device=512@0xfeb00e00:12");
  ASSERT_EQ(p.count(), 2u);
  EXPECT_STREQ(p.get(1), "virtio_mmio.device=512@0xfeb00e00:12");
}

TEST(KernelParams, TruncatesLongLinesAndTooManyTokens) {
  klib::KernelParams p;
  std::string many;
  for (int i = 0; i < 100; ++i) many += "a ";
  p.parse(many.c_str());
  EXPECT_EQ(p.count(), klib::KernelParams::kMaxParams);
  EXPECT_TRUE(p.truncated());
  std::string huge(5000, 'x');
  p.parse(huge.c_str());
  ASSERT_EQ(p.count(), 1u);
  EXPECT_EQ(std::string(p.get(0)).size(), klib::KernelParams::kMaxLength);
  EXPECT_TRUE(p.truncated());
}

TEST(KernelParams, KeyValueSettings) {
  klib::KernelParams p;
  p.parse("10.0.2.15,virtionet tcpmem=25% netstat=5 tcpmemx=1 netirq=ignore");
  EXPECT_STREQ(p.value("tcpmem"), "25%");
  EXPECT_STREQ(p.value("netstat"), "5");
  EXPECT_STREQ(p.value("netirq"), "ignore");
  EXPECT_EQ(p.value("tcp"), nullptr);  // a prefix of a key is not the key
  EXPECT_EQ(p.value("virtionet"), nullptr);
}

TEST(ParseAmount, BytesUnitsAndPercentages) {
  uint64_t v = 7;
  EXPECT_TRUE(klib::parse_amount("4096", 0, &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(klib::parse_amount("512K", 0, &v));
  EXPECT_EQ(v, 512u << 10);
  EXPECT_TRUE(klib::parse_amount("8m", 0, &v));
  EXPECT_EQ(v, 8u << 20);
  EXPECT_TRUE(klib::parse_amount("2G", 0, &v));
  EXPECT_EQ(v, 2ull << 30);
  EXPECT_TRUE(klib::parse_amount("25%", 1000, &v));
  EXPECT_EQ(v, 250u);
  EXPECT_TRUE(klib::parse_amount("100%", UINT64_MAX, &v));
  EXPECT_EQ(v, UINT64_MAX);
  v = 7;
  for (const char* bad : {"", "x", "-1", "12Q", "5%%", "101%", "1KB", "99999999999999999999", "17179869184G"}) {
    EXPECT_FALSE(klib::parse_amount(bad, 100, &v)) << bad;
  }
  EXPECT_FALSE(klib::parse_amount(nullptr, 100, &v));
  EXPECT_EQ(v, 7u);
}

TEST(KernelParams, TakeRemovesTheKernelsOwnToken) {
  klib::KernelParams p;
  p.parse("10.0.2.15,gdb,virtionet gdb");
  EXPECT_TRUE(p.take("gdb"));
  ASSERT_EQ(p.count(), 3u);
  EXPECT_STREQ(p.get(0), "10.0.2.15");
  EXPECT_STREQ(p.get(1), "virtionet");
  EXPECT_STREQ(p.get(2), "gdb");  // only the first
  EXPECT_TRUE(p.take("gdb"));
  EXPECT_FALSE(p.take("gdb"));
  EXPECT_FALSE(p.take("gd"));  // whole tokens only
  EXPECT_EQ(p.get(2), nullptr);
}

}  // namespace
