#include "sim/sim_auth.h"

#include <cstddef>
#include <ctime>
#include <utility>

#include "httplib.h"
#include "nlohmann/json.hpp"
#include "sim/aksk_verifier.h"

namespace mactl::sim {
namespace {

using nlohmann::json;

// Compares without an early exit so timing does not reveal how much of a token matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char other = i < b.size() ? b[i] : '\0';
    diff |=
        static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(other));
  }
  return diff == 0;
}

AuthDecision Refuse(int status, std::string code, std::string message) {
  return {false, status, std::move(code), std::move(message)};
}

// The API gateway's answer to a bad AK/SK request.
AuthDecision RefuseSignature(const std::string& why) {
  return Refuse(401, "APIGW.0301", "Incorrect IAM authentication information: " + why);
}

// Keystone-style error body, as IAM answers.
IamAnswer IamError(int status, const std::string& title, const std::string& message) {
  return {status, "",
          json{{"error", {{"code", status}, {"title", title}, {"message", message}}}}.dump()};
}

bool IsJsonContentType(std::string_view content_type) {
  std::string lower;
  for (const char c : content_type.substr(0, content_type.find(';'))) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return lower == "application/json";
}

// Reads a string at a JSON pointer; nullopt when absent or not a string.
std::optional<std::string> StringAt(const json& j, const char* pointer) {
  const json::json_pointer ptr(pointer);
  if (!j.contains(ptr) || !j.at(ptr).is_string()) return std::nullopt;
  return j.at(ptr).get<std::string>();
}

}  // namespace

std::string FormatIamTime(WallTime t) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto micros = since_epoch - secs;
  if (micros.count() < 0) {
    micros += std::chrono::seconds(1);
    secs -= std::chrono::seconds(1);
  }
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros.count()));
  return buf;
}

Result<IamUser> ParseIamUser(std::string_view text) {
  const std::size_t first = text.find(':');
  const std::size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return MakeError(ErrorClass::kTerminal, "InvalidFlag",
                     "IAM user: expected NAME:PASSWORD:DOMAIN");
  }
  IamUser user{std::string(text.substr(0, first)),
               std::string(text.substr(first + 1, last - first - 1)),
               std::string(text.substr(last + 1))};
  if (user.name.empty() || user.password.empty() || user.domain.empty()) {
    return MakeError(ErrorClass::kTerminal, "InvalidFlag",
                     "IAM user: NAME, PASSWORD and DOMAIN must all be non-empty");
  }
  return user;
}

Result<AccessKeyPair> ParseAccessKeyPair(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return MakeError(ErrorClass::kTerminal, "InvalidFlag",
                     "access key: expected AK:SK, both non-empty");
  }
  return AccessKeyPair{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

SimAuth::SimAuth(std::optional<std::string> token)
    : config_{std::move(token), {}, std::chrono::hours(24), {}},
      clock_(nullptr),
      random_(nullptr) {}

SimAuth::SimAuth(SimAuthConfig config, const Clock& clock, RandomSource& random)
    : config_(std::move(config)), clock_(&clock), random_(&random) {}

bool SimAuth::enabled() const {
  return config_.token.has_value() || (clock_ != nullptr && (iam_enabled() || aksk_enabled()));
}

std::string SimAuth::Describe() const {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (config_.token) add("token");
  if (iam_enabled()) add("iam (" + std::to_string(config_.iam_users.size()) + " user(s))");
  if (aksk_enabled()) add("aksk (" + std::to_string(config_.access_keys.size()) + " key(s))");
  return out.empty() ? "none" : out;
}

int SimAuth::IssuedTokenCount() const {
  std::lock_guard lock(mu_);
  return issued_count_;
}

AuthDecision SimAuth::Authenticate(const httplib::Request& req, std::string_view project_id) const {
  if (!enabled()) return {};
  const std::string authorization = req.get_header_value("Authorization");
  const bool is_signed = authorization.rfind(kSdkHmacSha256, 0) == 0;
  std::optional<AuthDecision> refusal;
  if (req.has_header("X-Auth-Token")) {
    const std::string token = req.get_header_value("X-Auth-Token");
    if (config_.token && ConstantTimeEquals(token, *config_.token)) return {};
    if (iam_enabled() && clock_ != nullptr) {
      std::lock_guard lock(mu_);
      const auto it = issued_.find(token);
      if (it != issued_.end()) {
        if (clock_->WallNow() >= it->second.expires_at) {
          refusal = Refuse(401, "ModelArts.0202", "the token has expired");
        } else if (!project_id.empty() && project_id != it->second.project_id) {
          refusal =
              Refuse(403, "ModelArts.0210", "the project ID in the URL does not match the token");
        } else {
          return {};
        }
      }
    }
    if (!refusal) refusal = Refuse(401, "ModelArts.0203", "the token is invalid");
  }
  if (is_signed && aksk_enabled() && clock_ != nullptr) {
    AuthDecision signature = CheckSignature(req);
    // X-Project-Id names the project a signed request acts in; like a token's scope, it
    // must be the project in the URL (403 ModelArts.0210 otherwise).
    const std::string header_project = req.get_header_value("X-Project-Id");
    if (signature.allowed && !project_id.empty() && !header_project.empty() &&
        header_project != project_id) {
      return Refuse(403, "ModelArts.0210", "the project ID in the URL does not match X-Project-Id");
    }
    if (signature.allowed) return signature;
    if (!refusal) refusal = std::move(signature);
  }
  if (refusal) return *refusal;
  if (!authorization.empty() && aksk_enabled()) {
    return RefuseSignature("the Authorization header is not SDK-HMAC-SHA256");
  }
  if (!config_.token && !iam_enabled()) {
    return Refuse(401, "ModelArts.0205", "the Authorization header is missing");
  }
  return Refuse(401, "ModelArts.0201", "the X-Auth-Token header is missing");
}

AuthDecision SimAuth::CheckSignature(const httplib::Request& req) const {
  const std::string sdk_date = req.get_header_value("X-Sdk-Date");
  if (sdk_date.empty()) return RefuseSignature("the X-Sdk-Date header is missing");
  const std::optional<WallTime> signed_at = ParseSdkDate(sdk_date);
  if (!signed_at) return RefuseSignature("X-Sdk-Date is not YYYYMMDDTHHMMSSZ");
  const auto skew = clock_->WallNow() - *signed_at;
  if (skew > kMaxSdkDateSkew || skew < -kMaxSdkDateSkew) {
    return RefuseSignature("X-Sdk-Date is more than 15 minutes away from the server's clock");
  }
  if (!ParseAkSkAuthorization(req.get_header_value("Authorization"))) {
    return RefuseSignature("the Authorization header is malformed");
  }
  ReceivedRequest received;
  received.method = req.method;
  // The path as sent (still percent-encoded): req.path is already decoded.
  const std::string& raw = req.target.empty() ? req.path : req.target;
  received.raw_path = raw.substr(0, raw.find('?'));
  for (const auto& [key, value] : req.params) received.query.emplace_back(key, value);
  for (const auto& [key, value] : req.headers) received.headers.emplace_back(key, value);
  received.body = req.body;
  const auto secret_for = [this](std::string_view access_key) -> std::optional<std::string> {
    for (const AccessKeyPair& pair : config_.access_keys) {
      if (ConstantTimeEquals(pair.access_key, access_key)) return pair.secret_key;
    }
    return std::nullopt;
  };
  switch (VerifyAkSk(received, secret_for)) {
    case AkSkVerdict::kValid:
      return {};
    case AkSkVerdict::kMalformed:
      return RefuseSignature("the Authorization header is malformed");
    case AkSkVerdict::kHostOrDateUnsigned:
      return RefuseSignature("SignedHeaders must include host and x-sdk-date");
    case AkSkVerdict::kSignedHeaderMissing:
      return RefuseSignature("a header named in SignedHeaders is missing");
    case AkSkVerdict::kUnknownAccessKey:
    case AkSkVerdict::kWrongSignature:
      break;
  }
  // One answer for an unknown key and a wrong signature, as the gateway gives.
  return RefuseSignature("the signature does not verify (unknown access key or wrong signature)");
}

std::string SimAuth::NewToken() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token = "MIIsim";
  for (int i = 0; i < 64; ++i) {
    const double u = random_->Uniform01();
    token.push_back(kHex[static_cast<std::size_t>(u * 16.0) & 15u]);
  }
  return token;
}

IamAnswer SimAuth::IssueIamToken(const httplib::Request& req, const ProjectResolver& projects) {
  if (!iam_enabled() || clock_ == nullptr) {
    return IamError(404, "Not Found", "IAM token issuing is not configured in the simulator");
  }
  if (!IsJsonContentType(req.get_header_value("Content-Type"))) {
    return IamError(415, "Unsupported Media Type", "Content-Type must be application/json");
  }
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return IamError(400, "Bad Request", "the request body is not a JSON object");
  }
  const json::json_pointer methods_ptr("/auth/identity/methods");
  if (!body.contains(methods_ptr) || body.at(methods_ptr) != json::array({"password"})) {
    return IamError(400, "Bad Request", "auth.identity.methods must be [\"password\"]");
  }
  const auto name = StringAt(body, "/auth/identity/password/user/name");
  const auto password = StringAt(body, "/auth/identity/password/user/password");
  const auto domain = StringAt(body, "/auth/identity/password/user/domain/name");
  if (!name || !password || !domain) {
    return IamError(400, "Bad Request",
                    "auth.identity.password.user needs name, password and domain.name");
  }
  const auto project_id = StringAt(body, "/auth/scope/project/id");
  const auto project_name = StringAt(body, "/auth/scope/project/name");
  if (!project_id && !project_name) {
    return IamError(400, "Bad Request",
                    "auth.scope.project needs id or name: the simulator issues project-scoped "
                    "tokens only");
  }
  bool user_ok = false;
  for (const IamUser& user : config_.iam_users) {
    // Check every entry in full so timing does not tell which part was wrong.
    const bool match = ConstantTimeEquals(user.name, *name) &
                       ConstantTimeEquals(user.password, *password) &
                       ConstantTimeEquals(user.domain, *domain);
    user_ok = user_ok || match;
  }
  if (!user_ok) {
    return IamError(401, "Unauthorized", "The username or password is wrong.");
  }
  const std::optional<ProjectRef> project =
      projects(project_id.value_or(""), project_id ? "" : project_name.value_or(""));
  if (!project) {
    return IamError(401, "Unauthorized", "the scope project does not exist");
  }
  const WallTime now = clock_->WallNow();
  const WallTime expires_at =
      now + std::chrono::duration_cast<WallTime::duration>(config_.iam_token_ttl);
  std::string token;
  {
    std::lock_guard lock(mu_);
    // Forget expired tokens so the table stays as small as the number of live ones.
    for (auto it = issued_.begin(); it != issued_.end();) {
      it = now >= it->second.expires_at ? issued_.erase(it) : std::next(it);
    }
    do {
      token = NewToken();
    } while (issued_.count(token) != 0);
    issued_.emplace(token, IssuedToken{project->id, expires_at});
    ++issued_count_;
  }
  json answer = {
      {"token",
       {{"expires_at", FormatIamTime(expires_at)},
        {"issued_at", FormatIamTime(now)},
        {"methods", {"password"}},
        {"project",
         {{"id", project->id}, {"name", project->name}, {"domain", {{"name", *domain}}}}},
        {"user", {{"name", *name}, {"domain", {{"name", *domain}}}}},
        {"roles", json::array({{{"name", "te_admin"}}})}}}};
  // Any nocatalog value drops the (here empty) service catalog, as IAM does.
  if (!req.has_param("nocatalog")) answer["token"]["catalog"] = json::array();
  return {201, token, answer.dump()};
}

}  // namespace mactl::sim
