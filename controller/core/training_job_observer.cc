#include "controller/core/training_job_observer.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "controller/core/batch_rule.h"

namespace mactl {

namespace {

// Passes every call through and reports each search page that arrived.
class PageReportingClient final : public TrainingJobClient {
 public:
  PageReportingClient(TrainingJobClient& inner,
                      std::function<void(const TrainingJobSearchPage&)> on_page)
      : inner_(inner), on_page_(std::move(on_page)) {}
  Result<TrainingJobInfo> GetTrainingJob(const std::string& project_id,
                                         const std::string& id) override {
    return inner_.GetTrainingJob(project_id, id);
  }
  Result<TrainingJobSearchPage> SearchTrainingJobs(const std::string& project_id,
                                                   const TrainingJobSearch& search,
                                                   int offset) override {
    Result<TrainingJobSearchPage> page = inner_.SearchTrainingJobs(project_id, search, offset);
    if (page) on_page_(*page);
    return page;
  }
  Result<TrainingJobInfo> TerminateTrainingJob(const std::string& project_id,
                                               const std::string& id) override {
    return inner_.TerminateTrainingJob(project_id, id);
  }

 private:
  TrainingJobClient& inner_;
  const std::function<void(const TrainingJobSearchPage&)> on_page_;
};

}  // namespace

const std::vector<std::string>& ActiveJobPhases() {
  static const std::vector<std::string> kPhases = {"Creating", "Pending", "Running", "Terminating"};
  return kPhases;
}

TrainingJobObserver::TrainingJobObserver(TrainingJobClient& client, const Clock& clock)
    : client_(client), clock_(clock) {}

void TrainingJobObserver::SetManagedCounts(std::map<std::string, std::size_t> counts) {
  std::lock_guard lock(mu_);
  due_.SetManagedCounts(std::move(counts));
}

void TrainingJobObserver::ExpectObservation(const std::string& key, DueObservation due) {
  std::lock_guard lock(mu_);
  due_.Set(key, std::move(due));
}

void TrainingJobObserver::ForgetObservation(const std::string& key) {
  std::lock_guard lock(mu_);
  due_.Erase(key);
}

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

TrainingJobObserver::ProjectSearch* TrainingJobObserver::DeferLocked(
    ProjectSearch& search, SteadyTime now, std::optional<Duration>& retry_in) {
  ++counters_.deferrals;
  retry_in = DeferFor(search.progress, now);
  return nullptr;
}

std::size_t TrainingJobObserver::DueTogetherLocked(const TrainingJobObserveRequest& request,
                                                   const ProjectSearch& search,
                                                   SteadyTime now) const {
  DueQuery query;
  query.project_id = request.ref.project_id;
  query.key = request.ref.Key();
  query.now = now;
  query.window = request.batch_window;
  if (search.has_snapshot) query.cached = search.taken_at;
  return due_.CountDue(query);
}

Result<const TrainingJobObserver::ProjectSearch*> TrainingJobObserver::Snapshot(
    std::unique_lock<std::mutex>& lock, const TrainingJobObserveRequest& request,
    std::optional<Duration>& retry_in) {
  const std::string& project_id = request.ref.project_id;
  // A search taken now is the freshest answer there can be: a not_before later than now is
  // held to now, or every search taken now would be too old and the loop would never end.
  const SteadyTime not_before = std::min(request.not_before, clock_.Now());
  while (true) {
    ProjectSearch& cache = projects_[project_id];
    if (cache.has_snapshot && cache.taken_at >= not_before) {
      ++counters_.cache_hits;
      return &cache;
    }
    const SteadyTime now = clock_.Now();
    // Deferred callers come back after the search in flight, which may answer them, without
    // counting (DueSchedule::CountDue is linear in the project's objects).
    if (cache.searching && request.may_defer) return DeferLocked(cache, now, retry_in);
    const std::size_t pages = ShortPageSearchPages(static_cast<std::int64_t>(cache.active_count),
                                                   static_cast<std::size_t>(kMaxSearchLimit));
    if (!ShouldBatch(DueTogetherLocked(request, cache, now), pages)) {
      return static_cast<const ProjectSearch*>(nullptr);  // ask exactly
    }
    if (cache.searching) {
      searched_.wait(lock, [&] { return !projects_[project_id].searching; });
      continue;  // its snapshot may be fresh enough for us
    }
    if (cache.last_error && now < cache.last_failed_at + kFailedSearchShared) {
      return *cache.last_error;  // a search just failed: share it, do not search again
    }
    Result<SearchResult> found = SearchLocked(lock, project_id, now);
    if (!found) return found.error();
  }
}

Result<SearchResult> TrainingJobObserver::SearchLocked(std::unique_lock<std::mutex>& lock,
                                                       const std::string& project_id,
                                                       SteadyTime now) {
  ProjectSearch& before = projects_[project_id];
  before.searching = true;
  before.progress.started = now;
  before.progress.pages_done = 0;
  before.progress.pages_total = 0;
  ++counters_.searches;
  lock.unlock();
  TrainingJobSearch search;
  search.phases = ActiveJobPhases();
  // Each page reports progress, for deferred callers (controller/core/refresh_deferral.h).
  PageReportingClient reporting(client_, [&](const TrainingJobSearchPage& page) {
    std::lock_guard progress_lock(mu_);
    RefreshProgress& progress = projects_[project_id].progress;
    if (progress.pages_done++ == 0) {
      progress.pages_total = std::min<std::size_t>(
          ShortPageSearchPages(page.total, static_cast<std::size_t>(search.limit)),
          static_cast<std::size_t>(kMaxSearchPages));
    }
  });
  Result<SearchResult> found = SearchAllTrainingJobs(reporting, project_id, search);
  lock.lock();
  ProjectSearch& after = projects_[project_id];
  counters_.search_pages += found.ok() ? static_cast<std::uint64_t>(found->pages) : 1;
  after.searching = false;
  after.progress.pages_done = 0;
  after.progress.pages_total = 0;
  if (found) {
    after.has_snapshot = true;
    after.taken_at = now;
    after.progress.last_took = clock_.Now() - now;
    after.active.clear();
    for (const TrainingJobInfo& job : found.value().jobs) after.active.emplace(job.id, job);
    after.active_count = after.active.size();
    after.last_error.reset();
  } else {
    after.last_error = found.error();
    after.last_failed_at = clock_.Now();
  }
  searched_.notify_all();
  return found;
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

Result<TrainingJobObservation> TrainingJobObserver::Exact(const TrainingJobRef& ref) {
  if (ref.training_job_id.empty()) return NameSearch(ref);
  const SteadyTime started = clock_.Now();
  Result<TrainingJobInfo> job = Detail(ref.project_id, ref.training_job_id);
  if (!job) return job.error();
  return TrainingJobObservation{{std::move(job).value()}, started, "detail", std::nullopt};
}

Result<TrainingJobObservation> TrainingJobObserver::Observe(
    const TrainingJobObserveRequest& request) {
  const TrainingJobRef& ref = request.ref;
  if (!request.allow_batch) return Exact(ref);
  std::unique_lock lock(mu_);
  std::optional<Duration> retry_in;
  Result<const ProjectSearch*> snapshot = Snapshot(lock, request, retry_in);
  if (!snapshot) return snapshot.error();
  if (*snapshot == nullptr) {
    if (retry_in) return TrainingJobObservation{{}, SteadyTime{}, "", retry_in};
    lock.unlock();
    return Exact(ref);
  }
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
