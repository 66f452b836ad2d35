#pragma once

// The simulator's data: projects → jobs → versions, with the asynchronous stop of the
// ModelArts v1 API (an accepted stop puts a version in KILLING; it becomes KILLED once
// kill_delay has passed). Time comes from the injected Clock and transitions are computed
// lazily on every access, so tests move a FakeClock and never sleep.
// Thread-safe: one mutex guards everything.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"

namespace mactl::sim {

// Used in list answers: job_count_limit = quota - jobs in the project.
inline constexpr std::int64_t kDefaultJobQuota = 1000;

struct VersionSeed {
  std::int64_t version_id = 0;
  int status = 0;
  std::string version_name;  // empty: "V001", "V002", ... by position in the job
  // How long a started version has already run (its `duration`, which keeps growing with the
  // sim's clock while it runs); nullopt: the default start lag and seeded run time.
  std::optional<std::int64_t> duration_ms = std::nullopt;
};

struct JobSeed {
  std::int64_t job_id = 0;
  std::string job_name;
  std::string job_desc;
  std::string workspace_id = "0";
  std::vector<VersionSeed> versions;  // at least one
};

// A consistent copy of one version, with its job's fields.
struct VersionView {
  std::string project_id;
  std::int64_t job_id = 0;
  std::string job_name;
  std::string job_desc;
  std::int64_t version_id = 0;
  std::string version_name;
  std::int64_t pre_version_id = 0;  // the next lower version id of the job, 0 for the first
  int status = 0;
  std::int64_t create_time_ms = 0;  // wall ms since the epoch
  std::int64_t start_time_ms = 0;   // 0 while it has not started
  std::int64_t duration_ms = 0;     // running time so far, or until it ended
  // Test bookkeeping: every stop request that reached this version.
  int stop_calls = 0;
  int stops_accepted = 0;
  std::vector<int> stop_received_while;  // status at each stop call
};

struct JobView {
  std::int64_t job_id = 0;
  std::string job_name;
  std::string job_desc;
  std::string workspace_id;
  std::int64_t create_time_ms = 0;
  std::int64_t version_count = 0;
  VersionView latest;  // highest version_id
};

enum class SortKey { kJobName, kJobDesc, kStatus, kDuration, kVersionCount, kCreateTime };

struct ListQuery {
  int per_page = 10;          // 1..1000
  int page = 1;               // 1..65535
  std::optional<int> status;  // status of the latest version
  SortKey sort_by = SortKey::kJobName;
  bool descending = false;
  std::string search_content;  // substring of job_name; empty matches all
  std::optional<std::string> workspace_id;
};

struct JobListResult {
  std::int64_t total = 0;         // jobs matching the filters, before paging
  std::int64_t project_jobs = 0;  // all jobs of the project (for job_count_limit)
  std::vector<JobView> jobs;      // the requested page
};

struct VersionListResult {
  std::int64_t job_id = 0;
  std::string job_name;
  std::string job_desc;
  std::int64_t version_count = 0;
  std::vector<VersionView> versions;  // newest first
};

enum class StopOutcome {
  kAccepted,    // the version was active and is now KILLING
  kNotAllowed,  // KILLING, terminal or unknown status: 409 ModelArts.2796
  kNotFound,    // no such job or version: 400 ModelArts.2775
};

class SimState {
 public:
  // clock must outlive the state.
  SimState(const Clock& clock, Duration kill_delay, std::int64_t job_quota = kDefaultJobQuota);

  SimState(const SimState&) = delete;
  SimState& operator=(const SimState&) = delete;

  Duration kill_delay() const { return kill_delay_; }
  // After this, an accepted stop leaves the version's status as it was for `lag` (the real
  // API accepts a stop and may answer the old status for a while): a stop in that window
  // is accepted again, and counted. KILLING starts when the lag ends. Set before serving.
  void SetStopLag(Duration lag);
  std::int64_t job_quota() const { return job_quota_; }

  // Creates an empty project; no-op when it exists.
  void AddProject(const std::string& project_id);
  // Adds a job with its versions (the project is created if needed). Fails on a duplicate
  // job id, a job without versions, duplicate version ids or ids < 1. Versions seeded as
  // KILLING finish kill_delay after this call.
  Status AddJob(const std::string& project_id, const JobSeed& seed);

  bool HasProject(const std::string& project_id) const;
  std::vector<std::string> ProjectIds() const;
  // Highest job id in the project, 0 when none.
  std::int64_t MaxJobId(const std::string& project_id) const;

  // Unknown project → empty result; callers check HasProject first.
  JobListResult ListJobs(const std::string& project_id, const ListQuery& query);
  std::optional<VersionView> GetVersion(const std::string& project_id, std::int64_t job_id,
                                        std::int64_t version_id);
  // page 0 = every version; otherwise 1-based pages of per_page. nullopt: unknown job.
  std::optional<VersionListResult> ListVersions(const std::string& project_id, std::int64_t job_id,
                                                int per_page, int page);

  // Handles a stop request. complete_first makes the version COMPLETED just before the stop
  // is judged (the job finished between the caller's observation and its stop).
  StopOutcome Stop(const std::string& project_id, std::int64_t job_id, std::int64_t version_id,
                   bool complete_first = false);

  // Forces a status, creating the project, job and version when missing. A forced KILLING
  // finishes after kill_delay unless sticky.
  void ForceStatus(const std::string& project_id, std::int64_t job_id, std::int64_t version_id,
                   int status, bool sticky = false);

  // Every version of every project, ordered by project, job, version.
  std::vector<VersionView> AllVersions();

 private:
  struct Version {
    std::int64_t version_id = 0;
    std::string version_name;
    int status = 0;
    std::int64_t create_time_ms = 0;
    std::int64_t start_time_ms = 0;
    std::int64_t end_time_ms = 0;            // 0 while not ended
    std::optional<SteadyTime> kill_done_at;  // KILLING → KILLED at this time
    std::int64_t kill_done_wall_ms = 0;
    std::optional<SteadyTime> stop_effective_at;  // an accepted stop still lagging
    int stop_calls = 0;
    int stops_accepted = 0;
    std::vector<int> stop_received_while;
  };
  struct Job {
    std::int64_t job_id = 0;
    std::string job_name;
    std::string job_desc;
    std::string workspace_id;
    std::int64_t create_time_ms = 0;
    std::map<std::int64_t, Version> versions;  // by version_id
  };
  using Project = std::map<std::int64_t, Job>;  // by job_id

  std::int64_t WallMs() const;
  // Applies a lagging stop that is due (→ KILLING) and a due KILLING → KILLED transition.
  void Settle(Version& v) const;
  void SetStatus(Version& v, int status, bool sticky) const;
  // A seeded version that has already run duration_ms (until now, or until it ended).
  static void SeedRunTime(Version& v, std::int64_t duration_ms, std::int64_t now_ms);
  VersionView View(const std::string& project_id, const Job& job, const Version& v) const;
  JobView ViewJob(const std::string& project_id, Job& job) const;
  Job* FindJob(const std::string& project_id, std::int64_t job_id);

  const Clock& clock_;
  const Duration kill_delay_;
  const std::int64_t job_quota_;
  Duration stop_lag_ = Duration::zero();  // guarded by mu_

  mutable std::mutex mu_;
  std::map<std::string, Project> projects_;  // guarded by mu_
};

}  // namespace mactl::sim
