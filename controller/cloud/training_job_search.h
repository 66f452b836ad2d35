#pragma once

// Searching every page of a v2 job search. The reference documents `offset` as a page index
// (0, 1, 2, …) but an older version of it said record offset, and no source settles which the
// live service uses (docs/modelarts-v2-api.md, "Calls"); the loop checks which one it meets.

#include <cstddef>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/cloud/training_job_client.h"

namespace mactl {

// The JSON body of one search request: offset, limit, oldest first (new jobs land on the last
// page instead of shifting every page), and the filters that are set. Never an empty filter:
// the reference's example suggests an empty value means "no constraint".
std::string SearchRequestBody(const TrainingJobSearch& search, int offset);

// A search must end within this many pages; a service that keeps answering full pages is an
// error, not an endless loop (100 000 jobs at 50 a page).
inline constexpr int kMaxSearchPages = 2000;

struct SearchResult {
  std::vector<TrainingJobInfo> jobs;  // each job once, by id, in the order first seen
  int pages = 0;                      // calls made
  bool record_offsets = false;        // the service read offset as a record offset
};

// Asks for pages offset 0, 1, 2, … until a short or empty page; jobs seen twice are kept once.
// If the second page begins with the first page's second job, the service is counting records:
// the loop then steps offset by limit instead. Fails with the first failing page's error; with
// a retryable "Search.NoProgress" when a full page brings no new job (the service ignores
// offset); or with a retryable "Search.TooManyPages" after max_pages.
Result<SearchResult> SearchAllTrainingJobs(TrainingJobClient& client, const std::string& project_id,
                                           const TrainingJobSearch& search,
                                           int max_pages = kMaxSearchPages);

}  // namespace mactl
