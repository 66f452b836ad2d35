#pragma once

// When each managed object comes due for observation, per project, so that a list refresh is
// taken only when enough objects of a project are due together (controller/core/batch_rule.h)
// rather than whenever the project manages many. The reconcilers record each object's next
// observation as they schedule it; the observers count. Not thread-safe: the owner guards it.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "controller/base/clock.h"

namespace mactl {

struct DueObservation {
  std::string project_id;
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
  // What CountDue reads of a DueObservation: the project is the map's key, not repeated in
  // each of its (up to 100k) entries (docs/benchmarks.md, "Where the memory goes").
  struct Entry {
    SteadyTime due;
    SteadyTime not_before;
    bool allow_batch = true;
  };
  std::map<std::string, std::size_t> managed_counts_;        // by project
  std::unordered_map<std::string, std::string> project_of_;  // by key
  std::unordered_map<std::string, std::unordered_map<std::string, Entry>> by_project_;
};

}  // namespace mactl
