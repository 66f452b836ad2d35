#include "controller/cloud/api_errors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

#include "controller/base/sanitize.h"

namespace mactl {
namespace {

bool IsOneOf(std::string_view code, std::initializer_list<std::string_view> codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

// Codes that the error table lists only under HTTP 401: on a 2xx answer they still mean
// "credentials rejected". 0204/0206 also appear under 400/403 and stay terminal there.
bool IsUnauthorizedOnlyCode(std::string_view code) {
  return IsOneOf(code, {"ModelArts.0201", "ModelArts.0202", "ModelArts.0205", "ModelArts.0207",
                        "ModelArts.0208", "ModelArts.0212", "ModelArts.4127", "ModelArts.5001",
                        "ModelArts.5002", "ModelArts.6620"});
}

// "The token is invalid" under any status: ModelArts' 0203 and 2784 (listed under 403 too),
// and the API gateway's 0301 and 0307 (APIGW.*, or APIG.* on older gateways), read as "the
// token is invalid" and "the token must be renewed": unconfirmed, see docs/modelarts-api.md
// for what happens if that reading is wrong. A fresh token can cure these, so they renew
// like a 401.
bool IsInvalidTokenCode(std::string_view code) {
  return IsOneOf(code, {"ModelArts.0203", "ModelArts.2784", "APIGW.0301", "APIGW.0307", "APIG.0301",
                        "APIG.0307"});
}

bool IsBusyOrInternalCode(std::string_view code) {
  return IsOneOf(code, {"ModelArts.2799", "ModelArts.4206", "ModelArts.6101", "APIGW.0308",
                        "ModelArts.0010", "ModelArts.2950", "ModelArts.2952", "ModelArts.2953"});
}

ErrorClass ClassifyCodeAlone(std::string_view code) {
  if (IsBusyOrInternalCode(code)) return ErrorClass::kRetryable;
  if (code == "ModelArts.2878" || code == "ModelArts.4991") return ErrorClass::kRetryable;
  if (code == "ModelArts.2796") return ErrorClass::kNotAllowed;
  if (IsUnauthorizedOnlyCode(code) || IsInvalidTokenCode(code)) return ErrorClass::kReauthenticate;
  return ErrorClass::kTerminal;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseDigits(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<unsigned> MonthFromName(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (name == kMonths[i]) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

// "HH:MM:SS" → seconds of the day.
std::optional<int> ParseTimeOfDay(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  int h = 0, m = 0, sec = 0;
  if (!ParseDigits(s.substr(0, 2), h) || !ParseDigits(s.substr(3, 2), m) ||
      !ParseDigits(s.substr(6, 2), sec)) {
    return std::nullopt;
  }
  if (h > 23 || m > 59 || sec > 60) return std::nullopt;
  return h * 3600 + m * 60 + sec;
}

std::vector<std::string_view> SplitOnSpaces(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) parts.push_back(s.substr(start, i - start));
  }
  return parts;
}

std::optional<WallTime> MakeTime(int year, unsigned month, int day, int seconds_of_day) {
  // WallTime counts nanoseconds in 64 bits (about ±292 years around 1970): stay well inside.
  if (year < 1900 || year > 2200) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::seconds(seconds_of_day)));
}

// RFC 9110 §5.6.7: IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", obsolete RFC 850
// "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994".
std::optional<WallTime> ParseHttpDate(std::string_view s) {
  const std::vector<std::string_view> parts = SplitOnSpaces(s);
  if (parts.size() == 6 && parts[0].size() == 4 && parts[0].back() == ',' && parts[5] == "GMT") {
    int day = 0, year = 0;
    const auto month = MonthFromName(parts[2]);
    const auto tod = ParseTimeOfDay(parts[4]);
    if (parts[1].size() != 2 || !ParseDigits(parts[1], day) || !month || parts[3].size() != 4 ||
        !ParseDigits(parts[3], year) || !tod) {
      return std::nullopt;
    }
    return MakeTime(year, *month, day, *tod);
  }
  if (parts.size() == 4 && parts[0].back() == ',' && parts[3] == "GMT") {
    const std::string_view date = parts[1];  // DD-Mon-YY
    int day = 0, year = 0;
    if (date.size() != 9 || date[2] != '-' || date[6] != '-') return std::nullopt;
    const auto month = MonthFromName(date.substr(3, 3));
    const auto tod = ParseTimeOfDay(parts[2]);
    if (!ParseDigits(date.substr(0, 2), day) || !month || !ParseDigits(date.substr(7, 2), year) ||
        !tod) {
      return std::nullopt;
    }
    // Two-digit years: RFC 9110 says to read ones more than 50 years ahead as the past.
    year += year < 70 ? 2000 : 1900;
    return MakeTime(year, *month, day, *tod);
  }
  if (parts.size() == 5 && parts[0].size() == 3) {
    int day = 0, year = 0;
    const auto month = MonthFromName(parts[1]);
    const auto tod = ParseTimeOfDay(parts[3]);
    if (!month || parts[2].size() > 2 || !ParseDigits(parts[2], day) || !tod ||
        parts[4].size() != 4 || !ParseDigits(parts[4], year)) {
      return std::nullopt;
    }
    return MakeTime(year, *month, day, *tod);
  }
  return std::nullopt;
}

std::string SafeToken(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 64)) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-') {
      out += c;
    }
  }
  return out.empty() ? std::string("Unknown") : out;
}

}  // namespace

ErrorClass ClassifyStatusAndCode(int http_status, std::string_view code) {
  if (http_status >= 200 && http_status <= 299) return ClassifyCodeAlone(code);
  if (http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return ErrorClass::kRetryable;
  }
  if (http_status == 408) return ErrorClass::kRetryable;  // the server timed out waiting for us
  if (http_status == 401) return ErrorClass::kReauthenticate;
  if (http_status == 403 && IsInvalidTokenCode(code)) return ErrorClass::kReauthenticate;
  if (http_status == 409) {
    if (code == "ModelArts.2878") return ErrorClass::kRetryable;   // JobStatusChanged
    if (code == "ModelArts.2796") return ErrorClass::kNotAllowed;  // NotAllowedToTerminate
    return ErrorClass::kTerminal;
  }
  if (http_status == 400 && code == "ModelArts.4991") return ErrorClass::kRetryable;
  return ErrorClass::kTerminal;
}

bool RejectsCredential(int http_status, std::string_view body) {
  if (http_status == 401) return true;
  const bool ok_status = http_status >= 200 && http_status <= 299;
  if (!ok_status && http_status != 403) return false;
  // Cheap test first: a 2xx list answer can be megabytes, and only error bodies name a code.
  if (body.find("error_code") == std::string_view::npos) return false;
  // The stop answer's decoder reads is_success and the error fields of any answer.
  const Decoded<bool> decoded = DecodeStopResponse(body);
  const std::optional<ApiErrorBody> error = ok_status ? decoded.api_error : DecodeErrorBody(body);
  return error.has_value() &&
         ClassifyStatusAndCode(http_status, error->error_code) == ErrorClass::kReauthenticate;
}

Error ClassifyHttpError(std::string_view operation, int http_status,
                        const std::optional<ApiErrorBody>& body,
                        std::string_view retry_after_header, WallTime now,
                        const std::vector<std::string>& secrets) {
  const bool has_code = body.has_value() && !body->error_code.empty();
  const std::string code = has_code ? SanitizeForLog(body->error_code, 64, secrets)
                                    : "HTTP." + std::to_string(http_status);
  std::string message =
      std::string(operation) + " request failed with HTTP " + std::to_string(http_status);
  if (has_code) message += " " + code;
  if (body.has_value() && !body->error_message.empty()) {
    message += ": " + SanitizeForLog(body->error_message, kMaxErrorTextBytes, secrets);
  } else if (!has_code) {
    message += " (no error details in the body)";
  }
  Error error = MakeError(ClassifyStatusAndCode(http_status, has_code ? body->error_code : ""),
                          code, std::move(message), http_status);
  if (!retry_after_header.empty()) error.retry_after = ParseRetryAfter(retry_after_header, now);
  return error;
}

Error ClassifyTransportError(std::string_view operation, std::string_view what) {
  const std::string name = SafeToken(what);
  std::string hint;
  if (name == "Connection") {
    hint = "could not connect";
  } else if (name == "ConnectionTimeout") {
    hint = "connect timed out";
  } else if (name == "Read") {
    hint = "the connection dropped or the read timed out";
  } else if (name == "Write") {
    hint = "the connection dropped or the write timed out";
  } else if (name == "SSLServerVerification") {
    hint = "TLS certificate verification failed: not signed by a trusted CA, or not for this host";
  } else if (name.rfind("SSL", 0) == 0) {
    hint = "TLS failure";
  } else {
    hint = "no answer";
  }
  return MakeError(
      ErrorClass::kRetryable, "Transport." + name,
      std::string(operation) + " request failed: transport error " + name + " (" + hint + ")", 0);
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, WallTime now) {
  value = TrimSpaces(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // More digits than an hour needs means "clamp", not "overflow".
    const std::string_view digits =
        value.substr(std::min(value.find_first_not_of('0'), value.size()));
    if (digits.size() > 9) return kMaxRetryAfter;
    int seconds = 0;
    if (!digits.empty() && !ParseDigits(digits, seconds)) return std::nullopt;
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), kMaxRetryAfter);
  }
  const std::optional<WallTime> when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  const auto delta = std::chrono::ceil<std::chrono::milliseconds>(*when - now);
  return std::min<std::chrono::milliseconds>(delta, kMaxRetryAfter);
}

}  // namespace mactl
