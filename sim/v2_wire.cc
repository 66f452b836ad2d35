#include "sim/v2_wire.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <set>
#include <tuple>

#include "api/training_job.h"
#include "controller/base/random.h"

namespace mactl::sim {
namespace {

using nlohmann::json;

Error BadRequest(std::string code, std::string message) {
  return MakeError(ErrorClass::kTerminal, std::move(code), std::move(message), 400);
}

// A milliseconds bound of a create_time filter: digits (an optional '-'), or "" for open.
bool IsMsBound(const std::string& v) {
  if (v.empty()) return true;
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size();
}

Result<V2Filter> ParseFilter(const json& f, std::size_t i) {
  const std::string where = "filters[" + std::to_string(i) + "]";
  if (!f.is_object() || !f.contains("key") || !f.contains("operator") || !f.contains("value") ||
      !f.at("key").is_string() || !f.at("operator").is_string() || !f.at("value").is_array()) {
    return BadRequest("ModelArts.2789", where + " must be {key, operator, value[]}");
  }
  V2Filter out{f.at("key").get<std::string>(), f.at("operator").get<std::string>(), {}};
  for (const json& v : f.at("value")) {
    if (!v.is_string()) return BadRequest("ModelArts.2809", where + ".value must hold strings");
    out.values.push_back(v.get<std::string>());
  }
  static const std::set<std::pair<std::string, std::string>> kSupported = {
      {"name", "like"}, {"name", "in"},   {"name", "not"},
      {"phase", "in"},  {"phase", "not"}, {"create_time", "between"}};
  if (out.key != "name" && out.key != "phase" && out.key != "create_time") {
    return BadRequest("ModelArts.2807", "unsupported filter key " + out.key);
  }
  if (kSupported.count({out.key, out.op}) == 0) {
    return BadRequest("ModelArts.2808", "unsupported operator " + out.op + " for " + out.key);
  }
  if (out.key == "create_time" &&
      (out.values.size() != 2 || !IsMsBound(out.values[0]) || !IsMsBound(out.values[1]))) {
    return BadRequest("ModelArts.2809", where + ".value must be two millisecond bounds");
  }
  return out;
}

Result<int> IntField(const json& root, const char* name, int fallback, int lo, int hi) {
  if (!root.contains(name) || root.at(name).is_null()) return fallback;
  const json& v = root.at(name);
  if (!v.is_number_integer()) {
    return BadRequest("ModelArts.2788", std::string(name) + " must be an integer");
  }
  const auto value = v.get<std::int64_t>();
  if (value < lo || value > hi) {
    return BadRequest("ModelArts.2816", std::string(name) + " must be in [" + std::to_string(lo) +
                                            ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(value);
}

Result<std::string> SeedString(const json& j, const std::string& where, const char* name,
                               std::string fallback) {
  if (!j.contains(name)) return fallback;
  if (!j.at(name).is_string()) {
    return MakeError(ErrorClass::kTerminal, "InvalidSeed",
                     "seed: " + where + "." + name + ": must be a string");
  }
  return j.at(name).get<std::string>();
}

}  // namespace

json V2JobJson(const V2JobView& job) {
  return {
      {"kind", "job"},
      {"metadata",
       {{"id", job.id},
        {"name", job.name},
        {"description", job.description},
        {"create_time", job.create_time_ms},
        {"workspace_id", job.workspace_id},
        {"user_name", "sim"},
        {"annotations", json::object()}}},
      {"status",
       {{"phase", job.phase},
        {"secondary_phase", job.secondary_phase},
        {"duration", job.duration_ms},
        {"start_time", job.start_time_ms},
        {"tasks", {"worker-0"}},
        {"node_count_metrics", nullptr}}},
      {"spec", {{"resource", {{"flavor_id", "modelarts.vm.cpu.8u"}, {"node_count", 1}}}}},
  };
}

std::string V2SearchPageBody(const V2SearchResult& result, const V2SearchQuery& query) {
  json items = json::array();
  for (const V2JobView& job : result.items) items.push_back(V2JobJson(job));
  const json body = {{"total", result.total},
                     {"count", result.count},
                     {"limit", query.limit},
                     {"offset", query.offset},
                     {"sort_by", "create_time"},
                     {"order", query.descending ? "desc" : "asc"},
                     {"group_by", ""},
                     {"workspace_id", "0"},
                     {"ai_project", "default-ai-project"},
                     {"items", std::move(items)}};
  return body.dump();
}

std::string V2ErrorBody(std::string_view code, std::string_view message,
                        std::string_view solution) {
  return json{{"error_code", code}, {"error_msg", message}, {"error_solution", solution}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

Result<V2SearchQuery> ParseV2SearchBody(std::string_view body) {
  const json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return BadRequest("ModelArts.2787", "the request body is not a JSON object");
  }
  V2SearchQuery query;
  Result<int> offset = IntField(root, "offset", 0, 0, std::numeric_limits<int>::max());
  if (!offset) return offset.error();
  query.offset = *offset;
  Result<int> limit = IntField(root, "limit", 10, 1, 50);
  if (!limit) return limit.error();
  query.limit = *limit;
  if (root.contains("sort_by") && root.at("sort_by") != "create_time") {
    return BadRequest("ModelArts.2790", "unsupported sort_by");
  }
  if (root.contains("order")) {
    if (root.at("order") != "asc" && root.at("order") != "desc") {
      return BadRequest("ModelArts.2790", "order must be asc or desc");
    }
    query.descending = root.at("order") == "desc";
  }
  if (root.contains("filters")) {
    const json& filters = root.at("filters");
    if (!filters.is_array()) return BadRequest("ModelArts.2789", "filters must be an array");
    for (std::size_t i = 0; i < filters.size(); ++i) {
      Result<V2Filter> f = ParseFilter(filters[i], i);
      if (!f) return f.error();
      query.filters.push_back(std::move(f).value());
    }
  }
  return query;
}

Status ParseV2ActionBody(std::string_view body) {
  const json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return BadRequest("ModelArts.2787", "the request body is not a JSON object");
  }
  if (!root.contains("action_type") || root.at("action_type") != "terminate") {
    return BadRequest("ModelArts.2812", "unsupported action_type");
  }
  return OkStatus();
}

Result<std::vector<V2JobSeed>> ParseV2JobSeeds(const json& jobs, const std::string& where) {
  const auto invalid = [](const std::string& at, const std::string& why) {
    return MakeError(ErrorClass::kTerminal, "InvalidSeed", "seed: " + at + ": " + why);
  };
  if (!jobs.is_array()) return invalid(where, "must be an array");
  std::vector<V2JobSeed> out;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json& j = jobs[i];
    if (!j.is_object()) return invalid(at, "must be an object");
    for (const auto& [key, value] : j.items()) {
      static const std::set<std::string> kKnown = {
          "id", "name", "phase", "secondary_phase", "description", "workspace_id", "duration_ms"};
      if (kKnown.count(key) == 0) return invalid(at, "unknown field \"" + key + "\"");
    }
    V2JobSeed seed;
    for (auto [name, field, fallback] :
         std::initializer_list<std::tuple<const char*, std::string*, const char*>>{
             {"id", &seed.id, ""},
             {"name", &seed.name, ""},
             {"phase", &seed.phase, "Running"},
             {"secondary_phase", &seed.secondary_phase, ""},
             {"description", &seed.description, ""},
             {"workspace_id", &seed.workspace_id, "0"}}) {
      Result<std::string> v = SeedString(j, at, name, fallback);
      if (!v) return v.error();
      *field = *v;
    }
    if (!IsValidTrainingJobId(seed.id)) return invalid(at + ".id", "must be a UUID");
    if (!IsValidTrainingJobName(seed.name)) {
      return invalid(at + ".name", "must be 1-64 letters, digits, '_' or '-'");
    }
    if (seed.phase.empty()) return invalid(at + ".phase", "must not be empty");
    if (j.contains("duration_ms")) {
      const json& run = j.at("duration_ms");
      // At most a year, so every time the sim derives from it stays in range.
      constexpr std::int64_t kMaxMs = std::int64_t{366} * 24 * 3600 * 1000;
      if (!run.is_number_integer() || run.get<std::int64_t>() < 0 ||
          run.get<std::int64_t>() > kMaxMs) {
        return invalid(at + ".duration_ms",
                       "must be an integer in [0, " + std::to_string(kMaxMs) + "]");
      }
      seed.duration_ms = run.get<std::int64_t>();
    }
    out.push_back(std::move(seed));
  }
  return out;
}

std::vector<V2JobSeed> GenerateV2Jobs(int n, std::uint64_t random_seed) {
  SeededRandom random(random_seed);
  struct Weighted {
    double upto;
    const char* phase;
  };
  static constexpr Weighted kPhases[] = {
      {0.60, "Running"}, {0.66, "Pending"},    {0.70, "Creating"},   {0.80, "Completed"},
      {0.88, "Failed"},  {0.96, "Terminated"}, {1.01, "Terminating"}};
  std::vector<V2JobSeed> jobs;
  for (int i = 0; i < n; ++i) {
    V2JobSeed job;
    char id[40];
    const auto high = static_cast<unsigned>(random.Uniform01() * 4294967295.0);
    std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012d", high, i + 1);
    job.id = id;
    char name[32];
    std::snprintf(name, sizeof(name), "gen2-%04d", i + 1);
    job.name = name;
    const double draw = random.Uniform01();
    for (const Weighted& w : kPhases) {
      if (draw < w.upto) {
        job.phase = w.phase;
        break;
      }
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace mactl::sim
