#pragma once

// Routes and answers the three v2 training-job calls (docs/modelarts-v2-api.md) over a
// V2JobStore. HTTP-free so that the server's front (credentials, faults, request log) stays
// one for both API versions: the server classifies the path with ClassifyV2, checks the
// credential and faults as for v1, and sends what AnswerV2 returns.

#include <string>
#include <string_view>

#include "sim/v2_jobs.h"

namespace mactl::sim {

enum class V2Operation { kNone, kGetJob, kSearchJobs, kTerminate };
std::string_view V2OperationName(V2Operation op);  // "get_job", "search_jobs", "terminate"

struct V2Route {
  V2Operation operation = V2Operation::kNone;
  std::string project_id;
  std::string job_id;  // the raw path segment (get_job, terminate)
};

// GET /v2/{p}/training-jobs/{id}, POST /v2/{p}/training-job-searches,
// POST /v2/{p}/training-jobs/{id}/actions; anything else under /v2 is kNone.
V2Route ClassifyV2(std::string_view method, std::string_view path);

struct V2Answer {
  int status = 0;
  std::string body;  // JSON
};

// The answer to a classified request (operation not kNone) for a known project.
// complete_first: the job finishes just before a terminate is judged (a fault).
V2Answer AnswerV2(V2JobStore& store, const V2Route& route, std::string_view body,
                  bool complete_first = false);

}  // namespace mactl::sim
