#include "controller/runtime/status_query.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "api/training_job.h"
#include "api/training_job_policy.h"
#include "api/training_job_version.h"
#include "controller/base/sanitize.h"
#include "controller/core/decision.h"
#include "controller/runtime/policy_status.h"

namespace mactl {
namespace {

constexpr std::string_view kTokenPrefix = "v1:";
// A name is a DNS-1123 label (63) in practice; the cap only keeps hostile input small.
constexpr std::size_t kMaxValueLength = 1024;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Error BadQuery(const std::string& message) {
  return MakeError(ErrorClass::kTerminal, "InvalidQuery", message);
}

std::string Shown(std::string_view value) { return "\"" + SanitizeForLog(value, 80) + "\""; }

// An object's phase, or a TrainingJobPolicy's (controller/runtime/policy_status.h).
Status CheckPhase(const std::string& value) {
  for (const Phase p : kAllPhases) {
    if (PhaseName(p) == value) return OkStatus();
  }
  for (const std::string_view p : policy_phase::kAll) {
    if (p == value) return OkStatus();
  }
  return BadQuery(
      "phase: want Pending, Stopping, Converged, Drifted, Error, Conflict or Paused, or for a "
      "policy Enforcing, DryRun or PolicyLimitExceeded, got " +
      Shown(value));
}

Result<std::size_t> ParseLimit(const std::string& value) {
  std::size_t limit = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
      limit > kMaxStatusLimit) {
    return BadQuery("limit: want a whole number from 1 to " + std::to_string(kMaxStatusLimit) +
                    ", got " + Shown(value));
  }
  return limit;
}

Status Apply(StatusQuery& q, const std::string& key, const std::string& value) {
  if (key == "phase") {
    if (Status ok = CheckPhase(value); !ok) return ok;
    q.phase = value;
  } else if (key == "kind") {
    if (value != kKind && value != kTrainingJobKind && value != kTrainingJobPolicyKind) {
      return BadQuery("kind: want TrainingJobVersion, TrainingJob or TrainingJobPolicy, got " +
                      Shown(value));
    }
    q.kind = value;
  } else if (key == "name") {
    if (value.empty()) return BadQuery("name: must not be empty");
    q.name = value;
  } else if (key == "limit") {
    Result<std::size_t> limit = ParseLimit(value);
    if (!limit) return limit.error();
    q.limit = *limit;
  } else if (key == "continue") {
    Result<std::string> after = DecodeContinueToken(value);
    if (!after) return after.error();
    q.after = *after;
  } else {
    return BadQuery("unknown parameter " + Shown(key) +
                    " (want phase, kind, name, limit or continue)");
  }
  return OkStatus();
}

}  // namespace

bool StatusQuery::MatchesKindAndName(std::string_view object_kind,
                                     std::string_view object_name) const {
  return (!kind || *kind == object_kind) && (!name || *name == object_name);
}

Result<StatusQuery> ParseStatusQuery(const QueryParams& params) {
  StatusQuery query;
  std::vector<std::string> seen;
  for (const auto& [key, value] : params) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return BadQuery("parameter " + Shown(key) + " given more than once");
    }
    seen.push_back(key);
    if (value.size() > kMaxValueLength) {
      return BadQuery(SanitizeForLog(key, 40) + ": longer than " + std::to_string(kMaxValueLength) +
                      " bytes");
    }
    if (Status ok = Apply(query, key, value); !ok) return ok.error();
  }
  return query;
}

std::string EncodeContinueToken(std::string_view last_name) {
  const std::string plain = std::string(kTokenPrefix) + std::string(last_name);
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char ch : plain) {
    const auto c = static_cast<unsigned char>(ch);
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 0x3f];
  return out;
}

Result<std::string> DecodeContinueToken(std::string_view token) {
  const Error bad = BadQuery(
      "continue: not a token this server issued (pass the \"continue\" "
      "value of the previous page unchanged)");
  std::string plain;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : token) {
    const auto index = kAlphabet.find(c);
    if (index == std::string_view::npos) return bad;
    bits = (bits << 6) | static_cast<std::uint32_t>(index);
    count += 6;
    if (count >= 8) {
      count -= 8;
      plain += static_cast<char>((bits >> count) & 0xff);
    }
  }
  // Leftover bits must be the zero padding EncodeContinueToken writes.
  if (count >= 6 || (bits & ((1u << count) - 1)) != 0) return bad;
  if (plain.size() <= kTokenPrefix.size() || plain.rfind(kTokenPrefix, 0) != 0) return bad;
  return plain.substr(kTokenPrefix.size());
}

}  // namespace mactl
