#include "sim/fault_injector.h"

#include <limits>

namespace mactl::sim {
namespace {

Error BadRule(const std::string& why) {
  return MakeError(ErrorClass::kTerminal, "InvalidFault", "fault rule: " + why);
}

std::optional<Operation> ParseOperation(const std::string& s, bool& ok) {
  ok = true;
  if (s == "list") return Operation::kList;
  if (s == "get_version") return Operation::kGetVersion;
  if (s == "list_versions") return Operation::kListVersions;
  if (s == "stop") return Operation::kStop;
  if (s == "auth") return Operation::kAuth;
  if (s == "get_job") return Operation::kGetJob;
  if (s == "search_jobs") return Operation::kSearchJobs;
  if (s == "terminate") return Operation::kTerminate;
  if (s == "any") return std::nullopt;
  ok = false;
  return std::nullopt;
}

std::optional<FaultType> ParseType(const std::string& s) {
  if (s == "status") return FaultType::kStatus;
  if (s == "drop") return FaultType::kDrop;
  if (s == "latency") return FaultType::kLatency;
  if (s == "malformed") return FaultType::kMalformed;
  if (s == "complete_before_stop") return FaultType::kCompleteBeforeStop;
  return std::nullopt;
}

// Reads an integer field within [lo, hi].
Result<std::int64_t> IntField(const nlohmann::json& j, const char* name, std::int64_t lo,
                              std::int64_t hi) {
  const nlohmann::json& v = j.at(name);
  if (!v.is_number_integer()) return BadRule(std::string(name) + " must be an integer");
  const auto value = v.get<std::int64_t>();
  if (value < lo || value > hi) {
    return BadRule(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  }
  return value;
}

}  // namespace

const char* OperationName(Operation op) {
  switch (op) {
    case Operation::kList:
      return "list";
    case Operation::kGetVersion:
      return "get_version";
    case Operation::kListVersions:
      return "list_versions";
    case Operation::kStop:
      return "stop";
    case Operation::kAuth:
      return "auth";
    case Operation::kGetJob:
      return "get_job";
    case Operation::kSearchJobs:
      return "search_jobs";
    case Operation::kTerminate:
      return "terminate";
    case Operation::kOther:
      return "other";
  }
  return "other";
}

const char* FaultTypeName(FaultType t) {
  switch (t) {
    case FaultType::kStatus:
      return "status";
    case FaultType::kDrop:
      return "drop";
    case FaultType::kLatency:
      return "latency";
    case FaultType::kMalformed:
      return "malformed";
    case FaultType::kCompleteBeforeStop:
      return "complete_before_stop";
  }
  return "status";
}

Result<FaultRule> ParseFaultRule(const nlohmann::json& j) {
  if (!j.is_object()) return BadRule("a rule must be an object");
  static constexpr const char* kKnown[] = {
      "operation", "job_id",      "version_id", "training_job_id", "count", "probability",
      "type",      "http_status", "error_code", "retry_after",     "ms",    "process"};
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) return BadRule("unknown field \"" + key + "\"");
  }
  FaultRule rule;
  if (!j.contains("type") || !j.at("type").is_string()) {
    return BadRule("\"type\" is required (status, drop, latency, malformed, complete_before_stop)");
  }
  const auto type = ParseType(j.at("type").get<std::string>());
  if (!type) return BadRule("unknown type \"" + j.at("type").get<std::string>() + "\"");
  rule.type = *type;

  if (j.contains("operation")) {
    if (!j.at("operation").is_string()) return BadRule("operation must be a string");
    bool ok = false;
    rule.operation = ParseOperation(j.at("operation").get<std::string>(), ok);
    if (!ok) {
      return BadRule("unknown operation \"" + j.at("operation").get<std::string>() +
                     "\" (list, get_version, list_versions, stop, auth, get_job, search_jobs, "
                     "terminate, any)");
    }
  }
  constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();
  if (j.contains("job_id")) {
    auto v = IntField(j, "job_id", 1, kMaxId);
    if (!v) return v.error();
    rule.job_id = *v;
  }
  if (j.contains("version_id")) {
    auto v = IntField(j, "version_id", 1, kMaxId);
    if (!v) return v.error();
    rule.version_id = *v;
  }
  if (j.contains("training_job_id")) {
    if (!j.at("training_job_id").is_string()) return BadRule("training_job_id must be a string");
    rule.training_job_id = j.at("training_job_id").get<std::string>();
  }
  if (j.contains("count")) {
    auto v = IntField(j, "count", -1, kMaxId);
    if (!v) return v.error();
    rule.count = *v;
  }
  if (j.contains("probability")) {
    const nlohmann::json& p = j.at("probability");
    if (!p.is_number()) return BadRule("probability must be a number");
    const double value = p.get<double>();
    if (!(value >= 0.0 && value <= 1.0)) return BadRule("probability must be in [0, 1]");
    rule.probability = value;
  }
  if (j.contains("process")) {
    if (!j.at("process").is_boolean()) return BadRule("process must be true or false");
    rule.process = j.at("process").get<bool>();
  }
  switch (rule.type) {
    case FaultType::kStatus: {
      if (!j.contains("http_status")) return BadRule("type status needs \"http_status\"");
      auto v = IntField(j, "http_status", 100, 599);
      if (!v) return v.error();
      rule.http_status = static_cast<int>(*v);
      if (j.contains("error_code")) {
        if (!j.at("error_code").is_string()) return BadRule("error_code must be a string");
        rule.error_code = j.at("error_code").get<std::string>();
      }
      if (j.contains("retry_after")) {
        auto r = IntField(j, "retry_after", 0, 86400);
        if (!r) return r.error();
        rule.retry_after_s = static_cast<int>(*r);
      }
      break;
    }
    case FaultType::kLatency: {
      if (!j.contains("ms")) return BadRule("type latency needs \"ms\"");
      auto v = IntField(j, "ms", 0, 600000);
      if (!v) return v.error();
      rule.latency_ms = *v;
      break;
    }
    case FaultType::kCompleteBeforeStop:
      // A v1 stop, or a v2 terminate when the rule says so.
      if (rule.operation && *rule.operation != Operation::kStop &&
          *rule.operation != Operation::kTerminate) {
        return BadRule("complete_before_stop applies to operation stop or terminate only");
      }
      if (!rule.operation) rule.operation = Operation::kStop;
      break;
    case FaultType::kDrop:
    case FaultType::kMalformed:
      break;
  }
  if (rule.type != FaultType::kStatus &&
      (j.contains("http_status") || j.contains("error_code") || j.contains("retry_after"))) {
    return BadRule("http_status, error_code and retry_after apply to type status only");
  }
  if (rule.type != FaultType::kLatency && j.contains("ms")) {
    return BadRule("ms applies to type latency only");
  }
  return rule;
}

Result<std::vector<FaultRule>> ParseFaultRules(const nlohmann::json& j) {
  if (j.is_object() && j.contains("rules")) {
    if (j.size() != 1) return BadRule("only \"rules\" may appear beside rules");
    const nlohmann::json& rules = j.at("rules");
    if (!rules.is_array()) return BadRule("\"rules\" must be an array");
    std::vector<FaultRule> out;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      auto rule = ParseFaultRule(rules[i]);
      if (!rule) {
        Error e = rule.error();
        e.message = "rules[" + std::to_string(i) + "]: " + e.message;
        return e;
      }
      out.push_back(*rule);
    }
    return out;
  }
  auto rule = ParseFaultRule(j);
  if (!rule) return rule.error();
  return std::vector<FaultRule>{*rule};
}

nlohmann::json FaultRuleToJson(const FaultRule& rule) {
  nlohmann::json j;
  j["operation"] = rule.operation ? OperationName(*rule.operation) : "any";
  if (rule.job_id) j["job_id"] = *rule.job_id;
  if (rule.version_id) j["version_id"] = *rule.version_id;
  if (rule.training_job_id) j["training_job_id"] = *rule.training_job_id;
  j["count"] = rule.count;
  if (rule.probability) j["probability"] = *rule.probability;
  j["type"] = FaultTypeName(rule.type);
  if (rule.type == FaultType::kStatus) {
    j["http_status"] = rule.http_status;
    if (!rule.error_code.empty()) j["error_code"] = rule.error_code;
    if (rule.retry_after_s) j["retry_after"] = *rule.retry_after_s;
  }
  if (rule.type == FaultType::kLatency) j["ms"] = rule.latency_ms;
  if (rule.process) j["process"] = true;
  return j;
}

void FaultInjector::Add(std::vector<FaultRule> rules) {
  std::lock_guard lock(mu_);
  for (FaultRule& r : rules) rules_.push_back(std::move(r));
}

void FaultInjector::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

std::vector<FaultRule> FaultInjector::Rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

std::optional<FaultRule> FaultInjector::Match(const FaultTarget& target) {
  std::lock_guard lock(mu_);
  for (FaultRule& rule : rules_) {
    if (rule.count == 0) continue;
    if (rule.operation && *rule.operation != target.operation) continue;
    if (rule.job_id && rule.job_id != target.job_id) continue;
    if (rule.version_id && rule.version_id != target.version_id) continue;
    if (rule.training_job_id && rule.training_job_id != target.training_job_id) continue;
    if (rule.probability && !(random_.Uniform01() < *rule.probability)) continue;
    if (rule.count > 0) --rule.count;
    return rule;
  }
  return std::nullopt;
}

}  // namespace mactl::sim
