#include "controller/core/observer.h"

#include <algorithm>
#include <utility>

#include "controller/core/batch_rule.h"

namespace mactl {

Observer::Observer(CloudClient& client, const Clock& clock) : client_(client), clock_(clock) {}

void Observer::SetManagedCounts(std::map<std::string, std::size_t> counts) {
  std::lock_guard lock(mu_);
  due_.SetManagedCounts(std::move(counts));
}

void Observer::ExpectObservation(const std::string& key, DueObservation due) {
  std::lock_guard lock(mu_);
  due_.Set(key, std::move(due));
}

void Observer::ForgetObservation(const std::string& key) {
  std::lock_guard lock(mu_);
  due_.Erase(key);
}

std::size_t Observer::PagesEstimate(const ProjectCache& cache) const {
  return CountedListPages(cache.total_jobs, kMaxPerPage);
}

bool Observer::WorthListing(const std::string& project_id, std::size_t waiting) const {
  std::lock_guard lock(mu_);
  const auto it = projects_.find(project_id);
  const std::size_t pages = it == projects_.end() ? 1 : PagesEstimate(it->second);
  return ShouldBatch(waiting, pages);
}

std::size_t Observer::DueTogetherLocked(const ObserveRequest& request, const ProjectCache& cache,
                                        SteadyTime now) const {
  DueQuery query;
  query.project_id = request.ref.project_id;
  query.key = request.ref.Key();
  query.now = now;
  query.window = request.batch_window;
  if (cache.has_snapshot) query.cached = cache.taken_at;
  return due_.CountDue(query);
}

Observation Observer::DeferLocked(const ProjectCache& cache, SteadyTime now) {
  ++counters_.deferrals;
  return Observation{0, 0, SteadyTime{}, "", DeferFor(cache, now)};
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
  return Observation{detail->status, detail->duration_ms, started, "detail", std::nullopt};
}

Result<Observer::ProjectCache> Observer::ListAll(const std::string& project_id, SteadyTime started,
                                                 std::size_t max_pages) {
  ProjectCache fresh;
  fresh.has_snapshot = true;
  fresh.taken_at = started;
  std::size_t seen = 0;
  // Pages stop at the first short page, at the job count the first page announced, at a
  // page that shows no job not seen before (a server repeating itself), and at max_pages:
  // a refresh never costs more calls than a detail call per object due would, whatever
  // job_total_count claims (it may say INT64_MAX). Jobs past the last page read are
  // observed with the detail call. The API itself caps page at 65535.
  std::size_t pages_announced = 0;
  const std::size_t last_page = std::min<std::size_t>(std::max<std::size_t>(max_pages, 1), 65535);
  for (std::size_t page = 1; page <= last_page; ++page) {
    Result<JobListPage> result = client_.ListJobs(project_id, static_cast<int>(page), kMaxPerPage);
    if (!result) {
      std::lock_guard lock(mu_);
      ++counters_.list_pages;
      return result.error();
    }
    if (page == 1) {
      fresh.total_jobs = result->job_total_count;
      pages_announced = PagesEstimate(fresh);
    }
    {
      std::lock_guard lock(mu_);
      ++counters_.list_pages;
      ProjectCache& live = projects_[project_id];  // progress, for deferred callers
      live.refresh_pages_done = page;
      live.refresh_pages_total = std::min(pages_announced, last_page);
    }
    const std::size_t known = fresh.jobs.size();
    for (const JobSummary& job : result->jobs) {
      fresh.jobs[job.job_id] = JobRow{job.version_id, job.status, job.duration_ms};
    }
    seen += result->jobs.size();
    if (result->jobs.size() < static_cast<std::size_t>(kMaxPerPage) || page >= pages_announced ||
        seen >= static_cast<std::size_t>(fresh.total_jobs) || fresh.jobs.size() == known) {
      break;
    }
  }
  return fresh;
}

Duration Observer::DeferFor(const ProjectCache& cache, SteadyTime now) const {
  return mactl::DeferFor({cache.refresh_started, cache.refresh_pages_done,
                          cache.refresh_pages_total, cache.last_refresh_took},
                         now);
}

Result<Observation> Observer::Observe(const ObserveRequest& request) {
  const VersionRef& ref = request.ref;
  // A list taken now is the freshest answer there can be: a not_before later than now is
  // held to now, or every list taken now would be too old and the loop would never end.
  const SteadyTime not_before = std::min(request.not_before, clock_.Now());
  std::unique_lock lock(mu_);
  while (true) {
    ProjectCache& cache = projects_[ref.project_id];
    if (cache.has_snapshot && cache.taken_at >= not_before) {
      const auto job = cache.jobs.find(ref.job_id);
      if (job != cache.jobs.end() && job->second.latest_version == ref.version_id) {
        ++counters_.cache_hits;
        return Observation{job->second.status, job->second.duration_ms, cache.taken_at, "list",
                           std::nullopt};
      }
      break;  // not the latest version (or a job the list did not show): ask exactly
    }
    if (!request.allow_batch) break;
    const SteadyTime now = clock_.Now();
    // Deferred callers come back after the refresh in flight, which may answer them, without
    // counting (DueSchedule::CountDue is linear in the project's objects).
    if (cache.refreshing && request.may_defer) return DeferLocked(cache, now);
    const std::size_t due = DueTogetherLocked(request, cache, now);
    if (!ShouldBatch(due, PagesEstimate(cache))) break;
    if (cache.refreshing) {
      refreshed_.wait(lock, [&] { return !projects_[ref.project_id].refreshing; });
      continue;  // its snapshot may be fresh enough for us
    }
    if (cache.last_refresh_error && now < cache.last_refresh_failed_at + kFailedRefreshShared) {
      return *cache.last_refresh_error;  // a refresh just failed: share it, do not list again
    }
    cache.refreshing = true;
    cache.refresh_started = now;
    cache.refresh_pages_done = 0;
    cache.refresh_pages_total = 0;
    ++counters_.list_refreshes;
    lock.unlock();
    Result<ProjectCache> listed = ListAll(ref.project_id, now, due);
    lock.lock();
    ProjectCache& after = projects_[ref.project_id];
    if (listed) {
      after = std::move(listed).value();
      after.last_refresh_took = clock_.Now() - now;
    } else {
      after.last_refresh_error = listed.error();
      after.last_refresh_failed_at = clock_.Now();
    }
    after.refreshing = false;
    after.refresh_pages_done = 0;
    after.refresh_pages_total = 0;
    refreshed_.notify_all();
    if (!listed) return listed.error();
  }
  lock.unlock();
  return Detail(ref);
}

}  // namespace mactl
