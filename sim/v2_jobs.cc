#include "sim/v2_jobs.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "api/training_job.h"

namespace mactl::sim {
namespace {

constexpr std::array<const char*, 3> kTerminable = {"Creating", "Pending", "Running"};
constexpr std::array<const char*, 4> kEnded = {"Completed", "Failed", "Terminated", "Abnormal"};

bool OneOf(const std::string& s, const auto& names) {
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return s == n; });
}

// Phases in which the job has not started running yet.
bool NotStarted(const std::string& phase) { return phase == "Creating" || phase == "Pending"; }

// The secondary phase the reference pairs with a phase when none is given.
std::string DefaultSecondary(const std::string& phase) {
  if (phase == "Pending") return "Queuing";
  return phase;
}

std::int64_t ToMs(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

constexpr std::int64_t kSeedAgeMs = 3 * 3600 * 1000;   // seeded jobs were created this long ago
constexpr std::int64_t kStartLagMs = 30 * 1000;        // and queued this long before starting
constexpr std::int64_t kSeededRunMs = 20 * 60 * 1000;  // how long a seeded ended job ran

// Job is a stored job or its view: both carry name, phase and create_time_ms, and a search
// page tests the stored jobs so that only the page's jobs are copied into views.
template <typename Job>
bool Matches(const Job& job, const V2Filter& f) {
  const auto any = [&](auto pred) { return std::any_of(f.values.begin(), f.values.end(), pred); };
  const std::string& field = f.key == "name" ? job.name : job.phase;
  if (f.key == "create_time") {
    // between [from, to] in ms; an empty bound is open.
    const auto bound = [](const std::vector<std::string>& values, std::size_t i,
                          std::int64_t open) {
      std::int64_t v = open;
      if (i < values.size()) {
        const std::string& text = values[i];
        std::from_chars(text.data(), text.data() + text.size(), v);
      }
      return v;
    };
    const std::int64_t from = bound(f.values, 0, std::numeric_limits<std::int64_t>::min());
    const std::int64_t to = bound(f.values, 1, std::numeric_limits<std::int64_t>::max());
    return job.create_time_ms >= from && job.create_time_ms <= to;
  }
  if (f.op == "like") {
    return any([&](const std::string& v) { return field.find(v) != std::string::npos; });
  }
  if (f.op == "in") return any([&](const std::string& v) { return field == v; });
  if (f.op == "not") return !any([&](const std::string& v) { return field == v; });
  return false;
}

// The reference's example sends empty values and still gets jobs back: an empty value does
// not constrain.
bool Constrains(const V2Filter& f) {
  return std::any_of(f.values.begin(), f.values.end(),
                     [](const std::string& v) { return !v.empty(); });
}

}  // namespace

bool IsDocumentedV2Phase(const std::string& phase) {
  return IsTerminableV2Phase(phase) || phase == "Terminating" || IsEndedV2Phase(phase);
}
bool IsTerminableV2Phase(const std::string& phase) { return OneOf(phase, kTerminable); }
bool IsEndedV2Phase(const std::string& phase) { return OneOf(phase, kEnded); }

V2JobStore::V2JobStore(const Clock& clock, Duration kill_delay)
    : clock_(clock), kill_delay_(kill_delay) {}

std::int64_t V2JobStore::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
      .count();
}

void V2JobStore::Settle(Job& job) const {
  if (job.phase == "Terminating" && job.terminate_done_at &&
      clock_.Now() >= *job.terminate_done_at) {
    job.phase = "Terminated";
    job.secondary_phase = "Terminated";
    job.end_time_ms = job.terminate_done_wall_ms;
    job.terminate_done_at.reset();
  }
}

void V2JobStore::SetPhase(Job& job, const std::string& phase, const std::string& secondary,
                          bool sticky) const {
  const std::int64_t now_ms = WallMs();
  job.phase = phase;
  job.secondary_phase = secondary.empty() ? DefaultSecondary(phase) : secondary;
  job.terminate_done_at.reset();
  if (phase == "Terminating" && !sticky) {
    job.terminate_done_at = clock_.Now() + kill_delay_;
    job.terminate_done_wall_ms = now_ms + ToMs(kill_delay_);
  }
  if (NotStarted(phase)) {
    job.start_time_ms = 0;
  } else if (job.start_time_ms == 0) {
    job.start_time_ms = now_ms;
  }
  if (IsEndedV2Phase(phase)) {
    if (job.end_time_ms == 0) job.end_time_ms = now_ms;
  } else {
    job.end_time_ms = 0;
  }
}

V2JobView V2JobStore::View(const std::string& project_id, const Job& job) const {
  V2JobView out;
  out.project_id = project_id;
  out.id = job.id;
  out.name = job.name;
  out.phase = job.phase;
  out.secondary_phase = job.secondary_phase;
  out.description = job.description;
  out.workspace_id = job.workspace_id;
  out.create_time_ms = job.create_time_ms;
  out.start_time_ms = job.start_time_ms;
  if (job.start_time_ms != 0) {
    const std::int64_t until = job.end_time_ms != 0 ? job.end_time_ms : WallMs();
    out.duration_ms = std::max<std::int64_t>(0, until - job.start_time_ms);
  }
  out.terminate_calls = job.terminate_calls;
  out.terminates_accepted = job.terminates_accepted;
  out.terminate_received_while = job.terminate_received_while;
  return out;
}

V2JobStore::Job* V2JobStore::Find(const std::string& project_id, const std::string& id) {
  const auto p = projects_.find(project_id);
  if (p == projects_.end()) return nullptr;
  for (Job& job : p->second) {
    if (job.id == id) {
      Settle(job);
      return &job;
    }
  }
  return nullptr;
}

Status V2JobStore::AddJob(const std::string& project_id, const V2JobSeed& seed) {
  const auto invalid = [](std::string why) {
    return MakeError(ErrorClass::kTerminal, "InvalidSeed", std::move(why));
  };
  if (project_id.empty()) return invalid("empty project id");
  if (!IsValidTrainingJobId(seed.id)) return invalid("training job id is not a UUID: " + seed.id);
  if (!IsValidTrainingJobName(seed.name)) return invalid("bad training job name: " + seed.name);
  if (seed.phase.empty()) return invalid("training job " + seed.id + " has no phase");
  std::lock_guard lock(mu_);
  Project& project = projects_[project_id];
  const std::string id = NormalizeTrainingJobId(seed.id);
  for (const Job& job : project) {
    if (job.id == id) return invalid("duplicate training job id " + id);
    if (job.name == seed.name && job.workspace_id == seed.workspace_id) {
      return invalid("duplicate training job name " + seed.name + " in workspace " +
                     seed.workspace_id);
    }
  }
  Job job;
  job.id = id;
  job.name = seed.name;
  job.description = seed.description;
  job.workspace_id = seed.workspace_id;
  const std::int64_t now_ms = WallMs();
  // Seeded jobs were created earlier, one millisecond apart, so creation order is stable.
  job.create_time_ms = now_ms - kSeedAgeMs + next_create_ms_offset_++;
  SetPhase(job, seed.phase, seed.secondary_phase, false);
  if (!NotStarted(seed.phase)) job.start_time_ms = job.create_time_ms + kStartLagMs;
  if (IsEndedV2Phase(seed.phase)) job.end_time_ms = job.start_time_ms + kSeededRunMs;
  if (seed.duration_ms && job.start_time_ms != 0) {
    if (job.end_time_ms != 0) {
      job.end_time_ms = job.start_time_ms + *seed.duration_ms;
    } else {
      // Still running: it started duration_ms ago, and the duration grows from there.
      job.start_time_ms = now_ms - *seed.duration_ms;
      job.create_time_ms = std::min(job.create_time_ms, job.start_time_ms - kStartLagMs);
    }
  }
  project.push_back(std::move(job));
  return OkStatus();
}

bool V2JobStore::HasProject(const std::string& project_id) const {
  std::lock_guard lock(mu_);
  return projects_.count(project_id) > 0;
}

std::optional<V2JobView> V2JobStore::Get(const std::string& project_id, const std::string& id) {
  std::lock_guard lock(mu_);
  const Job* job = Find(project_id, id);
  if (job == nullptr) return std::nullopt;
  return View(project_id, *job);
}

V2SearchResult V2JobStore::Search(const std::string& project_id, const V2SearchQuery& query) {
  std::lock_guard lock(mu_);
  V2SearchResult out;
  const auto p = projects_.find(project_id);
  if (p == projects_.end()) return out;
  std::vector<const Job*> matching;
  for (Job& job : p->second) {
    Settle(job);
    const bool all =
        std::all_of(query.filters.begin(), query.filters.end(),
                    [&](const V2Filter& f) { return !Constrains(f) || Matches(job, f); });
    if (all) matching.push_back(&job);
  }
  std::stable_sort(matching.begin(), matching.end(), [&](const Job* a, const Job* b) {
    return query.descending ? a->create_time_ms > b->create_time_ms
                            : a->create_time_ms < b->create_time_ms;
  });
  out.total = static_cast<std::int64_t>(p->second.size());
  out.count = static_cast<std::int64_t>(matching.size());
  const auto limit = static_cast<std::size_t>(std::clamp(query.limit, 1, 50));
  const std::size_t first = static_cast<std::size_t>(std::max(query.offset, 0)) * limit;
  for (std::size_t i = first; i < matching.size() && i < first + limit; ++i) {
    out.items.push_back(View(project_id, *matching[i]));
  }
  return out;
}

V2TerminateResult V2JobStore::Terminate(const std::string& project_id, const std::string& id,
                                        bool complete_first) {
  std::lock_guard lock(mu_);
  V2TerminateResult out;
  Job* job = Find(project_id, id);
  if (job == nullptr) return out;
  if (complete_first) SetPhase(*job, "Completed", "", false);
  ++job->terminate_calls;
  job->terminate_received_while.push_back(job->phase);
  if (IsTerminableV2Phase(job->phase)) {
    ++job->terminates_accepted;
    SetPhase(*job, "Terminating", "", false);
    out.outcome = V2TerminateOutcome::kAccepted;
  } else {
    out.outcome = V2TerminateOutcome::kNotAllowed;
  }
  out.job = View(project_id, *job);
  return out;
}

bool V2JobStore::ForcePhase(const std::string& project_id, const std::string& id,
                            const std::string& phase, const std::string& secondary_phase,
                            bool sticky) {
  std::lock_guard lock(mu_);
  Job* job = Find(project_id, id);
  if (job == nullptr) return false;
  SetPhase(*job, phase, secondary_phase, sticky);
  return true;
}

std::vector<V2JobView> V2JobStore::All() {
  std::lock_guard lock(mu_);
  std::vector<V2JobView> out;
  for (auto& [project_id, project] : projects_) {
    for (Job& job : project) {
      Settle(job);
      out.push_back(View(project_id, job));
    }
  }
  return out;
}

}  // namespace mactl::sim
