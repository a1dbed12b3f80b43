//===- Status.h - Success or an error code with a message -------*- C++ -*-===//
//
// The internal result type. Codes are the C API's adamas_status_t so the API
// layer passes them through unchanged; the message is what the user reads
// from adamas_runtime_last_error(), so it says what failed and on what.
//
//===----------------------------------------------------------------------===//

#ifndef ADAMAS_RUNTIME_STATUS_H
#define ADAMAS_RUNTIME_STATUS_H

#include "adamas/runtime.h"

#include <string>
#include <utility>

namespace adamas::rt {

class [[nodiscard]] Status {
public:
  static Status success() { return Status(); }
  static Status error(adamas_status_t code, std::string message) {
    return Status(code, std::move(message));
  }

  bool ok() const { return code_ == ADAMAS_OK; }
  adamas_status_t code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  Status() = default;
  Status(adamas_status_t code, std::string message)
      : code_(code), message_(std::move(message)) {}

  adamas_status_t code_ = ADAMAS_OK;
  std::string message_;
};

} // namespace adamas::rt

#endif // ADAMAS_RUNTIME_STATUS_H
