#pragma once

// The simulator's current-API (ModelArts v2) training jobs, written from the API reference
// (docs/modelarts-v2-api.md), not from the controller: projects → jobs by UUID, each with a
// name and a phase. A terminate is accepted only in Creating, Pending and Running; it puts the
// job in Terminating, and the job becomes Terminated once kill_delay has passed. Time comes
// from the injected Clock and transitions are computed lazily on every access, so tests move
// a FakeClock and never sleep. Thread-safe: one mutex guards everything.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"

namespace mactl::sim {

// The reference's phases (status.phase), and which accept a terminate.
bool IsDocumentedV2Phase(const std::string& phase);
bool IsTerminableV2Phase(const std::string& phase);  // Creating, Pending, Running
bool IsEndedV2Phase(const std::string& phase);       // Completed, Failed, Terminated, Abnormal

struct V2JobSeed {
  std::string id;    // a UUID
  std::string name;  // 1-64 letters, digits, '_' or '-'; unique in its workspace
  std::string phase = "Running";
  std::string secondary_phase;  // empty: the same as phase where the reference pairs them
  std::string description;
  std::string workspace_id = "0";
  // How long a started job has already run (status.duration, which keeps growing with the
  // sim's clock while it runs); nullopt: the default start lag and seeded run time.
  std::optional<std::int64_t> duration_ms = std::nullopt;
};

// A consistent copy of one job.
struct V2JobView {
  std::string project_id;
  std::string id;
  std::string name;
  std::string phase;
  std::string secondary_phase;
  std::string description;
  std::string workspace_id;
  std::int64_t create_time_ms = 0;  // wall ms since the epoch
  std::int64_t start_time_ms = 0;   // 0 while it has not started
  std::int64_t duration_ms = 0;     // running time so far, or until it ended
  // Test bookkeeping: every terminate request that reached this job.
  int terminate_calls = 0;
  int terminates_accepted = 0;
  std::vector<std::string> terminate_received_while;  // phase at each call
};

// One filter of a search, already checked by the request parser.
struct V2Filter {
  std::string key;  // "name", "phase", "create_time"
  std::string op;   // "like", "in", "not", "between"
  std::vector<std::string> values;
};

struct V2SearchQuery {
  int offset = 0;          // page index from 0
  int limit = 10;          // 1..50
  bool descending = true;  // by create_time
  std::vector<V2Filter> filters;
};

struct V2SearchResult {
  std::int64_t total = 0;  // every job of the project
  std::int64_t count = 0;  // jobs matching the filters, before paging
  std::vector<V2JobView> items;
};

enum class V2TerminateOutcome {
  kAccepted,    // the job was Creating, Pending or Running and is now Terminating
  kNotAllowed,  // any other phase: 409 ModelArts.2796
  kNotFound,    // no such job: 400 ModelArts.2775
};

struct V2TerminateResult {
  V2TerminateOutcome outcome = V2TerminateOutcome::kNotFound;
  std::optional<V2JobView> job;  // the job after the call (not when not found)
};

class V2JobStore {
 public:
  // clock must outlive the store.
  V2JobStore(const Clock& clock, Duration kill_delay);

  V2JobStore(const V2JobStore&) = delete;
  V2JobStore& operator=(const V2JobStore&) = delete;

  // Fails on a bad or duplicate id, a bad name or one already used in the same workspace (the
  // reference refuses a second job of one name with 400 ModelArts.2751; another workspace of
  // the project may hold the same name), an empty phase or project. A job seeded as
  // Terminating becomes Terminated kill_delay after this call.
  Status AddJob(const std::string& project_id, const V2JobSeed& seed);

  bool HasProject(const std::string& project_id) const;
  std::optional<V2JobView> Get(const std::string& project_id, const std::string& id);
  // Unknown project → an empty result.
  V2SearchResult Search(const std::string& project_id, const V2SearchQuery& query);
  // complete_first makes the job Completed just before the terminate is judged (it finished
  // between the caller's observation and its terminate).
  V2TerminateResult Terminate(const std::string& project_id, const std::string& id,
                              bool complete_first = false);

  // Forces a phase (and secondary phase; empty: the phase's own); the job must exist. A forced
  // Terminating ends after kill_delay unless sticky.
  bool ForcePhase(const std::string& project_id, const std::string& id, const std::string& phase,
                  const std::string& secondary_phase = "", bool sticky = false);

  // Every job of every project, ordered by project and creation.
  std::vector<V2JobView> All();

 private:
  struct Job {
    std::string id;
    std::string name;
    std::string phase;
    std::string secondary_phase;
    std::string description;
    std::string workspace_id;
    std::int64_t create_time_ms = 0;
    std::int64_t start_time_ms = 0;
    std::int64_t end_time_ms = 0;
    std::optional<SteadyTime> terminate_done_at;  // Terminating → Terminated at this time
    std::int64_t terminate_done_wall_ms = 0;
    int terminate_calls = 0;
    int terminates_accepted = 0;
    std::vector<std::string> terminate_received_while;
  };
  using Project = std::vector<Job>;  // in creation order

  std::int64_t WallMs() const;
  void Settle(Job& job) const;
  void SetPhase(Job& job, const std::string& phase, const std::string& secondary,
                bool sticky) const;
  V2JobView View(const std::string& project_id, const Job& job) const;
  Job* Find(const std::string& project_id, const std::string& id);

  const Clock& clock_;
  const Duration kill_delay_;
  std::int64_t next_create_ms_offset_ = 0;  // guarded by mu_: seeded jobs get distinct times

  mutable std::mutex mu_;
  std::map<std::string, Project> projects_;  // guarded by mu_
};

}  // namespace mactl::sim
