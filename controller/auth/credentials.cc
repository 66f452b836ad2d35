#include "controller/auth/credentials.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <system_error>
#include <utility>

#include "controller/auth/aksk_authenticator.h"
#include "controller/auth/per_project_authenticator.h"
#include "controller/auth/static_token_authenticator.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;

// No credential is anywhere near this; a bigger file is a mistake, not a secret.
constexpr std::uintmax_t kMaxSecretFileBytes = 64 * 1024;

Error ConfigError(std::string message) {
  return MakeError(ErrorClass::kTerminal, "Config", std::move(message));
}

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A value together with a secret-free description of where it came from.
struct Sourced {
  std::string value;
  std::string origin;  // "OS_PASSWORD", "OS_PASSWORD_FILE", "$CREDENTIALS_DIRECTORY/password"
  std::optional<fs::path> file;  // set when read from a file
};

// Reads a secret file. `what` names it in errors (e.g. "OS_PASSWORD_FILE (/run/pw)").
Result<std::string> ReadSecretFile(const fs::path& path, const std::string& what) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return ConfigError(what + " cannot be read: " + ec.message());
  if (size > kMaxSecretFileBytes) return ConfigError(what + " is larger than 64 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError(what + " cannot be opened for reading");
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string_view trimmed = Trim(content);
  if (trimmed.empty()) return ConfigError(what + " is empty");
  return std::string(trimmed);
}

std::optional<std::string> EnvValue(const CredentialSources& s, std::string_view name) {
  std::optional<std::string> v = s.env(name);
  if (v && v->empty()) return std::nullopt;  // VAR= counts as unset
  return v;
}

// VAR, VAR_FILE, then $CREDENTIALS_DIRECTORY/credential_name (when not empty).
Result<std::optional<Sourced>> ReadSecret(const CredentialSources& s, const std::string& var,
                                          std::string_view credential_name) {
  const std::string file_var = var + "_FILE";
  const std::optional<std::string> direct = EnvValue(s, var);
  const std::optional<std::string> file = EnvValue(s, file_var);
  if (direct && file) {
    return ConfigError("both " + var + " and " + file_var + " are set; set only one");
  }
  if (file) {
    Result<std::string> content = ReadSecretFile(*file, file_var + " (" + *file + ")");
    if (!content.ok()) return content.error();
    return std::optional<Sourced>(Sourced{std::move(content.value()), file_var, fs::path(*file)});
  }
  if (direct) return std::optional<Sourced>(Sourced{*direct, var, std::nullopt});
  if (s.credentials_directory && !credential_name.empty()) {
    const fs::path path = *s.credentials_directory / credential_name;
    std::error_code ec;
    if (fs::exists(path, ec)) {
      const std::string origin = "$CREDENTIALS_DIRECTORY/" + std::string(credential_name);
      Result<std::string> content = ReadSecretFile(path, origin + " (" + path.string() + ")");
      if (!content.ok()) return content.error();
      return std::optional<Sourced>(Sourced{std::move(content.value()), origin, path});
    }
  }
  return std::optional<Sourced>();
}

// Non-secret setting: VAR only.
std::string Plain(const CredentialSources& s, std::string_view var) {
  return EnvValue(s, var).value_or("");
}

// Lists which variables of the lower-precedence methods are set, for the start-up log.
void NoteIgnored(const CredentialSources& s, const std::vector<std::string>& vars,
                 const std::string& winner, CredentialChoice& choice) {
  std::vector<std::string> set;
  for (const std::string& v : vars) {
    if (EnvValue(s, v) || EnvValue(s, v + "_FILE")) set.push_back(v);
  }
  if (!set.empty())
    choice.notes.push_back("ignoring " + JoinNames(set) + ": " + winner + " takes precedence");
}

Result<std::optional<CredentialChoice>> FromToken(const CredentialSources& s) {
  CredentialChoice c;
  if (s.token_file) {
    if (EnvValue(s, "OS_TOKEN") || EnvValue(s, "OS_TOKEN_FILE")) {
      c.notes.push_back("ignoring OS_TOKEN/OS_TOKEN_FILE: --token-file takes precedence");
    }
    c.method = "token-file";
    c.source = "--token-file";
    c.token_file = *s.token_file;
  } else {
    const std::optional<std::string> direct = EnvValue(s, "OS_TOKEN");
    const std::optional<std::string> file = EnvValue(s, "OS_TOKEN_FILE");
    if (direct && file) return ConfigError("both OS_TOKEN and OS_TOKEN_FILE are set; set only one");
    if (file) {
      c.method = "token-file";
      c.source = "OS_TOKEN_FILE";
      c.token_file = *file;
    } else if (direct) {
      c.method = "token";
      c.source = "OS_TOKEN";
      c.token = *direct;
    } else if (s.credentials_directory) {
      const fs::path path = *s.credentials_directory / "token";
      std::error_code ec;
      if (!fs::exists(path, ec)) return std::optional<CredentialChoice>();
      c.method = "token-file";
      c.source = "$CREDENTIALS_DIRECTORY/token";
      c.token_file = path;
    } else {
      return std::optional<CredentialChoice>();
    }
  }
  return std::optional<CredentialChoice>(std::move(c));
}

Result<std::optional<CredentialChoice>> FromAkSk(const CredentialSources& s) {
  Result<std::optional<Sourced>> ak = ReadSecret(s, "OS_ACCESS_KEY", "access-key");
  if (!ak.ok()) return ak.error();
  Result<std::optional<Sourced>> sk = ReadSecret(s, "OS_SECRET_KEY", "secret-key");
  if (!sk.ok()) return sk.error();
  if (!ak->has_value() && !sk->has_value()) return std::optional<CredentialChoice>();
  if (!ak->has_value()) {
    return ConfigError("AK/SK signing: OS_SECRET_KEY is set (from " + (*sk)->origin +
                       ") but OS_ACCESS_KEY (or OS_ACCESS_KEY_FILE) is missing");
  }
  if (!sk->has_value()) {
    return ConfigError("AK/SK signing: OS_ACCESS_KEY is set (from " + (*ak)->origin +
                       ") but OS_SECRET_KEY (or OS_SECRET_KEY_FILE) is missing");
  }
  CredentialChoice c;
  c.method = "aksk";
  c.source = (*ak)->origin + " + " + (*sk)->origin;
  c.access_key = (*ak)->value;
  c.secret_key = (*sk)->value;
  c.project_id = !s.project_id.empty() ? s.project_id : Plain(s, "OS_PROJECT_ID");
  return std::optional<CredentialChoice>(std::move(c));
}

Result<std::optional<CredentialChoice>> FromPassword(const CredentialSources& s) {
  Result<std::optional<Sourced>> user = ReadSecret(s, "OS_USERNAME", "");
  if (!user.ok()) return user.error();
  Result<std::optional<Sourced>> password = ReadSecret(s, "OS_PASSWORD", "password");
  if (!password.ok()) return password.error();
  const std::string auth_url = Plain(s, "OS_AUTH_URL");
  if (auth_url.empty() && !user->has_value() && !password->has_value()) {
    return std::optional<CredentialChoice>();
  }
  std::string domain = Plain(s, "OS_DOMAIN_NAME");
  if (domain.empty()) domain = Plain(s, "OS_USER_DOMAIN_NAME");
  const std::string project_id = !s.project_id.empty() ? s.project_id : Plain(s, "OS_PROJECT_ID");
  const std::string project_name = Plain(s, "OS_PROJECT_NAME");

  std::vector<std::string> missing;
  if (auth_url.empty()) missing.emplace_back("OS_AUTH_URL");
  if (!user->has_value()) missing.emplace_back("OS_USERNAME");
  if (!password->has_value()) missing.emplace_back("OS_PASSWORD (or OS_PASSWORD_FILE)");
  if (domain.empty()) missing.emplace_back("OS_DOMAIN_NAME");
  if (project_id.empty() && project_name.empty()) {
    missing.emplace_back("the project (--project-id or OS_PROJECT_NAME)");
  }
  if (!missing.empty())
    return ConfigError("IAM password authentication is missing " + JoinNames(missing));

  CredentialChoice c;
  c.method = "iam-password";
  c.source = "OS_AUTH_URL + " + (*password)->origin;
  c.iam.auth_url = auth_url;
  c.iam.user_name = (*user)->value;
  c.iam.password = (*password)->value;
  c.iam.domain_name = domain;
  c.iam.project_id = project_id;
  c.iam.project_name = project_id.empty() ? project_name : "";
  c.project_id = project_id;
  return std::optional<CredentialChoice>(std::move(c));
}

// The credentials of one clouds.yaml entry; project_flag ("" when not given) overrides the
// entry's own project.
Result<CredentialChoice> FromCloudConfig(const CloudConfig& cfg, const std::string& project_flag) {
  const std::string& cloud = cfg.name;
  CredentialChoice c;
  c.source = "clouds.yaml " + cfg.file.string() + " (cloud \"" + cloud + "\")";
  if (!cfg.secure_file.empty()) c.source += " + " + cfg.secure_file.string();
  c.region = cfg.region_name;
  const std::string key = "clouds." + cloud;
  const std::string project_id = !project_flag.empty() ? project_flag : cfg.project_id;
  if (!cfg.token.empty()) {
    c.method = "token";
    c.token = cfg.token;
    return c;
  }
  if (!cfg.ak.empty() || !cfg.sk.empty()) {
    if (cfg.ak.empty() || cfg.sk.empty()) {
      return ConfigError(cfg.file.string() + ": " + key + " sets " +
                         (cfg.ak.empty() ? "sk" : "ak") + " but not " +
                         (cfg.ak.empty() ? "ak" : "sk"));
    }
    c.method = "aksk";
    c.access_key = cfg.ak;
    c.secret_key = cfg.sk;
    c.project_id = project_id;
    return c;
  }
  std::vector<std::string> missing;
  if (cfg.auth_url.empty()) missing.push_back(key + ".auth.auth_url");
  if (cfg.username.empty()) missing.push_back(key + ".auth.username");
  if (cfg.password.empty()) missing.push_back(key + ".auth.password");
  if (cfg.user_domain_name.empty()) missing.push_back(key + ".auth.user_domain_name");
  if (project_id.empty() && cfg.project_name.empty()) {
    missing.push_back(key + ".auth.project_id or project_name (or --project-id)");
  }
  if (!missing.empty()) {
    return ConfigError(cfg.file.string() + ": cloud \"" + cloud +
                       "\" has no token, no ak/sk, and for password authentication lacks " +
                       JoinNames(missing));
  }
  c.method = "iam-password";
  c.iam.auth_url = cfg.auth_url;
  c.iam.user_name = cfg.username;
  c.iam.password = cfg.password;
  c.iam.domain_name = cfg.user_domain_name;
  c.iam.project_id = project_id;
  c.iam.project_name = project_id.empty() ? cfg.project_name : "";
  c.project_id = project_id;
  return c;
}

// OS_CLOUD's entry, and the other entries of the file that name a project (serving
// requests for that project).
Result<CredentialChoice> FromCloud(const CredentialSources& s, const std::string& cloud) {
  Result<CloudConfig> found = FindCloud(s.clouds_yaml, cloud);
  if (!found.ok()) return found.error();
  Result<CredentialChoice> chosen = FromCloudConfig(*found, s.project_id);
  if (!chosen.ok()) return chosen;
  CredentialChoice& c = chosen.value();
  ProjectClouds others = FindProjectClouds(s.clouds_yaml, cloud);
  for (const std::string& reason : others.skipped) {
    c.notes.push_back("clouds.yaml entry not used for per-project credentials: " + reason);
  }
  for (const CloudConfig& entry : others.entries) {
    const std::string key = "clouds." + entry.name;
    const bool taken = entry.project_id == c.project_id ||
                       std::any_of(c.per_project.begin(), c.per_project.end(),
                                   [&](const auto& p) { return p.project_id == entry.project_id; });
    if (taken) {
      c.notes.push_back(key + " not used: project " + entry.project_id +
                        " already has credentials");
      continue;
    }
    Result<CredentialChoice> per_project = FromCloudConfig(entry, "");
    if (!per_project.ok()) {
      c.notes.push_back(key + " not used: " + per_project.error().message);
      continue;
    }
    c.notes.push_back(key + " serves project " + entry.project_id + " (" + per_project->method +
                      ")");
    per_project.value().project_id = entry.project_id;
    c.per_project.push_back(std::move(per_project.value()));
  }
  return chosen;
}

// Owns the HTTP issuer that the caching authenticator refers to.
class OwningIamAuthenticator final : public Authenticator {
 public:
  OwningIamAuthenticator(std::unique_ptr<HttpIamTokenIssuer> issuer, const Clock& clock,
                         Duration renew_before, Duration max_wait)
      : issuer_(std::move(issuer)),
        auth_(*issuer_, clock, renew_before, std::chrono::minutes(1), max_wait) {}

  // Authenticator methods
  Status Apply(OutgoingRequest& request) override { return auth_.Apply(request); }
  void OnUnauthorized(const OutgoingRequest& rejected) override { auth_.OnUnauthorized(rejected); }
  void Cancel() override { auth_.Cancel(); }
  std::string Describe() const override { return auth_.Describe(); }

 private:
  const std::unique_ptr<HttpIamTokenIssuer> issuer_;  // declared first: auth_ refers to it
  IamTokenAuthenticator auth_;
};

}  // namespace

CredentialSources DefaultCredentialSources(EnvLookup env, std::optional<fs::path> token_file,
                                           std::string project_id,
                                           const fs::path& working_directory) {
  CredentialSources s;
  s.clouds_yaml = DefaultCloudsYamlSearch(env, working_directory);
  if (const auto dir = env("CREDENTIALS_DIRECTORY"); dir && !dir->empty()) {
    s.credentials_directory = fs::path(*dir);
  }
  s.env = std::move(env);
  s.token_file = std::move(token_file);
  s.project_id = std::move(project_id);
  return s;
}

std::string CredentialChoice::Describe() const {
  std::string out = method + " from " + source;
  if (method == "token-file") out += " (" + token_file.string() + ")";
  if (method == "aksk" && !project_id.empty()) out += ", X-Project-Id " + project_id;
  if (method == "iam-password") {
    out += ", user \"" + iam.user_name + "\" in domain \"" + iam.domain_name + "\", project " +
           (iam.project_id.empty() ? "name \"" + iam.project_name + "\"" : iam.project_id) +
           " at " + iam.auth_url;
  }
  for (const CredentialChoice& p : per_project) {
    out += "; for project " + p.project_id + ": " + p.Describe();
  }
  return out;
}

Result<CredentialChoice> ChooseCredentials(const CredentialSources& sources) {
  if (!sources.env) return ConfigError("no environment lookup given");

  Result<std::optional<CredentialChoice>> token = FromToken(sources);
  if (!token.ok()) return token.error();
  if (token->has_value()) {
    CredentialChoice c = std::move(token.value()).value();
    NoteIgnored(
        sources,
        {"OS_ACCESS_KEY", "OS_SECRET_KEY", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_CLOUD"},
        "the static token", c);
    return c;
  }

  Result<std::optional<CredentialChoice>> aksk = FromAkSk(sources);
  if (!aksk.ok()) return aksk.error();
  if (aksk->has_value()) {
    CredentialChoice c = std::move(aksk.value()).value();
    NoteIgnored(sources, {"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_CLOUD"}, "AK/SK", c);
    c.region = Plain(sources, "OS_REGION_NAME");
    return c;
  }

  Result<std::optional<CredentialChoice>> password = FromPassword(sources);
  if (!password.ok()) return password.error();
  if (password->has_value()) {
    CredentialChoice c = std::move(password.value()).value();
    NoteIgnored(sources, {"OS_CLOUD"}, "IAM password from the environment", c);
    c.region = Plain(sources, "OS_REGION_NAME");
    return c;
  }

  if (const std::string cloud = Plain(sources, "OS_CLOUD"); !cloud.empty()) {
    return FromCloud(sources, cloud);
  }

  return ConfigError(
      "no credentials found; looked for: a static token (--token-file, OS_TOKEN, "
      "OS_TOKEN_FILE), AK/SK (OS_ACCESS_KEY + OS_SECRET_KEY), IAM password (OS_AUTH_URL, "
      "OS_USERNAME, OS_PASSWORD, OS_DOMAIN_NAME, project from --project-id or OS_PROJECT_NAME), "
      "and OS_CLOUD (clouds.yaml); each secret may also be given as <VAR>_FILE" +
      std::string(sources.credentials_directory
                      ? " or in $CREDENTIALS_DIRECTORY (token, access-key, secret-key, password)"
                      : ""));
}

namespace {

Result<std::unique_ptr<Authenticator>> MakeOne(const CredentialChoice& choice,
                                               const AuthenticatorDeps& deps) {
  if (choice.method == "token") {
    return std::unique_ptr<Authenticator>(std::make_unique<StaticTokenAuthenticator>(
        StaticTokenAuthenticator::FromToken(choice.token)));
  }
  if (choice.method == "token-file") {
    Result<std::unique_ptr<StaticTokenAuthenticator>> auth =
        StaticTokenAuthenticator::FromFile(choice.token_file);
    if (!auth.ok()) return auth.error();
    return std::unique_ptr<Authenticator>(std::move(auth.value()));
  }
  if (choice.method == "aksk") {
    return std::unique_ptr<Authenticator>(std::make_unique<AkSkAuthenticator>(
        choice.access_key, choice.secret_key, choice.project_id, deps.clock));
  }
  if (choice.method == "iam-password") {
    IamPasswordOptions options = choice.iam;
    options.ca_file = deps.ca_file;
    options.insecure_skip_tls_verify = deps.insecure_skip_tls_verify;
    options.connect_timeout = deps.connect_timeout;
    options.read_timeout = deps.read_timeout;
    options.total_timeout = deps.total_timeout;
    options.max_response_bytes = deps.max_response_bytes;
    // Waiters give up a little after the renewal itself must have ended.
    const Duration max_wait = EffectiveIamTotalTimeout(options) + std::chrono::seconds(2);
    Result<std::unique_ptr<HttpIamTokenIssuer>> issuer =
        HttpIamTokenIssuer::Create(std::move(options), deps.clock, deps.observer);
    if (!issuer.ok()) return issuer.error();
    return std::unique_ptr<Authenticator>(std::make_unique<OwningIamAuthenticator>(
        std::move(issuer.value()), deps.clock, deps.renew_before, max_wait));
  }
  return ConfigError("unknown credential method \"" + choice.method + "\"");
}

}  // namespace

Result<std::unique_ptr<Authenticator>> MakeAuthenticator(const CredentialChoice& choice,
                                                         const AuthenticatorDeps& deps) {
  Result<std::unique_ptr<Authenticator>> fallback = MakeOne(choice, deps);
  if (!fallback.ok() || choice.per_project.empty()) return fallback;
  std::map<std::string, std::unique_ptr<Authenticator>> by_project;
  for (const CredentialChoice& one : choice.per_project) {
    Result<std::unique_ptr<Authenticator>> auth = MakeOne(one, deps);
    if (!auth.ok()) return auth.error();
    by_project.emplace(one.project_id, std::move(auth.value()));
  }
  return std::unique_ptr<Authenticator>(std::make_unique<PerProjectAuthenticator>(
      std::move(fallback.value()), std::move(by_project)));
}

}  // namespace mactl
