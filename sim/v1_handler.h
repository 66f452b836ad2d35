#pragma once

// Routes and answers the four v1 training-job calls (docs/modelarts-api.md) over SimState.
// HTTP-free like sim/v2_handler.h, so that the server's front (credentials, faults, request
// log) stays one for both API versions: the server classifies the path with ClassifyV1,
// checks the credential, the project and faults, and sends what AnswerV1 returns.

#include <map>
#include <string>
#include <string_view>

#include "sim/fault_injector.h"
#include "sim/sim_state.h"

namespace mactl::sim {

struct V1Route {
  // kList, kListVersions, kGetVersion, kStop, or kOther for anything else under /v1.
  Operation operation = Operation::kOther;
  std::string project_id;
  std::string job_text;  // raw path segments; validated per operation
  std::string version_text;
};

// GET /v1/{p}/training-jobs, GET .../{job}/versions, GET .../{job}/versions/{version},
// POST .../{job}/versions/{version}/stop.
V1Route ClassifyV1(std::string_view method, std::string_view path);

struct V1Answer {
  int status = 0;
  std::string body;  // JSON
};

// The query parameters, several values a name as sent (httplib's Params).
using V1Query = std::multimap<std::string, std::string>;

// The answer to a classified request (operation not kOther) for a known project.
// complete_first: the job finishes just before a stop is judged (a fault).
V1Answer AnswerV1(SimState& state, const V1Route& route, const V1Query& query,
                  bool complete_first = false);

// {"is_success": false, "error_code": code, "error_message": message}
std::string V1ErrorBody(const std::string& code, const std::string& message);

}  // namespace mactl::sim
