#pragma once

// The simulator's v2 answers and requests in the documented JSON shapes
// (docs/modelarts-v2-api.md): the job object (ids as strings, times in milliseconds), the
// search page, the error body; the search and action request bodies with the reference's
// 400 codes; v2 jobs in the seed file.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"
#include "sim/v2_jobs.h"

namespace mactl::sim {

// The job object of the detail answer, of each search item and of the 202 terminate answer.
nlohmann::json V2JobJson(const V2JobView& job);

// The search answer: total, count, the echoed paging and order, workspace_id, ai_project,
// items.
std::string V2SearchPageBody(const V2SearchResult& result, const V2SearchQuery& query);

// {"error_code": ..., "error_msg": ..., "error_solution": ...}
std::string V2ErrorBody(std::string_view code, std::string_view message,
                        std::string_view solution = "");

// A search body, checked as the reference documents it. Errors carry http_status 400 and the
// reference's code: ModelArts.2787 not JSON or not an object, 2788 a field of the wrong type,
// 2816 offset/limit out of range
// (offset >= 0, limit 1-50), 2790 an unsupported sort_by or order, 2789 a filter that is not
// {key, operator, value[]}, 2807 an unsupported key, 2808 an unsupported operator for it, 2809
// a bad value. Keys and operators: name (like, in, not), phase (in, not), create_time (between,
// two values in ms, "" for an open end). A missing limit is 10 (the reference names no
// default).
Result<V2SearchQuery> ParseV2SearchBody(std::string_view body);

// The action body: {"action_type": "terminate"}. 400 ModelArts.2787 for a body that is not a
// JSON object, 2812 for any other or missing action_type.
Status ParseV2ActionBody(std::string_view body);

// The "training_jobs" array of one seed project: [{"id", "name", "phase", "secondary_phase",
// "description", "workspace_id"}]; id and name are required, phase defaults to Running;
// unknown fields are errors. where names the array in errors ("projects[0].training_jobs").
Result<std::vector<V2JobSeed>> ParseV2JobSeeds(const nlohmann::json& jobs,
                                               const std::string& where);

// n jobs named "gen2-0001"... with distinct UUIDs, mostly Running with some Pending,
// Creating, Completed, Failed, Terminated and Terminating. Deterministic for a given seed.
std::vector<V2JobSeed> GenerateV2Jobs(int n, std::uint64_t random_seed);

}  // namespace mactl::sim
