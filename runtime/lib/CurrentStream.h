//===- CurrentStream.h - The calling thread's current stream ----*- C++ -*-===//
//
// The stream a caller (PyTorch's current stream, through the C API or the
// Python binding) wants the generated host code of this thread to run on.
// While one is set, mgpuStreamCreate() hands it out instead of creating a
// stream, and mgpuStreamSynchronize() / mgpuStreamDestroy() on it do nothing:
// a decode step is enqueued on the caller's stream, which the caller owns,
// synchronizes and destroys (and may be capturing into a CUDA graph).
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_CURRENTSTREAM_H
#define ADAMAS_RUNTIME_CURRENTSTREAM_H

#include "CudaDriverApi.h"

namespace adamas::rt {

/// The calling thread's current stream, or null when none is set.
cuda::CUstream currentStream();
/// Sets (null: clears) the calling thread's current stream.
void setCurrentStream(cuda::CUstream stream);
/// True if `stream` is the calling thread's current stream (never for null).
bool isCurrentStream(cuda::CUstream stream);

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_CURRENTSTREAM_H
