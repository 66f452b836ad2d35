#include "sim/sim_state.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <set>
#include <tuple>

#include "sim/job_statuses.h"

namespace mactl::sim {
namespace {

constexpr std::int64_t kHourMs = 3600 * 1000;
constexpr std::int64_t kStartLagMs = 30 * 1000;        // queueing before a seeded version starts
constexpr std::int64_t kSeededRunMs = 20 * 60 * 1000;  // how long a seeded finished version ran

std::string DefaultVersionName(std::size_t ordinal) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "V%03zu", ordinal);
  return buf;
}

std::int64_t ToMs(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

SimState::SimState(const Clock& clock, Duration kill_delay, std::int64_t job_quota)
    : clock_(clock), kill_delay_(kill_delay), job_quota_(job_quota) {}

std::int64_t SimState::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
      .count();
}

void SimState::SetStopLag(Duration lag) {
  std::lock_guard lock(mu_);
  stop_lag_ = lag;
}

void SimState::Settle(Version& v) const {
  if (v.stop_effective_at && clock_.Now() >= *v.stop_effective_at) {
    const SteadyTime effective = *v.stop_effective_at;
    v.stop_effective_at.reset();
    if (AcceptsStop(v.status)) {
      SetStatus(v, kStatusKilling, false);
      // KILLING began when the lag ended, not when someone looked.
      v.kill_done_at = effective + kill_delay_;
      v.kill_done_wall_ms -=
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - effective).count();
    }
  }
  if (v.status == kStatusKilling && v.kill_done_at && clock_.Now() >= *v.kill_done_at) {
    v.status = kStatusKilled;
    v.end_time_ms = v.kill_done_wall_ms;
    v.kill_done_at.reset();
  }
}

void SimState::SetStatus(Version& v, int status, bool sticky) const {
  const std::int64_t now_ms = WallMs();
  v.status = status;
  v.kill_done_at.reset();
  v.stop_effective_at.reset();
  if (status == kStatusKilling && !sticky) {
    v.kill_done_at = clock_.Now() + kill_delay_;
    v.kill_done_wall_ms = now_ms + ToMs(kill_delay_);
  }
  if (!HasStarted(status)) {
    v.start_time_ms = 0;
  } else if (v.start_time_ms == 0) {
    v.start_time_ms = now_ms;
  }
  if (IsTerminal(status)) {
    if (v.end_time_ms == 0) v.end_time_ms = now_ms;
  } else {
    v.end_time_ms = 0;
  }
}

void SimState::SeedRunTime(Version& v, std::int64_t duration_ms, std::int64_t now_ms) {
  if (v.end_time_ms != 0) {
    v.end_time_ms = v.start_time_ms + duration_ms;
    return;
  }
  // Still running: it started duration_ms ago, and the duration grows from there.
  v.start_time_ms = now_ms - duration_ms;
  v.create_time_ms = std::min(v.create_time_ms, v.start_time_ms - kStartLagMs);
}

VersionView SimState::View(const std::string& project_id, const Job& job, const Version& v) const {
  VersionView out;
  out.project_id = project_id;
  out.job_id = job.job_id;
  out.job_name = job.job_name;
  out.job_desc = job.job_desc;
  out.version_id = v.version_id;
  out.version_name = v.version_name;
  const auto it = job.versions.find(v.version_id);
  if (it != job.versions.begin() && it != job.versions.end()) {
    out.pre_version_id = std::prev(it)->first;
  }
  out.status = v.status;
  out.create_time_ms = v.create_time_ms;
  out.start_time_ms = v.start_time_ms;
  if (v.start_time_ms != 0) {
    const std::int64_t until = v.end_time_ms != 0 ? v.end_time_ms : WallMs();
    out.duration_ms = std::max<std::int64_t>(0, until - v.start_time_ms);
  }
  out.stop_calls = v.stop_calls;
  out.stops_accepted = v.stops_accepted;
  out.stop_received_while = v.stop_received_while;
  return out;
}

JobView SimState::ViewJob(const std::string& project_id, Job& job) const {
  JobView out;
  out.job_id = job.job_id;
  out.job_name = job.job_name;
  out.job_desc = job.job_desc;
  out.workspace_id = job.workspace_id;
  out.create_time_ms = job.create_time_ms;
  out.version_count = static_cast<std::int64_t>(job.versions.size());
  Version& latest = job.versions.rbegin()->second;
  Settle(latest);
  out.latest = View(project_id, job, latest);
  return out;
}

SimState::Job* SimState::FindJob(const std::string& project_id, std::int64_t job_id) {
  const auto p = projects_.find(project_id);
  if (p == projects_.end()) return nullptr;
  const auto j = p->second.find(job_id);
  return j == p->second.end() ? nullptr : &j->second;
}

void SimState::AddProject(const std::string& project_id) {
  std::lock_guard lock(mu_);
  projects_[project_id];
}

Status SimState::AddJob(const std::string& project_id, const JobSeed& seed) {
  const auto fail = [&](const std::string& why) {
    return MakeError(ErrorClass::kTerminal, "InvalidSeed",
                     "project " + project_id + " job " + std::to_string(seed.job_id) + ": " + why);
  };
  if (project_id.empty()) return fail("empty project id");
  if (seed.job_id < 1) return fail("job_id must be >= 1");
  if (seed.versions.empty()) return fail("a job needs at least one version");
  std::set<std::int64_t> ids;
  for (const VersionSeed& v : seed.versions) {
    if (v.version_id < 1) return fail("version_id must be >= 1");
    if (!ids.insert(v.version_id).second) {
      return fail("duplicate version_id " + std::to_string(v.version_id));
    }
  }
  std::vector<VersionSeed> ordered = seed.versions;
  std::sort(ordered.begin(), ordered.end(),
            [](const VersionSeed& a, const VersionSeed& b) { return a.version_id < b.version_id; });

  std::lock_guard lock(mu_);
  Project& project = projects_[project_id];
  if (project.count(seed.job_id) != 0) {
    return fail("duplicate job_id");
  }
  const std::int64_t now_ms = WallMs();
  const auto n = static_cast<std::int64_t>(ordered.size());
  Job job;
  job.job_id = seed.job_id;
  job.job_name = seed.job_name.empty() ? "job-" + std::to_string(seed.job_id) : seed.job_name;
  job.job_desc = seed.job_desc;
  job.workspace_id = seed.workspace_id.empty() ? "0" : seed.workspace_id;
  // Older versions were created earlier: one hour apart, the newest an hour ago.
  for (std::int64_t i = 0; i < n; ++i) {
    const VersionSeed& s = ordered[static_cast<std::size_t>(i)];
    Version v;
    v.version_id = s.version_id;
    v.version_name = s.version_name.empty() ? DefaultVersionName(static_cast<std::size_t>(i + 1))
                                            : s.version_name;
    v.status = s.status;
    v.create_time_ms = now_ms - (n - i) * kHourMs;
    if (HasStarted(s.status)) v.start_time_ms = v.create_time_ms + kStartLagMs;
    if (IsTerminal(s.status)) {
      v.end_time_ms = (v.start_time_ms != 0 ? v.start_time_ms : v.create_time_ms) + kSeededRunMs;
    }
    if (s.duration_ms && HasStarted(s.status)) SeedRunTime(v, *s.duration_ms, now_ms);
    if (s.status == kStatusKilling) {
      v.kill_done_at = clock_.Now() + kill_delay_;
      v.kill_done_wall_ms = now_ms + ToMs(kill_delay_);
    }
    job.versions.emplace(v.version_id, std::move(v));
  }
  job.create_time_ms = job.versions.begin()->second.create_time_ms;
  project.emplace(seed.job_id, std::move(job));
  return OkStatus();
}

bool SimState::HasProject(const std::string& project_id) const {
  std::lock_guard lock(mu_);
  return projects_.count(project_id) != 0;
}

std::vector<std::string> SimState::ProjectIds() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, project] : projects_) out.push_back(id);
  return out;
}

std::int64_t SimState::MaxJobId(const std::string& project_id) const {
  std::lock_guard lock(mu_);
  const auto p = projects_.find(project_id);
  if (p == projects_.end() || p->second.empty()) return 0;
  return p->second.rbegin()->first;
}

JobListResult SimState::ListJobs(const std::string& project_id, const ListQuery& query) {
  std::lock_guard lock(mu_);
  JobListResult result;
  const auto p = projects_.find(project_id);
  if (p == projects_.end()) return result;
  result.project_jobs = static_cast<std::int64_t>(p->second.size());
  // Filter and sort light rows; full views are built only for the page asked for, so a
  // page of a 100k-job project costs a sort of pointers, not 100k copies under the lock.
  struct Row {
    Job* job;
    const Version* latest;
    std::int64_t duration_ms;
  };
  const std::int64_t now_ms = WallMs();
  std::vector<Row> matching;
  for (auto& [job_id, job] : p->second) {
    Version& latest = job.versions.rbegin()->second;
    Settle(latest);
    if (query.status && latest.status != *query.status) continue;
    if (query.workspace_id && job.workspace_id != *query.workspace_id) continue;
    if (!query.search_content.empty() &&
        job.job_name.find(query.search_content) == std::string::npos) {
      continue;
    }
    std::int64_t duration_ms = 0;
    if (latest.start_time_ms != 0) {
      const std::int64_t until = latest.end_time_ms != 0 ? latest.end_time_ms : now_ms;
      duration_ms = std::max<std::int64_t>(0, until - latest.start_time_ms);
    }
    matching.push_back(Row{&job, &latest, duration_ms});
  }
  // Ties are broken by job id so pages are stable.
  const auto key_less = [&](const Row& a, const Row& b) {
    switch (query.sort_by) {
      case SortKey::kJobName:
        return a.job->job_name < b.job->job_name;
      case SortKey::kJobDesc:
        return a.job->job_desc < b.job->job_desc;
      case SortKey::kStatus:
        return a.latest->status < b.latest->status;
      case SortKey::kDuration:
        return a.duration_ms < b.duration_ms;
      case SortKey::kVersionCount:
        return a.job->versions.size() < b.job->versions.size();
      case SortKey::kCreateTime:
        return a.job->create_time_ms < b.job->create_time_ms;
    }
    return false;
  };
  std::sort(matching.begin(), matching.end(), [&](const Row& a, const Row& b) {
    if (key_less(a, b)) return !query.descending;
    if (key_less(b, a)) return query.descending;
    return a.job->job_id < b.job->job_id;
  });
  result.total = static_cast<std::int64_t>(matching.size());
  const std::int64_t offset =
      static_cast<std::int64_t>(query.page - 1) * static_cast<std::int64_t>(query.per_page);
  for (std::int64_t i = offset; i < result.total && i < offset + query.per_page; ++i) {
    result.jobs.push_back(ViewJob(project_id, *matching[static_cast<std::size_t>(i)].job));
  }
  return result;
}

std::optional<VersionView> SimState::GetVersion(const std::string& project_id, std::int64_t job_id,
                                                std::int64_t version_id) {
  std::lock_guard lock(mu_);
  Job* job = FindJob(project_id, job_id);
  if (job == nullptr) return std::nullopt;
  const auto v = job->versions.find(version_id);
  if (v == job->versions.end()) return std::nullopt;
  Settle(v->second);
  return View(project_id, *job, v->second);
}

std::optional<VersionListResult> SimState::ListVersions(const std::string& project_id,
                                                        std::int64_t job_id, int per_page,
                                                        int page) {
  std::lock_guard lock(mu_);
  Job* job = FindJob(project_id, job_id);
  if (job == nullptr) return std::nullopt;
  VersionListResult out;
  out.job_id = job->job_id;
  out.job_name = job->job_name;
  out.job_desc = job->job_desc;
  out.version_count = static_cast<std::int64_t>(job->versions.size());
  std::int64_t first = 0;
  std::int64_t last = out.version_count;  // exclusive
  if (page > 0) {
    first = static_cast<std::int64_t>(page - 1) * per_page;
    last = std::min(out.version_count, first + per_page);
  }
  std::int64_t index = 0;
  for (auto it = job->versions.rbegin(); it != job->versions.rend(); ++it, ++index) {
    if (index < first || index >= last) continue;
    Settle(it->second);
    out.versions.push_back(View(project_id, *job, it->second));
  }
  return out;
}

StopOutcome SimState::Stop(const std::string& project_id, std::int64_t job_id,
                           std::int64_t version_id, bool complete_first) {
  std::lock_guard lock(mu_);
  Job* job = FindJob(project_id, job_id);
  if (job == nullptr) return StopOutcome::kNotFound;
  const auto it = job->versions.find(version_id);
  if (it == job->versions.end()) return StopOutcome::kNotFound;
  Version& v = it->second;
  Settle(v);
  if (complete_first && AcceptsStop(v.status)) {
    SetStatus(v, kStatusCompleted, false);
  }
  ++v.stop_calls;
  v.stop_received_while.push_back(v.status);
  if (!AcceptsStop(v.status)) return StopOutcome::kNotAllowed;
  ++v.stops_accepted;
  if (stop_lag_ > Duration::zero()) {
    // Accepted, but the old status keeps showing for the lag (a second stop within it is
    // accepted again, as the first one's effect is not visible yet).
    if (!v.stop_effective_at) v.stop_effective_at = clock_.Now() + stop_lag_;
    return StopOutcome::kAccepted;
  }
  SetStatus(v, kStatusKilling, false);
  return StopOutcome::kAccepted;
}

void SimState::ForceStatus(const std::string& project_id, std::int64_t job_id,
                           std::int64_t version_id, int status, bool sticky) {
  std::lock_guard lock(mu_);
  Project& project = projects_[project_id];
  auto [job_it, job_created] = project.try_emplace(job_id);
  Job& job = job_it->second;
  const std::int64_t now_ms = WallMs();
  if (job_created) {
    job.job_id = job_id;
    job.job_name = "job-" + std::to_string(job_id);
    job.workspace_id = "0";
    job.create_time_ms = now_ms;
  }
  auto [v_it, v_created] = job.versions.try_emplace(version_id);
  Version& v = v_it->second;
  if (v_created) {
    v.version_id = version_id;
    v.version_name = DefaultVersionName(job.versions.size());
    v.create_time_ms = now_ms;
  }
  Settle(v);
  SetStatus(v, status, sticky);
}

std::vector<VersionView> SimState::AllVersions() {
  std::lock_guard lock(mu_);
  std::vector<VersionView> out;
  for (auto& [project_id, project] : projects_) {
    for (auto& [job_id, job] : project) {
      for (auto& [version_id, v] : job.versions) {
        Settle(v);
        out.push_back(View(project_id, job, v));
      }
    }
  }
  return out;
}

}  // namespace mactl::sim
