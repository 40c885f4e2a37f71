// SHA-1 against RFC 3174 §7.3's test vectors and block-boundary lengths (values from Python's
// hashlib), and base64 against RFC 4648 §10 plus the strict decoder's rejections.
#include <gtest/gtest.h>
#include <lib/base64.h>
#include <lib/sha1.h>

#include <string>
#include <vector>

namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += {kDigits[p[i] >> 4], kDigits[p[i] & 15]};
  return s;
}

std::string sha1_hex(const std::string& message) {
  uint8_t d[klib::Sha1::kDigestSize];
  klib::sha1(message.data(), message.size(), d);
  return hex(d, sizeof d);
}

TEST(Sha1, Rfc3174TestVectors) {
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(sha1_hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  std::string test4;
  for (int i = 0; i < 10; ++i) test4 += "0123456701234567012345670123456701234567012345670123456701234567";
  EXPECT_EQ(sha1_hex(test4), "dea356a2cddd90c7a7ecedc5ebb563934f460452");
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Sha1, PaddingAtBlockBoundaries) {
  // 55 bytes fit the length in the same block, 56..63 need a second one (RFC 3174 §4).
  const std::pair<size_t, const char*> cases[] = {
      {55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"},  {56, "636e2ec698dac903498e648bd2f3af641d3c88cb"},
      {63, "6d942da0c4392b123528f2905c713a3ce28364bd"},  {64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"},
      {65, "69bd728ad6e13cd76ff19751fde427b00e395746"},  {119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"},
      {120, "d3dbd653bd8597b7475321b60a36891278e6a04a"}, {128, "e6434bc401f98603d7eda504790c98c67385d535"},
  };
  for (const auto& [n, digest] : cases) {
    std::string m;
    for (size_t i = 0; i < n; ++i) m += char(i % 251);
    EXPECT_EQ(sha1_hex(m), digest) << n << " bytes";
  }
}

TEST(Sha1, PiecewiseUpdatesEqualOneShotAndObjectResets) {
  std::string m;
  for (int i = 0; i < 1000; ++i) m += char(i * 7);
  const std::string whole = sha1_hex(m);
  for (size_t piece : {1, 3, 63, 64, 65, 200}) {
    klib::Sha1 h;
    for (size_t at = 0; at < m.size(); at += piece) h.update(m.data() + at, std::min(piece, m.size() - at));
    uint8_t d[20];
    h.finish(d);
    EXPECT_EQ(hex(d, 20), whole) << "pieces of " << piece;
    h.update("abc", 3);  // finish() reset it
    h.finish(d);
    EXPECT_EQ(hex(d, 20), "a9993e364706816aba3e25717850c26c9cd0d89d");
  }
}

std::string b64(const std::string& s) {
  std::string out(klib::base64_encoded_size(s.size()), '?');
  EXPECT_EQ(klib::base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out.data()), out.size());
  return out;
}

bool unb64(const std::string& text, std::string* out, size_t room = 64) {
  std::vector<uint8_t> buf(room);
  size_t n = 0;
  if (!klib::base64_decode(text.data(), text.size(), buf.data(), buf.size(), &n)) return false;
  out->assign(buf.begin(), buf.begin() + long(n));
  return true;
}

TEST(Base64, Rfc4648TestVectorsBothWays) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(b64(plain), encoded);
    std::string back;
    ASSERT_TRUE(unb64(encoded, &back)) << encoded;
    EXPECT_EQ(back, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  std::string back;
  ASSERT_TRUE(unb64(b64(all), &back, 256));
  EXPECT_EQ(back, all);
  static_assert(klib::base64_encoded_size(20) == 28);
}

TEST(Base64, StrictDecoderRejectsNonCanonicalText) {
  std::string out;
  for (const char* bad :
       {"Zg=", "Zg", "Zh==", "Zm9=", "Z===", "====", "Zm9v!A==", "=Zg=", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-_"}) {
    EXPECT_FALSE(unb64(bad, &out)) << bad;
  }
  EXPECT_FALSE(unb64("Zm9vYmFy", &out, 5));  // 6 bytes do not fit in 5
  EXPECT_TRUE(unb64("Zm9vYmFy", &out, 6));
  // The RFC 6455 §1.3 sample nonce decodes to 16 bytes.
  ASSERT_TRUE(unb64("dGhlIHNhbXBsZSBub25jZQ==", &out));
  EXPECT_EQ(out, "the sample nonce");
}

}  // namespace
