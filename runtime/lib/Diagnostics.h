//===- Diagnostics.h - Last error, warnings and logging ---------*- C++ -*-===//
//
// The library never exits or aborts; failures travel as Status values and
// end up in a per-thread "last error" that the C API exposes. Entry points
// that cannot return a status (the mgpu* functions called by generated host
// code) also print the message, like upstream's wrappers do, so a failing
// program says why.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_DIAGNOSTICS_H
#define ADAMAS_RUNTIME_DIAGNOSTICS_H

#include <string>

namespace adamas::rt {

/// Records `message` as the calling thread's last error.
void setLastError(std::string message);
/// The calling thread's last error, "" when none. Valid until the next
/// setLastError() on this thread.
const char *lastError();

/// Records `message` as the last error and prints it to stderr (unless
/// ADAMAS_RUNTIME_QUIET is set): for callers that cannot return a status.
void reportError(const std::string &message);
/// Prints a warning to stderr (unless ADAMAS_RUNTIME_QUIET is set).
void warn(const std::string &message);
/// True when ADAMAS_RUNTIME_VERBOSE is set (and not "0").
bool verboseEnabled();
/// Prints `message` to stderr when verboseEnabled().
void logVerbose(const std::string &message);

/// True when environment variable `name` is set to something other than ""
/// or "0".
bool envFlag(const char *name);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_DIAGNOSTICS_H
