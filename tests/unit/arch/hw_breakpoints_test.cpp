// The debug-register breakpoints' DR7 encoding (src/arch/x86_64/hw_breakpoints.cpp) against the
// SDM's figure 18-1.
#include <arch/x86_64/hw_breakpoints.h>
#include <gtest/gtest.h>

namespace {

using arch::HwBreakpoints;
using arch::HwKind;
using arch::HwResult;

TEST(HwBreakpoints, EncodesEachSlotAsTheSdmSays) {
  HwBreakpoints bp;
  ASSERT_EQ(bp.insert(HwKind::kExecute, 0x401000, 1), HwResult::kOk);  // slot 0: L0, R/W 00, LEN 00
  EXPECT_EQ(bp.dr7, 0x1u);
  EXPECT_EQ(bp.address[0], 0x401000u);
  ASSERT_EQ(bp.insert(HwKind::kWrite, 0x1008, 8), HwResult::kOk);  // slot 1: L1, R/W 01, LEN 10
  EXPECT_EQ(bp.dr7, 0x1u | 0x4u | (0x1u << 20) | (0x2u << 22));
  ASSERT_EQ(bp.insert(HwKind::kAccess, 0x2004, 4), HwResult::kOk);  // slot 2: L2, R/W 11, LEN 11
  EXPECT_EQ((bp.dr7 >> 24) & 0xF, 0xFu);
  EXPECT_TRUE(bp.dr7 & 0x10);
  ASSERT_EQ(bp.insert(HwKind::kWrite, 0x3002, 2), HwResult::kOk);  // slot 3: L3, R/W 01, LEN 01
  EXPECT_EQ((bp.dr7 >> 28) & 0xF, 0x5u);
  EXPECT_EQ(bp.kind(2), HwKind::kAccess);
  EXPECT_EQ(bp.insert(HwKind::kExecute, 0x5000, 1), HwResult::kNoSlot);
}

TEST(HwBreakpoints, RejectsWhatTheCpuCannotWatch) {
  HwBreakpoints bp;
  EXPECT_EQ(bp.insert(HwKind::kWrite, 0x1000, 3), HwResult::kBadLength);
  EXPECT_EQ(bp.insert(HwKind::kWrite, 0x1000, 16), HwResult::kBadLength);
  EXPECT_EQ(bp.insert(HwKind::kExecute, 0x1000, 4), HwResult::kBadLength);
  EXPECT_EQ(bp.insert(HwKind::kWrite, 0x1004, 8), HwResult::kMisaligned);
  EXPECT_EQ(bp.dr7, 0u);
}

TEST(HwBreakpoints, RemoveFreesTheSlotForTheNext) {
  HwBreakpoints bp;
  ASSERT_EQ(bp.insert(HwKind::kExecute, 0x401000, 1), HwResult::kOk);
  ASSERT_EQ(bp.insert(HwKind::kWrite, 0x1008, 8), HwResult::kOk);
  EXPECT_EQ(bp.remove(HwKind::kWrite, 0x1008, 4), HwResult::kNotFound);   // another length
  EXPECT_EQ(bp.remove(HwKind::kAccess, 0x1008, 8), HwResult::kNotFound);  // another kind
  EXPECT_EQ(bp.remove(HwKind::kExecute, 0x401000, 1), HwResult::kOk);
  EXPECT_EQ(bp.dr7, 0x4u | (0x1u << 20) | (0x2u << 22));
  ASSERT_EQ(bp.insert(HwKind::kAccess, 0x2000, 1), HwResult::kOk);  // takes slot 0 again
  EXPECT_EQ(bp.address[0], 0x2000u);
  EXPECT_EQ(bp.dr7 & 0xF0003u, 0x30001u);
  EXPECT_EQ(bp.remove(HwKind::kExecute, 0x401000, 1), HwResult::kNotFound);
}

TEST(HwBreakpoints, SlotHitReadsDr6) {
  HwBreakpoints bp;
  ASSERT_EQ(bp.insert(HwKind::kExecute, 0x401000, 1), HwResult::kOk);
  ASSERT_EQ(bp.insert(HwKind::kWrite, 0x1008, 8), HwResult::kOk);
  EXPECT_EQ(bp.slot_hit(0xFFFF0FF2), 1);   // B1 set (the reserved bits read as ones)
  EXPECT_EQ(bp.slot_hit(0xFFFF4FF0), -1);  // BS (a single step), no B0-B3
  EXPECT_EQ(bp.slot_hit(0x8), -1);         // B3: a slot not armed
}

}  // namespace
