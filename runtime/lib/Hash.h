//===- Hash.h - SHA-256 content hashing -------------------------*- C++ -*-===//
//
// One hash for everything the runtime identifies by content: disk cache keys,
// entry checksums and module cache keys. SHA-256 (FIPS 180-4) because keys
// are persisted and shared between processes and compiler versions, so they
// need collision resistance, not just good mixing; and because an entry's
// checksum then doubles as the module cache key of its payload, so a disk hit
// is hashed exactly once. At a few hundred MB/s, hashing a kernel bundle of
// tens of KiB costs tens of microseconds, small next to a driver module load.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_HASH_H
#define ADAMAS_RUNTIME_HASH_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace adamas::rt {

/// A SHA-256 digest.
struct Digest {
  std::array<uint8_t, 32> bytes{};

  bool operator==(const Digest &other) const { return bytes == other.bytes; }
  bool operator!=(const Digest &other) const { return !(*this == other); }

  /// 64 lower-case hex digits.
  std::string hex() const;
  /// Parses 64 hex digits (either case); false on anything else.
  static bool fromHex(const std::string &text, Digest *out);
};

/// For unordered containers: the digest is uniformly distributed already.
struct DigestHasher {
  size_t operator()(const Digest &digest) const {
    size_t value;
    std::memcpy(&value, digest.bytes.data(), sizeof(value));
    return value;
  }
};

/// Incremental SHA-256.
class Sha256 {
public:
  Sha256();

  void update(const void *data, size_t size);
  void update(const std::string &text) { update(text.data(), text.size()); }
  /// Appends `value` as 8 little-endian bytes.
  void updateU64(uint64_t value);
  /// Appends a length-prefixed field (u64 size, then the bytes), so that a
  /// sequence of fields hashes unambiguously ("ab","c" differs from "a","bc").
  void updateField(const void *data, size_t size);

  /// Pads, returns the digest; the object must not be used afterwards.
  Digest finish();

  /// One-shot convenience.
  static Digest hash(const void *data, size_t size);

private:
  void compress(const uint8_t *block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t bufferSize_ = 0;
  uint64_t totalBytes_ = 0;
};

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_HASH_H
