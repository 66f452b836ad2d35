#include "api/result.h"

namespace mactl {

const char* ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kRetryable:
      return "retryable";
    case ErrorClass::kTerminal:
      return "terminal";
    case ErrorClass::kReauthenticate:
      return "reauthenticate";
    case ErrorClass::kNotAllowed:
      return "not_allowed";
  }
  return "unknown";
}

std::string Error::ToString() const {
  if (code.empty()) return message;
  if (message.empty()) return code;
  return code + ": " + message;
}

Error MakeError(ErrorClass error_class, std::string code, std::string message, int http_status) {
  Error e;
  e.error_class = error_class;
  e.code = std::move(code);
  e.message = std::move(message);
  e.http_status = http_status;
  return e;
}

}  // namespace mactl
