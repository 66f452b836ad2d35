#include "controller/cloud/training_job_search.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

namespace mactl {

std::string SearchRequestBody(const TrainingJobSearch& search, int offset) {
  nlohmann::json filters = nlohmann::json::array();
  if (!search.phases.empty()) {
    filters.push_back({{"key", "phase"}, {"operator", "in"}, {"value", search.phases}});
  }
  if (!search.name_like.empty()) {
    filters.push_back({{"key", "name"},
                       {"operator", "like"},
                       {"value", nlohmann::json::array({search.name_like})}});
  }
  nlohmann::json body = {{"offset", offset},
                         {"limit", std::clamp(search.limit, 1, kMaxSearchLimit)},
                         {"sort_by", "create_time"},
                         {"order", "asc"}};
  if (!filters.empty()) body["filters"] = std::move(filters);
  return body.dump();
}

Result<SearchResult> SearchAllTrainingJobs(TrainingJobClient& client, const std::string& project_id,
                                           const TrainingJobSearch& search, int max_pages) {
  const int limit = std::clamp(search.limit, 1, kMaxSearchLimit);
  SearchResult result;
  std::unordered_set<std::string> seen;
  std::vector<TrainingJobInfo> first_page;
  int offset = 0;
  int step = 1;
  while (true) {
    if (result.pages >= max_pages) {
      return MakeError(ErrorClass::kRetryable, "Search.TooManyPages",
                       "the job search did not end after " + std::to_string(max_pages) +
                           " pages of " + std::to_string(limit));
    }
    Result<TrainingJobSearchPage> page = client.SearchTrainingJobs(project_id, search, offset);
    ++result.pages;
    if (!page.ok()) return page.error();
    const std::vector<TrainingJobInfo>& items = page->items;
    if (offset == 0) first_page = items;
    // Offset 1 overlapping page 0 by all but one job: offsets count records, not pages.
    if (offset == 1 && step == 1 && first_page.size() >= 2 && !items.empty() &&
        items.front().id == first_page[1].id) {
      result.record_offsets = true;
      step = limit;
      offset = limit;
      continue;
    }
    std::size_t fresh = 0;
    for (const TrainingJobInfo& job : items) {
      if (seen.insert(job.id).second) {
        result.jobs.push_back(job);
        ++fresh;
      }
    }
    if (items.size() < static_cast<std::size_t>(limit)) break;
    if (fresh == 0) {
      // A full page of jobs already seen: the service ignores offset, and would never end.
      return MakeError(ErrorClass::kRetryable, "Search.NoProgress",
                       "the job search answered offset " + std::to_string(offset) +
                           " with a full page of jobs already seen");
    }
    offset += step;
  }
  return result;
}

}  // namespace mactl
