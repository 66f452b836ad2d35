#include "controller/core/due_schedule.h"

#include <utility>

namespace mactl {

void DueSchedule::Set(const std::string& key, DueObservation due) {
  const auto [it, created] = entries_.try_emplace(key);
  Entry& entry = it->second;
  if (created || *entry.project != due.project_id) {
    if (!created) Unlist(*it);
    const auto project = by_project_.try_emplace(std::string(due.project_id)).first;
    project->second.insert(&*it);
    entry.project = &project->first;
  }
  entry.due = due.due;
  entry.not_before = due.not_before;
  entry.allow_batch = due.allow_batch;
}

void DueSchedule::Unlist(const Node& node) {
  const auto project = by_project_.find(*node.second.project);
  if (project == by_project_.end()) return;
  project->second.erase(&node);
  if (project->second.empty()) by_project_.erase(project);
}

void DueSchedule::Erase(const std::string& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Unlist(*it);
  entries_.erase(it);
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
    for (const Node* node : project->second) {
      const auto& [key, entry] = *node;
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
