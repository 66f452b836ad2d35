#pragma once

// Hook through which the HTTP client reports every request it sends (for metrics).

#include <chrono>
#include <string_view>

namespace mactl {

// The `operation` label values of modelarts_controller_api_requests_total.
namespace api_operation {
inline constexpr std::string_view kList = "list";
inline constexpr std::string_view kGetVersion = "get_version";
inline constexpr std::string_view kListVersions = "list_versions";
inline constexpr std::string_view kStop = "stop";
inline constexpr std::string_view kAuth = "auth";
}  // namespace api_operation

class ApiCallObserver {
 public:
  virtual ~ApiCallObserver() = default;
  // http_status is 0 when no answer arrived (transport error or timeout).
  // Called from the requesting thread; must be thread-safe.
  virtual void OnApiCall(std::string_view operation, int http_status,
                         std::chrono::duration<double> latency) = 0;
};

}  // namespace mactl
