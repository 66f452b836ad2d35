#include "sim/v1_handler.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "api/result.h"
#include "nlohmann/json.hpp"
#include "sim/job_statuses.h"
#include "sim/path_segments.h"
#include "sim/whole_number.h"

namespace mactl::sim {
namespace {

using nlohmann::json;

V1Answer SendJson(int status, const json& body) { return {status, body.dump()}; }

V1Answer SendError(int status, const std::string& code, const std::string& message) {
  return {status, V1ErrorBody(code, message)};
}

// The first value sent for a query parameter (httplib's get_param_value), or nullopt.
std::optional<std::string> Param(const V1Query& query, const std::string& name) {
  const auto it = query.lower_bound(name);
  if (it == query.end() || it->first != name) return std::nullopt;
  return it->second;
}

// Reads an integer query parameter within [lo, hi]; the error text names the parameter.
Result<int> IntParam(const V1Query& query, const char* name, int fallback, int lo, int hi) {
  const std::optional<std::string> text = Param(query, name);
  if (!text) return fallback;
  const auto v = ParseInt(*text);
  if (!v || *v < lo || *v > hi) {
    return MakeError(ErrorClass::kTerminal, "ModelArts.2764",
                     std::string("invalid query parameter ") + name + ": must be an integer in [" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]",
                     400);
  }
  return static_cast<int>(*v);
}

std::optional<SortKey> ParseSortKey(std::string_view s) {
  if (s == "job_name") return SortKey::kJobName;
  if (s == "job_desc") return SortKey::kJobDesc;
  if (s == "status") return SortKey::kStatus;
  if (s == "duration") return SortKey::kDuration;
  if (s == "version_count") return SortKey::kVersionCount;
  if (s == "create_time") return SortKey::kCreateTime;
  return std::nullopt;
}

Result<ListQuery> ParseListQuery(const V1Query& query) {
  ListQuery q;
  auto per_page = IntParam(query, "per_page", 10, 1, 1000);
  if (!per_page) return per_page.error();
  q.per_page = *per_page;
  auto page = IntParam(query, "page", 1, 1, 65535);
  if (!page) return page.error();
  q.page = *page;
  if (query.count("status") != 0) {
    auto status = IntParam(query, "status", 0, 0, kMaxStatusCode);
    if (!status) return status.error();
    q.status = *status;
  }
  // The documented wire name is sortBy (AK/SK) or sort_by (token auth); accept both.
  const char* sort_name = query.count("sortBy") != 0 ? "sortBy" : "sort_by";
  if (const std::optional<std::string> sort = Param(query, sort_name)) {
    const std::string& value = *sort;
    const auto key = ParseSortKey(value);
    if (!key) {
      return MakeError(ErrorClass::kTerminal, "ModelArts.2790",
                       "unsupported sort item \"" + value +
                           "\" (job_name, job_desc, status, duration, version_count, create_time)",
                       400);
    }
    q.sort_by = *key;
  }
  if (const std::optional<std::string> order_param = Param(query, "order")) {
    const std::string& order = *order_param;
    if (order != "asc" && order != "desc") {
      return MakeError(ErrorClass::kTerminal, "ModelArts.2764",
                       "invalid query parameter order: must be asc or desc", 400);
    }
    q.descending = order == "desc";
  }
  if (const std::optional<std::string> search = Param(query, "search_content")) {
    q.search_content = *search;
    if (q.search_content.size() > 64) {
      return MakeError(ErrorClass::kTerminal, "ModelArts.2764",
                       "invalid query parameter search_content: at most 64 characters", 400);
    }
  }
  if (const std::optional<std::string> workspace = Param(query, "workspace_id")) {
    q.workspace_id = *workspace;
  }
  return q;
}

struct Engine {
  int type;
  const char* name;
  int id;
  const char* version;
};

// Deterministic, plausible per-job details for the fields the controller never reads.
json VersionJson(const VersionView& v) {
  static constexpr std::array<Engine, 3> kEngines = {{
      {1, "TensorFlow", 3, "TF-2.1.0-python3.6"},
      {4, "PyTorch", 42, "PyTorch-1.8.0-python3.7"},
      {2, "MXNet", 2, "MXNet-1.2.1-python3.6"},
  }};
  const Engine& e = kEngines[static_cast<std::size_t>(v.job_id % 3)];
  const std::string base = "/modelarts-sim/" + v.job_name + "/" + v.version_name;
  return {
      {"job_id", v.job_id},
      {"job_name", v.job_name},
      {"job_desc", v.job_desc},
      {"version_id", v.version_id},
      {"version_name", v.version_name},
      {"pre_version_id", v.pre_version_id},
      {"engine_type", e.type},
      {"engine_name", e.name},
      {"engine_id", e.id},
      {"engine_version", e.version},
      {"status", v.status},
      {"app_url", "/modelarts-sim/" + v.job_name + "/code/"},
      {"boot_file_url", "/modelarts-sim/" + v.job_name + "/code/train.py"},
      {"create_time", v.create_time_ms},
      {"start_time", v.start_time_ms},
      {"duration", v.duration_ms},
      {"parameter", json::array({{{"label", "learning_rate"}, {"value", "0.001"}},
                                 {{"label", "batch_size"}, {"value", "32"}}})},
      {"spec_id", 1},
      {"spec_code", "modelarts.vm.gpu.v100"},
      {"core", "8"},
      {"cpu", "64"},
      {"gpu_num", 1},
      {"gpu_type", "nvidia-v100"},
      {"worker_server_num", 1},
      {"data_url", "/modelarts-sim/datasets/" + v.job_name + "/"},
      {"train_url", base + "/output/"},
      {"log_url", base + "/log/"},
      {"dataset_version_id", ""},
      {"dataset_id", ""},
      {"dataset_name", ""},
      {"dataset_version_name", ""},
      {"data_source", json::array()},
      {"model_id", 0},
      {"model_metric_list", "{}"},  // documented as a JSON string, not an object
      {"system_metric_list",
       {{"cpuUsage", json::array()}, {"memUsage", json::array()}, {"gpuUtil", json::array()}}},
      {"user_image_url", ""},
      {"user_command", ""},
      {"resource_id", "sim-resource-" + std::to_string(v.job_id)},
      {"volumes", json::array()},
      {"pool_name", ""},
      {"pool_id", ""},
      {"nas_mount_path", ""},
      {"nas_share_addr", ""},
      {"nas_type", "efs"},
  };
}

json StatusOnly(bool ok) { return {{"is_success", ok}}; }

V1Answer AnswerList(SimState& state, const V1Route& route, const V1Query& query) {
  auto list_query = ParseListQuery(query);
  if (!list_query) return SendError(400, list_query.error().code, list_query.error().message);
  const JobListResult list = state.ListJobs(route.project_id, *list_query);
  json jobs = json::array();
  for (const JobView& j : list.jobs) {
    jobs.push_back({{"job_id", j.job_id},
                    {"job_name", j.job_name},
                    {"version_id", j.latest.version_id},
                    {"status", j.latest.status},
                    {"create_time", j.create_time_ms},
                    {"duration", j.latest.duration_ms},
                    {"job_desc", j.job_desc},
                    {"version_count", j.version_count}});
  }
  return SendJson(
      200, {{"is_success", true},
            {"job_total_count", list.total},
            {"job_count_limit", std::max<std::int64_t>(0, state.job_quota() - list.project_jobs)},
            {"quotas", state.job_quota()},
            {"jobs", jobs}});
}

V1Answer AnswerListVersions(SimState& state, const V1Route& route, const V1Query& query,
                            std::int64_t job_id) {
  auto per_page = IntParam(query, "per_page", 10, 1, 1000);
  if (!per_page) return SendError(400, per_page.error().code, per_page.error().message);
  auto page = IntParam(query, "page", 0, 0, 65535);
  if (!page) return SendError(400, page.error().code, page.error().message);
  const auto list = state.ListVersions(route.project_id, job_id, *per_page, *page);
  if (!list) return SendError(400, "ModelArts.2775", "training job not found");
  json versions = json::array();
  for (const VersionView& v : list->versions) versions.push_back(VersionJson(v));
  return SendJson(200, {{"is_success", true},
                        {"job_id", list->job_id},
                        {"job_name", list->job_name},
                        {"job_desc", list->job_desc},
                        {"version_count", list->version_count},
                        {"versions", versions}});
}

}  // namespace

V1Route ClassifyV1(std::string_view method, std::string_view path) {
  V1Route r;
  const std::vector<std::string_view> p = SplitPath(path);
  if (p.size() < 3 || p[0] != "v1" || p[1].empty() || p[2] != "training-jobs") return r;
  r.project_id = std::string(p[1]);
  const bool get = method == "GET";
  if (p.size() == 3) {
    if (get) r.operation = Operation::kList;
    return r;
  }
  if (p.size() < 5 || p[4] != "versions" || p[3].empty()) return r;
  r.job_text = std::string(p[3]);
  if (p.size() == 5) {
    if (get) r.operation = Operation::kListVersions;
    return r;
  }
  if (p[5].empty()) return r;
  r.version_text = std::string(p[5]);
  if (p.size() == 6 && get) r.operation = Operation::kGetVersion;
  if (p.size() == 7 && p[6] == "stop" && method == "POST") r.operation = Operation::kStop;
  return r;
}

V1Answer AnswerV1(SimState& state, const V1Route& route, const V1Query& query,
                  bool complete_first) {
  if (route.operation == Operation::kList) return AnswerList(state, route, query);
  const std::optional<std::int64_t> job_id = ParseId(route.job_text);
  if (!job_id) return SendError(400, "ModelArts.0104", "job_id must be a positive integer");
  if (route.operation == Operation::kListVersions) {
    return AnswerListVersions(state, route, query, *job_id);
  }
  const std::optional<std::int64_t> version_id = ParseId(route.version_text);
  if (!version_id) {
    return SendError(400, "ModelArts.0104", "version_id must be a positive integer");
  }
  if (route.operation == Operation::kGetVersion) {
    const auto v = state.GetVersion(route.project_id, *job_id, *version_id);
    if (!v) return SendError(400, "ModelArts.2775", "training job not found");
    json body = VersionJson(*v);
    body["is_success"] = true;
    return SendJson(200, body);
  }
  switch (state.Stop(route.project_id, *job_id, *version_id, complete_first)) {
    case StopOutcome::kAccepted:
      return SendJson(200, StatusOnly(true));
    case StopOutcome::kNotAllowed:
      return SendError(409, "ModelArts.2796", "the job cannot be terminated in its current status");
    case StopOutcome::kNotFound:
      break;
  }
  return SendError(400, "ModelArts.2775", "training job not found");
}

std::string V1ErrorBody(const std::string& code, const std::string& message) {
  return json{{"is_success", false}, {"error_code", code}, {"error_message", message}}.dump();
}

}  // namespace mactl::sim
