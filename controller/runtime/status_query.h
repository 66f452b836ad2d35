#pragma once

// The query parameters of /status (README, "/status query parameters"): filters by phase, kind
// and exact name, and paging by name with `limit` and an opaque `continue` token. Parsed here,
// away from httplib, so every hostile value is a clear error and never a crash.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/result.h"

namespace mactl {

// The largest `limit` accepted; larger values are refused rather than clamped, so a caller
// learns at once that its number was not what it meant.
inline constexpr std::size_t kMaxStatusLimit = 100000;

struct StatusQuery {
  std::optional<std::string> phase;  // a PhaseName
  std::optional<std::string> kind;   // TrainingJobVersion | TrainingJob
  std::optional<std::string> name;   // exact
  std::optional<std::size_t> limit;  // 1..kMaxStatusLimit
  std::optional<std::string> after;  // the name the `continue` token carries

  // Paging lists by name; without it the document keeps manifest order (the full dump).
  bool Paged() const { return limit.has_value() || after.has_value(); }
  // Whether an object passes the kind and name filters; the phase needs its state.
  bool MatchesKindAndName(std::string_view object_kind, std::string_view object_name) const;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Unknown or repeated parameters, an unknown phase or kind, a limit that is not a whole number
// in 1..kMaxStatusLimit and a token that does not decode are errors naming the parameter.
Result<StatusQuery> ParseStatusQuery(const QueryParams& params);

// The `continue` token for a page that ended at `last_name`: opaque to callers (base64url), so
// its form may change without breaking them.
std::string EncodeContinueToken(std::string_view last_name);
Result<std::string> DecodeContinueToken(std::string_view token);

}  // namespace mactl
