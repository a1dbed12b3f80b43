//===- TestUtilities.h - Temporary directories and file surgery -*- C++ -*-===//

#ifndef ADAMAS_RUNTIME_TEST_TESTUTILITIES_H
#define ADAMAS_RUNTIME_TEST_TESTUTILITIES_H

#include <cstdint>
#include <string>
#include <vector>

namespace adamas::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
/// destruction.
class TemporaryDirectory {
public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &operator=(const TemporaryDirectory &) = delete;

  const std::string &path() const { return path_; }

private:
  std::string path_;
};

bool fileExists(const std::string &path);
std::vector<uint8_t> readFile(const std::string &path);
void writeFile(const std::string &path, const std::vector<uint8_t> &bytes);
/// Names in `directory` (without "." and "..").
std::vector<std::string> listDirectory(const std::string &directory);
/// Sets a file's modification time to `secondsAgo` seconds before now.
void setAge(const std::string &path, int64_t secondsAgo);

/// Deterministic pseudo-random bytes (xorshift) for payloads.
std::vector<uint8_t> pseudoRandomBytes(size_t size, uint64_t seed);

/// Runs `body` in `count` forked children (index 0..count-1) and returns how
/// many exited with status 0. Children leave with _exit, so nothing of the
/// parent (GoogleTest included) runs twice.
int runInChildren(int count, int (*body)(int index, void *context),
                  void *context);

/// A string no earlier call in this process returned, for test data that
/// must be new to the process-wide module cache even under --gtest_repeat.
std::string uniqueSuffix();

/// The path of the running test executable.
std::string selfExecutable();

/// Runs this test binary again with --gtest_filter=`filter` and the extra
/// environment `assignments` ("NAME=value"); returns its exit status (or -1).
int runSelf(const std::string &filter,
            const std::vector<std::string> &assignments);

} // namespace adamas::test

#endif // ADAMAS_RUNTIME_TEST_TESTUTILITIES_H
