//===- CacheEntryFormat.h - Byte layout of a disk cache entry ---*- C++ -*-===//
//
// An entry is a fixed 88-byte little-endian header followed by the payload
// (layout in adamas/runtime.h). Everything a reader needs to reject a bad
// file is in the header: the magic and version catch foreign or stale files,
// the payload size catches truncation and appended junk, the key catches a
// file under the wrong name, and the SHA-256 of the payload catches any
// flipped byte. There is no separate header checksum: a damaged header byte
// breaks one of those checks.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_CACHEENTRYFORMAT_H
#define ADAMAS_RUNTIME_CACHEENTRYFORMAT_H

#include "Hash.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace adamas::rt {

constexpr char kEntryMagic[8] = {'A', 'D', 'A', 'M', 'A', 'S', 'A', 'C'};
constexpr uint32_t kEntryFormatVersion = 1;
constexpr size_t kEntryHeaderSize = 88;

/// The header of an entry holding `payloadSize` bytes whose SHA-256 is
/// `payloadChecksum`, stored under `key`.
std::vector<uint8_t> encodeEntryHeader(const Digest &key,
                                       const Digest &payloadChecksum,
                                       uint64_t payloadSize);

/// Checks a whole entry file. On success returns true, and `payloadChecksum`
/// holds the verified SHA-256 of the payload (bytes kEntryHeaderSize..end).
/// Otherwise returns false with `problem` saying what is wrong.
bool validateEntry(const uint8_t *file, size_t fileSize,
                   const Digest &expectedKey, Digest *payloadChecksum,
                   std::string *problem);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_CACHEENTRYFORMAT_H
