#pragma once

// Errors as values: every fallible operation inside the reconcile loop returns a
// Result<T>. Exceptions from yaml-cpp and httplib stop at the adapters that wrap them.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace mactl {

// How the caller should react to an error. The reconciler maps these onto its
// retry policy: retryable → backoff, terminal → wait for a spec change,
// reauthenticate → renew credentials and retry once, not_allowed → re-observe.
enum class ErrorClass {
  kRetryable,       // transport failure, timeout, 429, 5xx, throttling codes, malformed body
  kTerminal,        // the request cannot succeed unchanged (400 job not found, 403, ...)
  kReauthenticate,  // 401: credentials expired or rejected
  kNotAllowed,      // 409 ModelArts.2796: the version's state does not allow a stop
};

const char* ErrorClassName(ErrorClass c);

struct Error {
  ErrorClass error_class = ErrorClass::kTerminal;
  // Stable machine-readable code: "ModelArts.2775", "APIGW.0308", "HTTP.503",
  // "Transport.Connection", "Decode", ... Never contains secrets.
  std::string code;
  // Human-readable explanation, sanitised and bounded; never contains secrets.
  std::string message;
  // HTTP status of the answer, or 0 when no answer arrived.
  int http_status = 0;
  // Server-requested minimum wait (Retry-After), when one was given.
  std::optional<std::chrono::milliseconds> retry_after;

  bool retryable() const { return error_class == ErrorClass::kRetryable; }
  // "code: message" for logs and /status.
  std::string ToString() const;
};

Error MakeError(ErrorClass error_class, std::string code, std::string message, int http_status = 0);

// A value or an Error. Deliberately small: C++20 has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(data_); }

 private:
  std::variant<T, Error> data_;
};

// Result of an operation that yields nothing but may fail.
struct Ok {};
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace mactl
