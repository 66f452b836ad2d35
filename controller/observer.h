#pragma once

// Observes version status through the API as cheaply as the API allows. One list page
// reports the latest version of up to 1000 jobs, so periodic re-checks of many objects
// in a project share one list refresh (single-flight per project) instead of one
// detail call each. Edits, retries after a refused stop and non-latest versions use the
// detail call, which is exact and costs one request.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/result.h"
#include "api/version_ref.h"
#include "controller/clock.h"
#include "controller/cloud_client.h"

namespace mactl {

struct ObserveRequest {
  VersionRef ref;
  // The observation must have been taken at or after this time (e.g. after our stop).
  SteadyTime not_before;
  // A project list taken after not_before may answer; the list is refreshed when that
  // is cheaper than a detail call per waiting object.
  bool allow_batch = true;
};

struct Observation {
  int status = 0;
  SteadyTime observed_at;
  std::string_view source;  // "list" or "detail"
};

class Observer {
 public:
  // client and clock must outlive the observer. Thread-safe.
  Observer(CloudClient& client, const Clock& clock);

  Result<Observation> Observe(const ObserveRequest& request);

  // How many managed versions each project has. Listing a project pays off only when
  // it answers more objects than it costs pages.
  void SetManagedCounts(std::map<std::string, std::size_t> counts);
  // Whether `waiting` objects of a project are cheaper to observe with one list refresh.
  bool WorthListing(const std::string& project_id, std::size_t waiting) const;

  struct Counters {
    std::uint64_t list_refreshes = 0;
    std::uint64_t list_pages = 0;
    std::uint64_t detail_calls = 0;
    std::uint64_t cache_hits = 0;
  };
  Counters counters() const;

 private:
  struct JobRow {
    std::int64_t latest_version = 0;
    int status = 0;
  };
  struct ProjectCache {
    bool has_snapshot = false;
    SteadyTime taken_at;
    std::unordered_map<std::int64_t, JobRow> jobs;
    std::int64_t total_jobs = 0;  // from the last list, for the cost estimate
    bool refreshing = false;
    std::uint64_t generation = 0;  // completed refreshes, successful or not
    std::optional<Error> last_refresh_error;
  };

  Result<Observation> Detail(const VersionRef& ref);
  // Lists every page of a project (per_page 1000). Called without mu_ held.
  Result<ProjectCache> ListAll(const std::string& project_id, SteadyTime started);
  std::size_t PagesEstimate(const ProjectCache& cache) const;

  CloudClient& client_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable refreshed_;
  std::unordered_map<std::string, ProjectCache> projects_;  // guarded by mu_
  std::map<std::string, std::size_t> managed_counts_;       // guarded by mu_
  Counters counters_;                                       // guarded by mu_
};

}  // namespace mactl
