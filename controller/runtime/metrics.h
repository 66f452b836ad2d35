#pragma once

// Every Prometheus series the controller exports (docs/operations.md, "Metrics"), defined
// once and injected.
// No label carries an unbounded value: labels are operation, HTTP status code, result and phase.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "controller/base/clock.h"
#include "controller/cloud/api_call_observer.h"
#include "controller/core/decision.h"
#include "controller/runtime/work_queue.h"

namespace mactl {

// `result` label values of reconcile_total.
namespace reconcile_result {
// In the desired state (or observe-only and reported); next look is the resync.
inline constexpr std::string_view kSuccess = "success";
// The attempt failed; next look is after backoff (or the resync, for a terminal error).
inline constexpr std::string_view kError = "error";
// Progressing (stop sent, KILLING, status unknown); next look is the poll.
inline constexpr std::string_view kRequeueAfter = "requeue_after";
}  // namespace reconcile_result

// Thread-safe: prometheus-cpp metric objects are.
class ControllerMetrics final : public ApiCallObserver, public WorkQueueObserver {
 public:
  // `registry` must outlive this object.
  ControllerMetrics(prometheus::Registry& registry, std::string_view version);

  // `result` is one of reconcile_result::k*.
  void ObserveReconcile(std::string_view result, std::chrono::duration<double> took);
  void SetObjectPhases(const std::map<Phase, std::size_t>& counts);
  void SetManifestErrors(std::size_t n);
  void SetManifestObjects(std::size_t n);
  void ManifestReload(bool ok, WallTime at);
  void ObserveRateLimiterWait(std::chrono::duration<double> waited);
  void SetLongestRunningProcessor(std::chrono::duration<double> age);
  // Brings runtime_limit_stops_total{source} up to `total` (the reconcilers count the stops;
  // source is "object" or "policy").
  void SetRuntimeLimitStops(std::string_view source, std::uint64_t total);
  // Sets policies{phase} (TrainingJobPolicy manifests by phase, controller/runtime/
  // policy_status.h); a phase absent from `counts` is 0.
  void SetPolicyPhases(const std::map<std::string, std::size_t>& counts);

  // ApiCallObserver
  void OnApiCall(std::string_view operation, int http_status,
                 std::chrono::duration<double> latency) override;
  // WorkQueueObserver
  void OnAdd() override;
  void OnRetry() override;
  void OnDepth(std::size_t ready) override;
  void OnQueueLatency(Duration waited) override;

 private:
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  std::map<std::string_view, prometheus::Counter*> reconcile_by_result_;  // the pre-created series
  prometheus::Histogram& reconcile_duration_;
  prometheus::Gauge& workqueue_depth_;
  prometheus::Counter& workqueue_adds_;
  prometheus::Counter& workqueue_retries_;
  prometheus::Histogram& workqueue_queue_duration_;
  prometheus::Gauge& workqueue_longest_running_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_duration_;
  prometheus::Family<prometheus::Gauge>& objects_;
  std::map<Phase, prometheus::Gauge*> objects_by_phase_;
  prometheus::Gauge& manifest_errors_;
  prometheus::Gauge& manifest_objects_;
  prometheus::Gauge& reload_successful_;
  prometheus::Gauge& reload_success_timestamp_;
  prometheus::Histogram& rate_limiter_wait_;
  prometheus::Family<prometheus::Counter>& runtime_limit_stops_;
  std::map<std::string_view, prometheus::Counter*> runtime_limit_stops_by_source_;
  std::map<std::string, prometheus::Gauge*, std::less<>> policies_by_phase_;
};

}  // namespace mactl
