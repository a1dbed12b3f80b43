//===- CacheEntryFormatTest.cpp - Entry encoding and validation -----------===//

#include "CacheEntryFormat.h"

#include <gtest/gtest.h>

using namespace adamas::rt;

namespace {
std::vector<uint8_t> makeEntry(const Digest &key,
                               const std::vector<uint8_t> &payload) {
  Digest checksum = Sha256::hash(payload.data(), payload.size());
  std::vector<uint8_t> entry =
      encodeEntryHeader(key, checksum, payload.size());
  entry.insert(entry.end(), payload.begin(), payload.end());
  return entry;
}

bool isValid(const std::vector<uint8_t> &entry, const Digest &key,
             std::string *problem) {
  Digest checksum;
  return validateEntry(entry.data(), entry.size(), key, &checksum, problem);
}

const Digest kKey = Sha256::hash("key", 3);
const std::vector<uint8_t> kPayload = {'c', 'u', 'b', 'i', 'n', 0, 1, 2, 3};
} // namespace

TEST(CacheEntryFormat, HeaderLayoutIsAsDocumented) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  ASSERT_EQ(entry.size(), 88u + kPayload.size());
  EXPECT_EQ(std::string(entry.begin(), entry.begin() + 8), "ADAMASAC");
  // Little-endian version 1, header size 88, payload size 9.
  EXPECT_EQ(std::vector<uint8_t>(entry.begin() + 8, entry.begin() + 16),
            (std::vector<uint8_t>{1, 0, 0, 0, 88, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(entry.begin() + 16, entry.begin() + 24),
            (std::vector<uint8_t>{9, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(std::equal(kKey.bytes.begin(), kKey.bytes.end(),
                         entry.begin() + 24));
  // hashlib.sha256(b"cubin\x00\x01\x02\x03").
  Digest expected;
  ASSERT_TRUE(Digest::fromHex(
      "f6318afdd083294c525be6c5064811ff0740fd1b4ba268ee89bf60663f7bf894",
      &expected));
  EXPECT_TRUE(std::equal(expected.bytes.begin(), expected.bytes.end(),
                         entry.begin() + 56));
  EXPECT_TRUE(std::equal(kPayload.begin(), kPayload.end(), entry.begin() + 88));
}

TEST(CacheEntryFormat, AcceptsAGoodEntryAndReturnsItsChecksum) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  Digest checksum;
  std::string problem;
  ASSERT_TRUE(
      validateEntry(entry.data(), entry.size(), kKey, &checksum, &problem))
      << problem;
  EXPECT_EQ(checksum, Sha256::hash(kPayload.data(), kPayload.size()));
}

TEST(CacheEntryFormat, AcceptsAnEmptyPayload) {
  std::string problem;
  EXPECT_TRUE(isValid(makeEntry(kKey, {}), kKey, &problem)) << problem;
}

TEST(CacheEntryFormat, RejectsEmptyAndTruncatedFiles) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  std::string problem;
  EXPECT_FALSE(isValid({}, kKey, &problem));
  EXPECT_EQ(problem, "empty file");
  for (size_t size = 1; size < entry.size(); ++size) {
    std::vector<uint8_t> truncated(entry.begin(), entry.begin() + size);
    EXPECT_FALSE(isValid(truncated, kKey, &problem)) << "size " << size;
  }
  std::vector<uint8_t> headerOnly(entry.begin(), entry.begin() + 40);
  isValid(headerOnly, kKey, &problem);
  EXPECT_NE(problem.find("truncated: 40 bytes"), std::string::npos) << problem;
  std::vector<uint8_t> shortPayload(entry.begin(), entry.end() - 1);
  isValid(shortPayload, kKey, &problem);
  EXPECT_NE(problem.find("size mismatch"), std::string::npos) << problem;
}

TEST(CacheEntryFormat, RejectsAppendedBytes) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  entry.push_back(0);
  std::string problem;
  EXPECT_FALSE(isValid(entry, kKey, &problem));
  EXPECT_NE(problem.find("size mismatch"), std::string::npos) << problem;
}

TEST(CacheEntryFormat, RejectsEveryFlippedByte) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  for (size_t offset = 0; offset < entry.size(); ++offset) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::vector<uint8_t> damaged = entry;
      damaged[offset] ^= mask;
      std::string problem;
      EXPECT_FALSE(isValid(damaged, kKey, &problem))
          << "flip 0x" << std::hex << int(mask) << " at " << std::dec
          << offset;
    }
  }
}

TEST(CacheEntryFormat, NamesWhatIsWrong) {
  std::vector<uint8_t> entry = makeEntry(kKey, kPayload);
  std::string problem;

  std::vector<uint8_t> badMagic = entry;
  badMagic[0] = 'X';
  isValid(badMagic, kKey, &problem);
  EXPECT_NE(problem.find("bad magic"), std::string::npos) << problem;

  std::vector<uint8_t> badVersion = entry;
  badVersion[8] = 2;
  isValid(badVersion, kKey, &problem);
  EXPECT_NE(problem.find("unsupported format version 2"), std::string::npos)
      << problem;

  isValid(entry, Sha256::hash("other", 5), &problem);
  EXPECT_NE(problem.find("another key"), std::string::npos) << problem;

  std::vector<uint8_t> badPayload = entry;
  badPayload.back() ^= 0xff;
  isValid(badPayload, kKey, &problem);
  EXPECT_NE(problem.find("checksum mismatch"), std::string::npos) << problem;

  std::vector<uint8_t> garbage(200, 0x5a);
  isValid(garbage, kKey, &problem);
  EXPECT_NE(problem.find("bad magic"), std::string::npos) << problem;
}
