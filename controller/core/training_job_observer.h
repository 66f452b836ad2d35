#pragma once

// Observes v2 training jobs as cheaply as the API allows (README, "Manifests", kind
// TrainingJob): one paged search over a project's non-terminal jobs answers every object of
// the project (single-flight per project, reused while it is fresh enough), and only an object
// whose inferred state changed costs a detail call. A job the search does not list has ended
// or is gone; if it was last seen not terminal (or never seen), that is a change, and the
// detail call says which. The search is taken only when enough objects of the project are due
// together (controller/core/batch_rule.h): a lone poll asks exactly. Edits ask exactly: the
// detail call for an id, a name search for a name. A rechecked job of a name that is gone (400
// ModelArts.2775) is simply no longer a job of that name. A failed search is shared for
// kFailedSearchShared, so an outage costs one search per project per interval, not one per object.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/result.h"
#include "api/training_job.h"
#include "controller/base/clock.h"
#include "controller/cloud/training_job_client.h"
#include "controller/cloud/training_job_search.h"
#include "controller/core/due_schedule.h"
#include "controller/core/refresh_deferral.h"

namespace mactl {

// The phases the batched search asks for: every documented phase that is not terminal.
// A job in an undocumented phase is not listed; the recheck below finds it.
const std::vector<std::string>& ActiveJobPhases();

struct TrainingJobObserveRequest {
  TrainingJobRef ref;
  // The observation must have been taken at or after this time (e.g. after our terminate); a
  // time later than now counts as now (an observation cannot come from the future).
  SteadyTime not_before;
  // A project search taken after not_before may answer.
  bool allow_batch = true;
  // If another caller's search is in flight and would answer, return a deferral instead of
  // waiting for it.
  bool may_defer = false;
  // The job to look up exactly when the search does not list it: for an id, the id unless it
  // was last seen terminal; for a name, the job it last resolved to while that was active.
  // Empty: a job missing from the search has not changed (it had ended).
  std::string recheck_if_absent;
  // Objects of the project due within this long from now are due together with this one and
  // share a search (DueQuery::window).
  Duration batch_window{0};
};

struct TrainingJobObservation {
  // For an id: the job, or none when it is not listed and not rechecked (unchanged, ended).
  // For a name: the jobs of exactly that name that the search listed, plus the rechecked one.
  std::vector<TrainingJobInfo> jobs;
  SteadyTime observed_at;
  std::string_view source;  // "search", "detail" or "name-search"; empty when deferred
  // Set only for a may_defer request answered by nothing: come back after this long.
  std::optional<Duration> retry_in;
};

class TrainingJobObserver {
 public:
  static constexpr Duration kFailedSearchShared = std::chrono::seconds(1);

  // client and clock must outlive the observer. Thread-safe.
  TrainingJobObserver(TrainingJobClient& client, const Clock& clock);

  Result<TrainingJobObservation> Observe(const TrainingJobObserveRequest& request);

  // How many managed jobs each project has: those whose next observation was never recorded
  // count as due now.
  void SetManagedCounts(std::map<std::string, std::size_t> counts);
  // When the object `key` (a TrainingJobRef key) comes due next, as its reconciler scheduled it.
  void ExpectObservation(const std::string& key, DueObservation due);
  void ForgetObservation(const std::string& key);

  struct Counters {
    std::uint64_t searches = 0;  // batched searches of a project's active jobs
    std::uint64_t search_pages = 0;
    std::uint64_t detail_calls = 0;
    std::uint64_t name_searches = 0;
    std::uint64_t cache_hits = 0;
    std::uint64_t deferrals = 0;
  };
  Counters counters() const;

 private:
  struct ProjectSearch {
    bool has_snapshot = false;
    SteadyTime taken_at;
    std::unordered_map<std::string, TrainingJobInfo> active;  // by id
    std::size_t active_count = 0;  // from the last search, for the cost estimate
    bool searching = false;
    RefreshProgress progress;  // of the search in flight; last_took of the last one
    std::optional<Error> last_error;
    SteadyTime last_failed_at;
  };

  // The project's snapshot once one taken at or after not_before exists (searching when
  // needed); nullptr with retry_in set for a deferral, nullptr alone when asking exactly is
  // cheaper than searching; an error when the search failed.
  Result<const ProjectSearch*> Snapshot(std::unique_lock<std::mutex>& lock,
                                        const TrainingJobObserveRequest& request,
                                        std::optional<Duration>& retry_in);
  // Searches the project's active jobs (lock held on entry and return, released meanwhile).
  Result<SearchResult> SearchLocked(std::unique_lock<std::mutex>& lock,
                                    const std::string& project_id, SteadyTime now);
  // The objects a search for `request` now would answer (DueSchedule::CountDue).
  std::size_t DueTogetherLocked(const TrainingJobObserveRequest& request,
                                const ProjectSearch& search, SteadyTime now) const;
  TrainingJobObserver::ProjectSearch* DeferLocked(ProjectSearch& search, SteadyTime now,
                                                  std::optional<Duration>& retry_in);
  // The detail call for an id, the name search for a name.
  Result<TrainingJobObservation> Exact(const TrainingJobRef& ref);
  // What the snapshot says about the request's job or name, before any recheck.
  TrainingJobObservation FromSnapshot(const ProjectSearch& search,
                                      const TrainingJobObserveRequest& request);
  Result<TrainingJobInfo> Detail(const std::string& project_id, const std::string& id);
  Result<TrainingJobObservation> NameSearch(const TrainingJobRef& ref);

  TrainingJobClient& client_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable searched_;
  std::unordered_map<std::string, ProjectSearch> projects_;  // guarded by mu_
  DueSchedule due_;                                          // guarded by mu_
  Counters counters_;                                        // guarded by mu_
};

}  // namespace mactl
