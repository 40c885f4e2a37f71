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

}  // namespace
