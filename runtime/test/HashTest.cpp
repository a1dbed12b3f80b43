//===- HashTest.cpp - SHA-256 and artifact keys ---------------------------===//
//
// Expected digests are the FIPS 180-4 / NIST example vectors, and for the
// artifact keys values computed independently with Python's hashlib over
// the documented encoding.
//
//===----------------------------------------------------------------------===//

#include "ArtifactCache.h"
#include "Hash.h"

#include <gtest/gtest.h>

using namespace adamas::rt;

namespace {
std::string sha256Hex(const std::string &text) {
  return Sha256::hash(text.data(), text.size()).hex();
}
} // namespace

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                      "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAs) {
  std::string text(1000000, 'a');
  EXPECT_EQ(sha256Hex(text),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesMatchOneShot) {
  // 768 bytes 0..255 repeated (hashlib: f3a25aa9...).
  std::string data;
  for (int round = 0; round < 3; ++round)
    for (int byte = 0; byte < 256; ++byte)
      data.push_back(char(byte));
  const std::string expected =
      "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363";
  ASSERT_EQ(sha256Hex(data), expected);
  // Every split point, and byte-at-a-time, crosses the 64-byte block
  // boundaries differently.
  for (size_t split = 0; split <= data.size(); split += 7) {
    Sha256 sha;
    sha.update(data.data(), split);
    sha.update(data.data() + split, data.size() - split);
    EXPECT_EQ(sha.finish().hex(), expected) << "split at " << split;
  }
  Sha256 bytewise;
  for (char c : data)
    bytewise.update(&c, 1);
  EXPECT_EQ(bytewise.finish().hex(), expected);
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges must all differ and be
  // stable across calls.
  std::vector<std::string> seen;
  for (size_t length : {54, 55, 56, 57, 63, 64, 65, 119, 120, 121}) {
    std::string text(length, 'x');
    std::string digest = sha256Hex(text);
    EXPECT_EQ(digest, sha256Hex(text));
    for (const std::string &other : seen)
      EXPECT_NE(digest, other) << "length " << length;
    seen.push_back(digest);
  }
  // hashlib.sha256(b"x" * n) for the lengths where padding needs one block,
  // exactly fills it, or spills into a second one.
  EXPECT_EQ(sha256Hex(std::string(55, 'x')),
            "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  EXPECT_EQ(sha256Hex(std::string(56, 'x')),
            "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  EXPECT_EQ(sha256Hex(std::string(64, 'x')),
            "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

TEST(Digest, HexRoundTrip) {
  Digest digest = Sha256::hash("abc", 3);
  Digest parsed;
  ASSERT_TRUE(Digest::fromHex(digest.hex(), &parsed));
  EXPECT_EQ(parsed, digest);
  std::string upper = digest.hex();
  for (char &c : upper)
    c = char(toupper(c));
  ASSERT_TRUE(Digest::fromHex(upper, &parsed));
  EXPECT_EQ(parsed, digest);
  EXPECT_FALSE(Digest::fromHex("abc", &parsed));
  EXPECT_FALSE(Digest::fromHex(std::string(63, '0') + "g", &parsed));
  EXPECT_FALSE(Digest::fromHex(std::string(65, '0'), &parsed));
}

TEST(ArtifactKey, MatchesIndependentComputation) {
  // Python: sha256(b"adamas.artifact.v1" + b"".join(
  //   struct.pack("<Q", len(f)) + f for f in fields)).hexdigest()
  EXPECT_EQ(computeArtifactKey("func.func @f() { return }",
                               "adamas-gpu-pipeline{chip=sm_90}", "sm_90",
                               "adamas 0.1")
                .hex(),
            "1990f58fcf692631dd7f19c52921436087ef3b089fe83cf79e79fdc7755636cd");
  EXPECT_EQ(computeArtifactKey("", "", "", "").hex(),
            "147b39cc5a0e080b3f6c2910e71f4d0514a3da418d9f0b45f98e104698c80ecd");
}

TEST(ArtifactKey, EveryFieldAndBoundaryMatters) {
  Digest base = computeArtifactKey("ir", "opts", "sm_90", "v1");
  EXPECT_NE(base, computeArtifactKey("ir2", "opts", "sm_90", "v1"));
  EXPECT_NE(base, computeArtifactKey("ir", "opts2", "sm_90", "v1"));
  EXPECT_NE(base, computeArtifactKey("ir", "opts", "sm_100", "v1"));
  EXPECT_NE(base, computeArtifactKey("ir", "opts", "sm_90", "v2"));
  // Moving bytes across a field boundary must change the key.
  EXPECT_NE(computeArtifactKey("ab", "c", "", ""),
            computeArtifactKey("a", "bc", "", ""));
  EXPECT_NE(computeArtifactKey("", "", "sm_90", ""),
            computeArtifactKey("", "", "", "sm_90"));
  // IR with NUL bytes is hashed in full.
  EXPECT_NE(computeArtifactKey(std::string_view("a\0b", 3), "", "", ""),
            computeArtifactKey(std::string_view("a\0c", 3), "", "", ""));
}
