//===- DeviceContext.h - Primary contexts and scoped activation -*- C++ -*-===//
//
// Every driver call of the runtime runs in the primary context of a device,
// the context PyTorch and the CUDA runtime use too, so modules, memory and
// streams are shared with them. The context is pushed for the duration of a
// call and popped after, leaving whatever the caller had current untouched;
// when it already is the calling thread's current context (as on a thread
// that has used PyTorch's CUDA), one cuCtxGetCurrent replaces the push and
// the pop.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_DEVICECONTEXT_H
#define ADAMAS_RUNTIME_DEVICECONTEXT_H

#include "CudaDriver.h"

namespace adamas::rt {

/// The primary context of device ordinal `device`, retained on first use and
/// kept for the life of the process (as upstream's wrappers do).
Status getPrimaryContext(const CudaDriver &driver, int device,
                         cuda::CUcontext *out);

/// Makes `device`'s primary context current until destruction (pushing and
/// popping it only if it is not current already).
class ScopedContext {
public:
  ScopedContext(const CudaDriver &driver, int device);
  ~ScopedContext();
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;

  /// Whether the context could be retained and pushed.
  const Status &status() const { return status_; }
  cuda::CUcontext context() const { return context_; }

private:
  const CudaDriver &driver_;
  Status status_ = Status::success();
  cuda::CUcontext context_ = nullptr;
  bool pushed_ = false;
};

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_DEVICECONTEXT_H
