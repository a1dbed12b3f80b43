//===- Diagnostics.cpp - Last error, warnings and logging -----------------===//

#include "Diagnostics.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace adamas::rt {

namespace {
thread_local std::string threadLastError;

void printLine(const char *kind, const std::string &message) {
  if (envFlag("ADAMAS_RUNTIME_QUIET"))
    return;
  // One fprintf per line so lines of concurrent threads do not interleave.
  std::fprintf(stderr, "adamas-runtime: %s%s\n", kind, message.c_str());
}
} // namespace

void setLastError(std::string message) { threadLastError = std::move(message); }

const char *lastError() { return threadLastError.c_str(); }

void reportError(const std::string &message) {
  setLastError(message);
  printLine("error: ", message);
}

void warn(const std::string &message) { printLine("warning: ", message); }

bool verboseEnabled() {
  // Read once: the variable is meant to be set before the process starts.
  static const bool enabled = envFlag("ADAMAS_RUNTIME_VERBOSE");
  return enabled;
}

void logVerbose(const std::string &message) {
  if (verboseEnabled())
    printLine("", message);
}

bool envFlag(const char *name) {
  const char *value = std::getenv(name);
  return value && *value && std::strcmp(value, "0") != 0;
}

} // namespace adamas::rt
