//===- CurrentStream.cpp - The calling thread's current stream ------------===//

#include "CurrentStream.h"

namespace adamas::rt {

namespace {
thread_local cuda::CUstream threadCurrentStream = nullptr;
} // namespace

cuda::CUstream currentStream() { return threadCurrentStream; }

void setCurrentStream(cuda::CUstream stream) { threadCurrentStream = stream; }

bool isCurrentStream(cuda::CUstream stream) {
  return stream && stream == threadCurrentStream;
}

} // namespace adamas::rt
