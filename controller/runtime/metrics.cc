#include "controller/runtime/metrics.h"

#include <string>

#include "controller/cloud/training_job_client.h"
#include "controller/runtime/policy_status.h"

namespace mactl {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

constexpr char kPrefix[] = "modelarts_controller_";

std::string Name(std::string_view suffix) { return std::string(kPrefix) + std::string(suffix); }

// Bucket sets chosen for this workload: a reconcile takes milliseconds when served
// from the list cache and up to minutes when it waits behind the rate limiter and
// retries; a single API call takes tens of milliseconds to tens of seconds.
const Histogram::BucketBoundaries kReconcileBuckets = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
const Histogram::BucketBoundaries kApiBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                 1,     2.5,  5,     10,   30,  60};
const Histogram::BucketBoundaries kQueueBuckets = {0.001, 0.01, 0.1, 0.5, 1,   5,
                                                   10,    30,   60,  300, 600, 1800};
const Histogram::BucketBoundaries kWaitBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                  1,     2.5,   5,    10,   30,  60};

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       std::string_view name, const char* help) {
  return BuildCounter().Name(Name(name)).Help(help).Register(registry);
}
prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry,
                                                   std::string_view name, const char* help) {
  return BuildGauge().Name(Name(name)).Help(help).Register(registry);
}
prometheus::Family<prometheus::Histogram>& HistogramFamily(prometheus::Registry& registry,
                                                           std::string_view name,
                                                           const char* help) {
  return BuildHistogram().Name(Name(name)).Help(help).Register(registry);
}

std::string CodeLabel(int http_status) {
  return http_status > 0 ? std::to_string(http_status) : std::string("error");
}

std::map<std::string_view, prometheus::Counter*> BySource(
    prometheus::Family<prometheus::Counter>& family) {
  std::map<std::string_view, prometheus::Counter*> out;
  for (std::string_view source : {"object", "policy"}) {
    out.emplace(source, &family.Add({{"source", std::string(source)}}));
  }
  return out;
}

// policies{phase}, every phase created at zero so the alert's series exists from the start.
std::map<std::string, prometheus::Gauge*, std::less<>> PolicyPhaseGauges(
    prometheus::Registry& registry) {
  auto& family = GaugeFamily(registry, "policies",
                             "TrainingJobPolicy manifests by phase; PolicyLimitExceeded means a "
                             "policy's guard holds its stops back.");
  std::map<std::string, prometheus::Gauge*, std::less<>> out;
  for (std::string_view phase : policy_phase::kAll) {
    out.emplace(std::string(phase), &family.Add({{"phase", std::string(phase)}}));
  }
  return out;
}

}  // namespace

ControllerMetrics::ControllerMetrics(prometheus::Registry& registry, std::string_view version)
    : reconcile_total_(
          CounterFamily(registry, "reconcile_total",
                        "Reconciles by result: success (in the desired state), error (failed, "
                        "retried after backoff), requeue_after (progressing, polled).")),
      reconcile_duration_(
          HistogramFamily(registry, "reconcile_duration_seconds",
                          "Time one reconcile took, including API calls and rate-limit waits.")
              .Add({}, kReconcileBuckets)),
      workqueue_depth_(GaugeFamily(registry, "workqueue_depth",
                                   "Objects ready to be reconciled and waiting for a worker.")
                           .Add({})),
      workqueue_adds_(CounterFamily(registry, "workqueue_adds_total",
                                    "Adds to the work queue, immediate and delayed.")
                          .Add({})),
      workqueue_retries_(
          CounterFamily(registry, "workqueue_retries_total",
                        "Delayed adds to the work queue: backoff retries, polls and resyncs.")
              .Add({})),
      workqueue_queue_duration_(HistogramFamily(registry, "workqueue_queue_duration_seconds",
                                                "Time an object waited in the queue between "
                                                "becoming ready and being picked up by a worker.")
                                    .Add({}, kQueueBuckets)),
      workqueue_longest_running_(GaugeFamily(registry,
                                             "workqueue_longest_running_processor_seconds",
                                             "Age of the oldest reconcile still in progress; a "
                                             "rising value points to a stuck worker.")
                                     .Add({})),
      api_requests_(CounterFamily(
          registry, "api_requests_total",
          "ModelArts API requests by operation and HTTP status code (error = no answer).")),
      api_duration_(HistogramFamily(registry, "api_request_duration_seconds",
                                    "ModelArts API request latency by operation.")),
      objects_(GaugeFamily(registry, "objects", "Managed training-job versions by phase.")),
      manifest_errors_(GaugeFamily(registry, "manifest_errors",
                                   "Invalid manifest documents in the manifest directory now.")
                           .Add({})),
      manifest_objects_(GaugeFamily(registry, "manifest_objects",
                                    "Valid TrainingJobVersion objects loaded from the manifests.")
                            .Add({})),
      reload_successful_(
          GaugeFamily(registry, "manifests_last_reload_successful",
                      "1 when the last manifest scan had no invalid document, else 0.")
              .Add({})),
      reload_success_timestamp_(GaugeFamily(registry,
                                            "manifests_last_reload_success_timestamp_seconds",
                                            "Unix time of the last manifest scan without errors.")
                                    .Add({})),
      rate_limiter_wait_(HistogramFamily(registry, "rate_limiter_wait_seconds",
                                         "Time API requests waited for the global token bucket.")
                             .Add({}, kWaitBuckets)),
      runtime_limit_stops_(CounterFamily(
          registry, "runtime_limit_stops_total",
          "Stops and terminates sent because a job ran past its maxRuntime, by where the "
          "limit came from: object (spec.maxRuntime) or policy (TrainingJobPolicy).")),
      runtime_limit_stops_by_source_(BySource(runtime_limit_stops_)),
      policies_by_phase_(PolicyPhaseGauges(registry)) {
  for (std::string_view result :
       {reconcile_result::kSuccess, reconcile_result::kError, reconcile_result::kRequeueAfter}) {
    reconcile_by_result_.emplace(result, &reconcile_total_.Add({{"result", std::string(result)}}));
  }
  for (Phase p : kAllPhases) {
    objects_by_phase_[p] = &objects_.Add({{"phase", std::string(PhaseName(p))}});
  }
  // Pre-create the common series so dashboards and rate() see zeros, not gaps.
  for (std::string_view op :
       {api_operation::kList, api_operation::kGetVersion, api_operation::kListVersions,
        api_operation::kStop, api_operation::kGetJob, api_operation::kSearchJobs,
        api_operation::kTerminate}) {
    api_duration_.Add({{"operation", std::string(op)}}, kApiBuckets);
  }
  BuildGauge()
      .Name(Name("build_info"))
      .Help("Build information; the value is always 1.")
      .Register(registry)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

void ControllerMetrics::ObserveReconcile(std::string_view result,
                                         std::chrono::duration<double> took) {
  if (const auto it = reconcile_by_result_.find(result); it != reconcile_by_result_.end()) {
    it->second->Increment();
  }
  reconcile_duration_.Observe(took.count());
}

void ControllerMetrics::SetObjectPhases(const std::map<Phase, std::size_t>& counts) {
  for (auto& [phase, gauge] : objects_by_phase_) {
    const auto it = counts.find(phase);
    gauge->Set(it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
}

void ControllerMetrics::SetManifestErrors(std::size_t n) {
  manifest_errors_.Set(static_cast<double>(n));
}

void ControllerMetrics::SetManifestObjects(std::size_t n) {
  manifest_objects_.Set(static_cast<double>(n));
}

void ControllerMetrics::ManifestReload(bool ok, WallTime at) {
  reload_successful_.Set(ok ? 1.0 : 0.0);
  if (ok) {
    reload_success_timestamp_.Set(std::chrono::duration<double>(at.time_since_epoch()).count());
  }
}

void ControllerMetrics::ObserveRateLimiterWait(std::chrono::duration<double> waited) {
  rate_limiter_wait_.Observe(waited.count());
}

void ControllerMetrics::SetRuntimeLimitStops(std::string_view source, std::uint64_t total) {
  const auto it = runtime_limit_stops_by_source_.find(source);
  if (it == runtime_limit_stops_by_source_.end()) return;
  const double now = it->second->Value();
  if (static_cast<double>(total) > now) it->second->Increment(static_cast<double>(total) - now);
}

void ControllerMetrics::SetPolicyPhases(const std::map<std::string, std::size_t>& counts) {
  for (const auto& [phase, gauge] : policies_by_phase_) {
    const auto it = counts.find(phase);
    gauge->Set(it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
}

void ControllerMetrics::SetLongestRunningProcessor(std::chrono::duration<double> age) {
  workqueue_longest_running_.Set(age.count());
}

void ControllerMetrics::OnApiCall(std::string_view operation, int http_status,
                                  std::chrono::duration<double> latency) {
  const std::string op(operation);
  api_requests_.Add({{"operation", op}, {"code", CodeLabel(http_status)}}).Increment();
  api_duration_.Add({{"operation", op}}, kApiBuckets).Observe(latency.count());
}

void ControllerMetrics::OnAdd() { workqueue_adds_.Increment(); }
void ControllerMetrics::OnRetry() { workqueue_retries_.Increment(); }
void ControllerMetrics::OnDepth(std::size_t ready) {
  workqueue_depth_.Set(static_cast<double>(ready));
}
void ControllerMetrics::OnQueueLatency(Duration waited) {
  workqueue_queue_duration_.Observe(std::chrono::duration<double>(waited).count());
}

}  // namespace mactl
