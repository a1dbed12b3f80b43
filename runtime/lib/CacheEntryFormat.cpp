//===- CacheEntryFormat.cpp - Byte layout of a disk cache entry -----------===//

#include "CacheEntryFormat.h"

#include <cstring>

namespace adamas::rt {

namespace {
constexpr size_t kVersionOffset = 8;
constexpr size_t kHeaderSizeOffset = 12;
constexpr size_t kPayloadSizeOffset = 16;
constexpr size_t kKeyOffset = 24;
constexpr size_t kChecksumOffset = 56;
static_assert(kChecksumOffset + 32 == kEntryHeaderSize, "header layout");

void storeLittleEndian(uint8_t *out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i)
    out[i] = uint8_t(value >> (8 * i));
}

uint64_t loadLittleEndian(const uint8_t *in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i)
    value |= uint64_t(in[i]) << (8 * i);
  return value;
}
} // namespace

std::vector<uint8_t> encodeEntryHeader(const Digest &key,
                                       const Digest &payloadChecksum,
                                       uint64_t payloadSize) {
  std::vector<uint8_t> header(kEntryHeaderSize, 0);
  std::memcpy(header.data(), kEntryMagic, sizeof(kEntryMagic));
  storeLittleEndian(&header[kVersionOffset], kEntryFormatVersion, 4);
  storeLittleEndian(&header[kHeaderSizeOffset], kEntryHeaderSize, 4);
  storeLittleEndian(&header[kPayloadSizeOffset], payloadSize, 8);
  std::memcpy(&header[kKeyOffset], key.bytes.data(), 32);
  std::memcpy(&header[kChecksumOffset], payloadChecksum.bytes.data(), 32);
  return header;
}

bool validateEntry(const uint8_t *file, size_t fileSize,
                   const Digest &expectedKey, Digest *payloadChecksum,
                   std::string *problem) {
  if (fileSize == 0) {
    *problem = "empty file";
    return false;
  }
  if (fileSize < kEntryHeaderSize) {
    *problem = "truncated: " + std::to_string(fileSize) +
               " bytes, shorter than the " + std::to_string(kEntryHeaderSize) +
               "-byte header";
    return false;
  }
  if (std::memcmp(file, kEntryMagic, sizeof(kEntryMagic)) != 0) {
    *problem = "bad magic (not an adamas cache entry)";
    return false;
  }
  uint64_t version = loadLittleEndian(file + kVersionOffset, 4);
  uint64_t headerSize = loadLittleEndian(file + kHeaderSizeOffset, 4);
  if (version != kEntryFormatVersion || headerSize != kEntryHeaderSize) {
    *problem = "unsupported format version " + std::to_string(version) +
               " with header size " + std::to_string(headerSize);
    return false;
  }
  uint64_t payloadSize = loadLittleEndian(file + kPayloadSizeOffset, 8);
  if (payloadSize != fileSize - kEntryHeaderSize) {
    *problem = "size mismatch: header announces " +
               std::to_string(payloadSize) + " payload bytes, file holds " +
               std::to_string(fileSize - kEntryHeaderSize);
    return false;
  }
  if (std::memcmp(file + kKeyOffset, expectedKey.bytes.data(), 32) != 0) {
    *problem = "entry belongs to another key";
    return false;
  }
  Digest actual = Sha256::hash(file + kEntryHeaderSize, payloadSize);
  if (std::memcmp(file + kChecksumOffset, actual.bytes.data(), 32) != 0) {
    *problem = "payload checksum mismatch (corrupted contents)";
    return false;
  }
  *payloadChecksum = actual;
  return true;
}

} // namespace adamas::rt
