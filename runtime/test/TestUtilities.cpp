//===- TestUtilities.cpp - Temporary directories and file surgery ---------===//

#include "TestUtilities.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace adamas::test {

namespace {
void removeTree(const std::string &path) {
  struct stat info;
  if (lstat(path.c_str(), &info) != 0)
    return;
  if (S_ISDIR(info.st_mode)) {
    chmod(path.c_str(), 0700); // Tests make directories unwritable.
    for (const std::string &name : listDirectory(path))
      removeTree(path + "/" + name);
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}
} // namespace

TemporaryDirectory::TemporaryDirectory() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/adamas-rt-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  // An empty path makes every test using it fail visibly.
  if (mkdtemp(buffer.data()))
    path_ = buffer.data();
}

TemporaryDirectory::~TemporaryDirectory() { removeTree(path_); }

bool fileExists(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                              std::istreambuf_iterator<char>());
}

void writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            std::streamsize(bytes.size()));
}

std::vector<std::string> listDirectory(const std::string &directory) {
  std::vector<std::string> names;
  if (DIR *dir = opendir(directory.c_str())) {
    while (struct dirent *item = readdir(dir))
      if (std::strcmp(item->d_name, ".") && std::strcmp(item->d_name, ".."))
        names.push_back(item->d_name);
    closedir(dir);
  }
  return names;
}

void setAge(const std::string &path, int64_t secondsAgo) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  now.tv_sec -= time_t(secondsAgo);
  struct timespec times[2] = {now, now};
  utimensat(AT_FDCWD, path.c_str(), times, 0);
}

std::vector<uint8_t> pseudoRandomBytes(size_t size, uint64_t seed) {
  std::vector<uint8_t> bytes(size);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = uint8_t(state >> 32);
  }
  return bytes;
}

int runInChildren(int count, int (*body)(int, void *), void *context) {
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(body(i, context));
    if (pid > 0)
      children.push_back(pid);
  }
  int succeeded = 0;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
      ++succeeded;
  }
  return succeeded;
}

std::string uniqueSuffix() {
  static int counter = 0;
  return "#" + std::to_string(++counter);
}

std::string selfExecutable() {
  char buffer[4096];
  ssize_t size = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (size <= 0)
    return "";
  buffer[size] = '\0';
  return buffer;
}

int runSelf(const std::string &filter,
            const std::vector<std::string> &assignments) {
  std::string executable = selfExecutable();
  pid_t pid = fork();
  if (pid == 0) {
    for (const std::string &assignment : assignments)
      putenv(strdup(assignment.c_str()));
    std::string filterArgument = "--gtest_filter=" + filter;
    char *argv[] = {const_cast<char *>(executable.c_str()),
                    const_cast<char *>(filterArgument.c_str()), nullptr};
    execve(executable.c_str(), argv, environ);
    _exit(127);
  }
  if (pid < 0)
    return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

} // namespace adamas::test
