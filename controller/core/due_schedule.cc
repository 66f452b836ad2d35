#include "controller/core/due_schedule.h"

#include <utility>

namespace mactl {

void DueSchedule::Set(const std::string& key, DueObservation due) {
  const auto [it, created] = project_of_.try_emplace(key, due.project_id);
  if (!created && it->second != due.project_id) {
    by_project_[it->second].erase(key);
    it->second = due.project_id;
  }
  by_project_[due.project_id][key] = Entry{due.due, due.not_before, due.allow_batch};
}

void DueSchedule::Erase(const std::string& key) {
  const auto it = project_of_.find(key);
  if (it == project_of_.end()) return;
  const auto project = by_project_.find(it->second);
  if (project != by_project_.end()) {
    project->second.erase(key);
    if (project->second.empty()) by_project_.erase(project);
  }
  project_of_.erase(it);
}

void DueSchedule::SetManagedCounts(std::map<std::string, std::size_t> counts) {
  managed_counts_ = std::move(counts);
}

std::size_t DueSchedule::CountDue(const DueQuery& query) const {
  std::size_t due = 1;  // the asking object
  std::size_t known = 0;
  bool asking_known = false;
  const SteadyTime horizon = SaturatingAdd(query.now, query.window);
  if (const auto project = by_project_.find(query.project_id); project != by_project_.end()) {
    known = project->second.size();
    for (const auto& [key, entry] : project->second) {
      if (key == query.key) {
        asking_known = true;
        continue;
      }
      // A refresh now answers an object only if it may batch and would take this list; it is
      // needed only if the cached list does not already answer it.
      const bool answered = entry.allow_batch && entry.not_before <= query.now &&
                            (!query.cached || entry.not_before > *query.cached);
      if (answered && entry.due <= horizon) ++due;
    }
  }
  const auto counted = managed_counts_.find(query.project_id);
  const std::size_t managed = counted == managed_counts_.end() ? 0 : counted->second;
  std::size_t unscheduled = managed > known ? managed - known : 0;
  if (!asking_known && unscheduled > 0) --unscheduled;  // the asking object is one of them
  return due + unscheduled;
}

}  // namespace mactl
