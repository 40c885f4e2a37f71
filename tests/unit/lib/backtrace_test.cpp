#include <gtest/gtest.h>
#include <lib/backtrace.h>

#include <cstdint>

namespace {

struct Stack {
  alignas(16) uint64_t words[64] = {};
  uint64_t addr(int i) const { return reinterpret_cast<uint64_t>(&words[i]); }
  // A frame at word i: [rbp] = next rbp, [rbp + 8] = return address.
  void frame(int i, uint64_t next, uint64_t ret) {
    words[i] = next;
    words[i + 1] = ret;
  }
};

bool inside(uint64_t a, size_t len, void* ctx) {
  const auto* s = static_cast<const Stack*>(ctx);
  return a >= s->addr(0) && a + len <= s->addr(0) + sizeof(s->words);
}

TEST(Backtrace, FollowsTheChainToRbpZero) {
  Stack s;
  s.frame(4, s.addr(10), 0x111);
  s.frame(10, s.addr(20), 0x222);
  s.frame(20, 0, 0x333);
  uint64_t out[8];
  ASSERT_EQ(klib::walk_frames(s.addr(4), out, 8, inside, &s), 3u);
  EXPECT_EQ(out[0], 0x111u);
  EXPECT_EQ(out[1], 0x222u);
  EXPECT_EQ(out[2], 0x333u);
}

TEST(Backtrace, StopsOnLoopsMisalignmentUnreadableAndZeroReturn) {
  Stack s;
  uint64_t out[8];
  s.frame(10, s.addr(4), 0x1);  // points down: a loop or garbage
  EXPECT_EQ(klib::walk_frames(s.addr(10), out, 8, inside, &s), 1u);
  s.frame(10, s.addr(12) + 3, 0x1);  // misaligned next frame
  EXPECT_EQ(klib::walk_frames(s.addr(10), out, 8, inside, &s), 1u);
  s.frame(10, 0x10, 0x1);  // next frame not readable
  EXPECT_EQ(klib::walk_frames(s.addr(10), out, 8, inside, &s), 1u);
  s.frame(10, s.addr(20), 0);  // zero return address ends the chain
  EXPECT_EQ(klib::walk_frames(s.addr(10), out, 8, inside, &s), 0u);
  EXPECT_EQ(klib::walk_frames(0, out, 8, inside, &s), 0u);
}

TEST(Backtrace, RespectsMax) {
  Stack s;
  s.frame(0, s.addr(2), 1);
  s.frame(2, s.addr(4), 2);
  s.frame(4, s.addr(6), 3);
  s.frame(6, 0, 4);
  uint64_t out[2];
  EXPECT_EQ(klib::walk_frames(s.addr(0), out, 2, inside, &s), 2u);
}

}  // namespace

namespace {

TEST(Backtrace, RecognisesCallSites) {
  const uint8_t rel32[7] = {0x90, 0x90, 0xE8, 1, 2, 3, 4};
  const uint8_t reg[7] = {0, 0, 0, 0, 0, 0xFF, 0xD0};
  const uint8_t disp8[7] = {0, 0, 0, 0, 0xFF, 0x50, 0x08};
  const uint8_t riprel[7] = {0, 0xFF, 0x15, 1, 2, 3, 4};
  const uint8_t plain[7] = {0x48, 0x89, 0xC7, 0x48, 0x89, 0xE5, 0x5D};  // movs and a pop
  EXPECT_TRUE(klib::follows_call_instruction(rel32));
  EXPECT_TRUE(klib::follows_call_instruction(reg));
  EXPECT_TRUE(klib::follows_call_instruction(disp8));
  EXPECT_TRUE(klib::follows_call_instruction(riprel));
  EXPECT_FALSE(klib::follows_call_instruction(plain));
}

}  // namespace
