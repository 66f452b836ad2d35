#include "controller/core/training_job_observer.h"

#include <algorithm>
#include <utility>

#include "controller/cloud/training_job_search.h"

namespace mactl {

const std::vector<std::string>& ActiveJobPhases() {
  static const std::vector<std::string> kPhases = {"Creating", "Pending", "Running", "Terminating"};
  return kPhases;
}

TrainingJobObserver::TrainingJobObserver(TrainingJobClient& client, const Clock& clock)
    : client_(client), clock_(clock) {}

TrainingJobObserver::Counters TrainingJobObserver::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<TrainingJobInfo> TrainingJobObserver::Detail(const std::string& project_id,
                                                    const std::string& id) {
  {
    std::lock_guard lock(mu_);
    ++counters_.detail_calls;
  }
  return client_.GetTrainingJob(project_id, id);
}

Result<TrainingJobObservation> TrainingJobObserver::NameSearch(const TrainingJobRef& ref) {
  const SteadyTime started = clock_.Now();
  TrainingJobSearch search;
  search.name_like = ref.training_job_name;
  Result<SearchResult> found = SearchAllTrainingJobs(client_, ref.project_id, search);
  {
    std::lock_guard lock(mu_);
    ++counters_.name_searches;
    counters_.search_pages += found.ok() ? static_cast<std::uint64_t>(found->pages) : 1;
  }
  if (!found) return found.error();
  TrainingJobObservation out{{}, started, "name-search", std::nullopt};
  // `like` is a substring match: keep the exact name only.
  for (TrainingJobInfo& job : found.value().jobs) {
    if (job.name == ref.training_job_name) out.jobs.push_back(std::move(job));
  }
  return out;
}

Result<const TrainingJobObserver::ProjectSearch*> TrainingJobObserver::Snapshot(
    std::unique_lock<std::mutex>& lock, const TrainingJobObserveRequest& request,
    std::optional<Duration>& retry_in) {
  const std::string& project_id = request.ref.project_id;
  while (true) {
    ProjectSearch& cache = projects_[project_id];
    if (cache.has_snapshot && cache.taken_at >= request.not_before) {
      ++counters_.cache_hits;
      return &cache;
    }
    const SteadyTime now = clock_.Now();
    if (cache.searching) {
      if (request.may_defer) {
        ++counters_.deferrals;
        retry_in = std::clamp<Duration>(cache.last_search_took, std::chrono::milliseconds(100),
                                        std::chrono::seconds(5));
        return static_cast<const ProjectSearch*>(nullptr);
      }
      searched_.wait(lock, [&] { return !projects_[project_id].searching; });
      continue;  // its snapshot may be fresh enough for us
    }
    if (cache.last_error && now < cache.last_failed_at + kFailedSearchShared) {
      return *cache.last_error;  // a search just failed: share it, do not search again
    }
    cache.searching = true;
    ++counters_.searches;
    lock.unlock();
    TrainingJobSearch search;
    search.phases = ActiveJobPhases();
    Result<SearchResult> found = SearchAllTrainingJobs(client_, project_id, search);
    lock.lock();
    ProjectSearch& after = projects_[project_id];
    counters_.search_pages += found.ok() ? static_cast<std::uint64_t>(found->pages) : 1;
    after.searching = false;
    if (found) {
      after.has_snapshot = true;
      after.taken_at = now;
      after.last_search_took = clock_.Now() - now;
      after.active.clear();
      for (TrainingJobInfo& job : found.value().jobs) {
        std::string id = job.id;
        after.active.emplace(std::move(id), std::move(job));
      }
      after.last_error.reset();
    } else {
      after.last_error = found.error();
      after.last_failed_at = clock_.Now();
    }
    searched_.notify_all();
    if (!found) return found.error();
  }
}

TrainingJobObservation TrainingJobObserver::FromSnapshot(const ProjectSearch& search,
                                                         const TrainingJobObserveRequest& request) {
  const TrainingJobRef& ref = request.ref;
  TrainingJobObservation out{{}, search.taken_at, "search", std::nullopt};
  if (!ref.training_job_id.empty()) {
    if (const auto it = search.active.find(ref.training_job_id); it != search.active.end()) {
      out.jobs.push_back(it->second);
    }
    return out;
  }
  for (const auto& [id, job] : search.active) {
    if (job.name == ref.training_job_name) out.jobs.push_back(job);
  }
  // Oldest first, as the search listed them, so messages and ids read the same each time.
  std::sort(out.jobs.begin(), out.jobs.end(),
            [](const TrainingJobInfo& a, const TrainingJobInfo& b) {
              return a.create_time_ms != b.create_time_ms ? a.create_time_ms < b.create_time_ms
                                                          : a.id < b.id;
            });
  return out;
}

Result<TrainingJobObservation> TrainingJobObserver::Observe(
    const TrainingJobObserveRequest& request) {
  const TrainingJobRef& ref = request.ref;
  if (!request.allow_batch) {
    if (ref.training_job_id.empty()) return NameSearch(ref);
    const SteadyTime started = clock_.Now();
    Result<TrainingJobInfo> job = Detail(ref.project_id, ref.training_job_id);
    if (!job) return job.error();
    return TrainingJobObservation{{std::move(job).value()}, started, "detail", std::nullopt};
  }
  std::unique_lock lock(mu_);
  std::optional<Duration> retry_in;
  Result<const ProjectSearch*> snapshot = Snapshot(lock, request, retry_in);
  if (!snapshot) return snapshot.error();
  if (*snapshot == nullptr) return TrainingJobObservation{{}, SteadyTime{}, "", retry_in};
  TrainingJobObservation out = FromSnapshot(**snapshot, request);
  lock.unlock();
  const bool listed = std::any_of(out.jobs.begin(), out.jobs.end(), [&](const TrainingJobInfo& j) {
    return j.id == request.recheck_if_absent;
  });
  if (request.recheck_if_absent.empty() || listed) return out;
  // Not listed any more (or never seen): ended, gone, or in a phase the search does not ask
  // for. Only the detail call says which.
  const SteadyTime started = clock_.Now();
  Result<TrainingJobInfo> job = Detail(ref.project_id, request.recheck_if_absent);
  if (!job) {
    // A name's job that is gone is no job of that name any more; an id's is an error to show.
    const bool gone = job.error().code == "ModelArts.2775";
    if (!gone || !ref.training_job_id.empty()) return job.error();
  } else {
    out.jobs.push_back(std::move(job).value());
  }
  out.observed_at = std::min(out.observed_at, started);
  out.source = "detail";
  return out;
}

}  // namespace mactl
