#include "controller/observer.h"

#include <utility>

namespace mactl {

Observer::Observer(CloudClient& client, const Clock& clock) : client_(client), clock_(clock) {}

void Observer::SetManagedCounts(std::map<std::string, std::size_t> counts) {
  std::lock_guard lock(mu_);
  managed_counts_ = std::move(counts);
}

std::size_t Observer::PagesEstimate(const ProjectCache& cache) const {
  const auto total = static_cast<std::size_t>(cache.total_jobs > 0 ? cache.total_jobs : 1);
  return (total + kMaxPerPage - 1) / kMaxPerPage;
}

bool Observer::WorthListing(const std::string& project_id, std::size_t waiting) const {
  std::lock_guard lock(mu_);
  const auto it = projects_.find(project_id);
  const std::size_t pages = it == projects_.end() ? 1 : PagesEstimate(it->second);
  return waiting > pages;
}

Observer::Counters Observer::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<Observation> Observer::Detail(const VersionRef& ref) {
  const SteadyTime started = clock_.Now();
  {
    std::lock_guard lock(mu_);
    ++counters_.detail_calls;
  }
  Result<VersionDetail> detail = client_.GetVersion(ref);
  if (!detail) return detail.error();
  return Observation{detail->status, started, "detail"};
}

Result<Observer::ProjectCache> Observer::ListAll(const std::string& project_id,
                                                 SteadyTime started) {
  ProjectCache fresh;
  fresh.has_snapshot = true;
  fresh.taken_at = started;
  std::size_t seen = 0;
  // The API caps page at 65535; a project that large would be listed in full anyway.
  for (int page = 1; page <= 65535; ++page) {
    Result<JobListPage> result = client_.ListJobs(project_id, page, kMaxPerPage);
    {
      std::lock_guard lock(mu_);
      ++counters_.list_pages;
    }
    if (!result) return result.error();
    fresh.total_jobs = result->job_total_count;
    for (const JobSummary& job : result->jobs) {
      fresh.jobs[job.job_id] = JobRow{job.version_id, job.status};
    }
    seen += result->jobs.size();
    if (result->jobs.size() < static_cast<std::size_t>(kMaxPerPage) ||
        seen >= static_cast<std::size_t>(result->job_total_count)) {
      break;
    }
  }
  return fresh;
}

Result<Observation> Observer::Observe(const ObserveRequest& request) {
  const VersionRef& ref = request.ref;
  std::unique_lock lock(mu_);
  std::optional<std::uint64_t> waited_for;  // generation of a refresh this call waited on
  while (true) {
    ProjectCache& cache = projects_[ref.project_id];
    if (cache.has_snapshot && cache.taken_at >= request.not_before) {
      const auto job = cache.jobs.find(ref.job_id);
      if (job != cache.jobs.end() && job->second.latest_version == ref.version_id) {
        ++counters_.cache_hits;
        return Observation{job->second.status, cache.taken_at, "list"};
      }
      break;  // not the latest version (or a job the list did not show): ask exactly
    }
    if (!request.allow_batch) break;
    const auto managed = managed_counts_.find(ref.project_id);
    const std::size_t managed_here = managed == managed_counts_.end() ? 0 : managed->second;
    if (managed_here <= PagesEstimate(cache)) break;
    if (waited_for && cache.generation > *waited_for && cache.last_refresh_error) {
      return *cache.last_refresh_error;  // the refresh we waited for failed: share its error
    }
    if (cache.refreshing) {
      waited_for = cache.generation;
      refreshed_.wait(lock, [&] { return !projects_[ref.project_id].refreshing; });
      continue;  // its snapshot may be fresh enough for us
    }
    cache.refreshing = true;
    const SteadyTime started = clock_.Now();
    ++counters_.list_refreshes;
    lock.unlock();
    Result<ProjectCache> listed = ListAll(ref.project_id, started);
    lock.lock();
    ProjectCache& after = projects_[ref.project_id];
    after.refreshing = false;
    ++after.generation;
    if (listed) {
      const std::uint64_t generation = after.generation;
      after = std::move(listed).value();
      after.generation = generation;
      after.last_refresh_error.reset();
    } else {
      after.last_refresh_error = listed.error();
    }
    refreshed_.notify_all();
    if (!listed) return listed.error();
  }
  lock.unlock();
  return Detail(ref);
}

}  // namespace mactl
