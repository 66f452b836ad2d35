#pragma once

// Observes version status through the API as cheaply as the API allows. One list page
// reports the latest version of up to 1000 jobs, so periodic re-checks of many objects
// in a project share one list refresh (single-flight per project) instead of one
// detail call each. A refresh is taken only when enough objects of the project are due
// together (controller/core/batch_rule.h); a lone poll uses the detail call. Edits, retries
// after a refused stop and non-latest versions use the detail call, which is exact and
// costs one request.
//
// A refresh of a large project takes many pages (101 at 100k jobs). A caller that may
// defer does not wait for another caller's refresh: it is told when to come back, so
// workers stay free for edits while the list runs. A failed refresh is shared: for
// kFailedRefreshShared afterwards, callers that would list again get its error instead,
// so an outage costs one list attempt per project per interval, not one per object.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/result.h"
#include "api/version_ref.h"
#include "controller/base/clock.h"
#include "controller/cloud/cloud_client.h"
#include "controller/core/due_schedule.h"
#include "controller/core/refresh_deferral.h"

namespace mactl {

struct ObserveRequest {
  VersionRef ref;
  // The observation must have been taken at or after this time (e.g. after our stop); a
  // time later than now counts as now (an observation cannot come from the future).
  SteadyTime not_before;
  // A project list taken after not_before may answer; the list is refreshed when that
  // is cheaper than a detail call per waiting object.
  bool allow_batch = true;
  // If another caller's refresh is in flight and would answer, return a deferral instead
  // of waiting for it.
  bool may_defer = false;
  // Objects of the project due within this long from now are due together with this one
  // and share a refresh (DueQuery::window).
  Duration batch_window{0};
};

struct Observation {
  int status = 0;
  // The version's run duration as the API sent it (ms; controller/cloud/run_duration.h checks
  // it before use).
  std::int64_t duration_ms = 0;
  SteadyTime observed_at;
  std::string_view source;  // "list" or "detail"; empty when deferred
  // Set only for a may_defer request answered by no status: come back after this long
  // (about when the in-flight refresh should be done, within [100 ms, 5 s]).
  std::optional<Duration> retry_in;
};

class Observer {
 public:
  static constexpr Duration kFailedRefreshShared = std::chrono::seconds(1);

  // client and clock must outlive the observer. Thread-safe.
  Observer(CloudClient& client, const Clock& clock);

  Result<Observation> Observe(const ObserveRequest& request);

  // How many managed versions each project has: those whose next observation was never
  // recorded (ExpectObservation) count as due now.
  void SetManagedCounts(std::map<std::string, std::size_t> counts);
  // When the object `key` (a VersionRef key) comes due next, as its reconciler scheduled it.
  void ExpectObservation(const std::string& key, DueObservation due);
  void ForgetObservation(const std::string& key);
  // Whether `waiting` objects of a project are cheaper to observe with one list refresh.
  bool WorthListing(const std::string& project_id, std::size_t waiting) const;

  struct Counters {
    std::uint64_t list_refreshes = 0;
    std::uint64_t list_pages = 0;
    std::uint64_t detail_calls = 0;
    std::uint64_t cache_hits = 0;
    std::uint64_t deferrals = 0;
  };
  Counters counters() const;

 private:
  struct JobRow {
    std::int64_t latest_version = 0;
    int status = 0;
    std::int64_t duration_ms = 0;  // of the latest version
  };
  struct ProjectCache {
    bool has_snapshot = false;
    SteadyTime taken_at;
    std::unordered_map<std::int64_t, JobRow> jobs;
    std::int64_t total_jobs = 0;  // from the last list, for the cost estimate
    bool refreshing = false;
    SteadyTime refresh_started;  // of the refresh in flight
    std::size_t refresh_pages_done = 0;
    std::size_t refresh_pages_total = 0;  // 0 until its first page tells the job count
    Duration last_refresh_took{0};        // of the last successful refresh
    std::optional<Error> last_refresh_error;
    SteadyTime last_refresh_failed_at;
  };

  Result<Observation> Detail(const VersionRef& ref);
  // Lists the pages of a project (per_page 1000), at most max_pages (the objects due: more
  // pages would cost more than a detail call each). Called without mu_ held.
  Result<ProjectCache> ListAll(const std::string& project_id, SteadyTime started,
                               std::size_t max_pages);
  std::size_t PagesEstimate(const ProjectCache& cache) const;
  // The objects a refresh for `request` now would answer (DueSchedule::CountDue).
  std::size_t DueTogetherLocked(const ObserveRequest& request, const ProjectCache& cache,
                                SteadyTime now) const;
  Observation DeferLocked(const ProjectCache& cache, SteadyTime now);
  // When a deferred caller should come back (controller/core/refresh_deferral.h).
  Duration DeferFor(const ProjectCache& cache, SteadyTime now) const;

  CloudClient& client_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable refreshed_;
  std::unordered_map<std::string, ProjectCache> projects_;  // guarded by mu_
  DueSchedule due_;                                         // guarded by mu_
  Counters counters_;                                       // guarded by mu_
};

}  // namespace mactl
