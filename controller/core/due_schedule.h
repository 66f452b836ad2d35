#pragma once

// When each managed object comes due for observation, per project, so that a list refresh is
// taken only when enough objects of a project are due together (controller/core/batch_rule.h)
// rather than whenever the project manages many. The reconcilers record each object's next
// observation as they schedule it; the observers count. Not thread-safe: the owner guards it.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "controller/base/clock.h"

namespace mactl {

struct DueObservation {
  // Read during DueSchedule::Set only (copied when the object is first scheduled), so that a
  // reschedule builds no string (docs/benchmarks.md, "Idle CPU at 100k: batched resyncs").
  std::string_view project_id;
  SteadyTime due;           // when the work queue hands the object out next
  SteadyTime not_before;    // its observation must be taken at or after this
  bool allow_batch = true;  // whether a list may answer it at all
};

struct DueQuery {
  std::string project_id;
  std::string key;  // the object asking: due now, counted once whatever the schedule says
  SteadyTime now;
  // Objects due by now + window are due together with the asking one: its own freshness
  // window (--resync for a resync, --poll/2 for a poll, none for an edit or a retry).
  Duration window{0};
  std::optional<SteadyTime> cached;  // when the project's current list was taken, if any
};

class DueSchedule {
 public:
  void Set(const std::string& key, DueObservation due);
  void Erase(const std::string& key);
  // How many objects each project manages: those never scheduled are due now (their first
  // observation, or every object of a `plan`).
  void SetManagedCounts(std::map<std::string, std::size_t> counts);
  // The objects a refresh taken at query.now would answer that the cached list does not, due
  // by now + window, the asking object included. Linear in the project's scheduled objects;
  // asked only when the cached list cannot answer.
  std::size_t CountDue(const DueQuery& query) const;

 private:
  // What CountDue reads of a DueObservation. Each key is held once, as the key of entries_;
  // the project's set points at those nodes (stable in an unordered_map) and each entry at
  // its project's key, so neither a key nor a project id is repeated per object
  // (docs/benchmarks.md, "Where the memory goes").
  struct Entry {
    const std::string* project = nullptr;  // a key of by_project_
    SteadyTime due;
    SteadyTime not_before;
    bool allow_batch = true;
  };
  using Node = std::pair<const std::string, Entry>;
  void Unlist(const Node& node);

  std::map<std::string, std::size_t> managed_counts_;  // by project
  std::unordered_map<std::string, Entry> entries_;     // by key
  std::unordered_map<std::string, std::unordered_set<const Node*>> by_project_;
};

}  // namespace mactl
