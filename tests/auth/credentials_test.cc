#include "controller/auth/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Every secret below contains "xyzzy" so one check finds any leak.
constexpr char kSecretMarker[] = "xyzzy";

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "credentials_test.XXXXXX").string();
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string Write(const fs::path& relative, const std::string& content) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  fs::path path_;
};

std::string HeaderValue(const OutgoingRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class CredentialsTest : public ::testing::Test {
 protected:
  CredentialSources Sources() const {
    CredentialSources s;
    s.env = [this](std::string_view name) -> std::optional<std::string> {
      const auto it = env_.find(std::string(name));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    s.token_file = token_flag_;
    s.project_id = project_flag_;
    s.clouds_yaml.clouds_files = {dir_.path() / "clouds.yaml"};
    s.clouds_yaml.secure_files = {dir_.path() / "secure.yaml"};
    s.credentials_directory = credentials_directory_;
    return s;
  }
  Result<CredentialChoice> Choose() const { return ChooseCredentials(Sources()); }
  Error ChooseError() const {
    const Result<CredentialChoice> r = Choose();
    EXPECT_FALSE(r.ok()) << "chose " << (r.ok() ? r->method : "");
    if (r.ok()) return Error{};
    EXPECT_EQ(r.error().error_class, ErrorClass::kTerminal);
    EXPECT_THAT(r.error().ToString(), Not(HasSubstr(kSecretMarker)));
    return r.error();
  }
  void SetAll() {
    env_["OS_TOKEN"] = "tok-xyzzy";
    env_["OS_ACCESS_KEY"] = "AK1";
    env_["OS_SECRET_KEY"] = "sk-xyzzy";
    env_["OS_AUTH_URL"] = "https://iam.eu-de.otc.t-systems.com/v3";
    env_["OS_USERNAME"] = "alice";
    env_["OS_PASSWORD"] = "pw-xyzzy";
    env_["OS_DOMAIN_NAME"] = "OTC-EU-DE-1";
    env_["OS_PROJECT_NAME"] = "eu-de";
    env_["OS_CLOUD"] = "otc";
    dir_.Write("clouds.yaml", "clouds:\n  otc:\n    auth:\n      token: cloud-tok-xyzzy\n");
  }

  TempDir dir_;
  std::map<std::string, std::string> env_;
  std::optional<fs::path> token_flag_;
  std::string project_flag_;
  std::optional<fs::path> credentials_directory_;
};

TEST_F(CredentialsTest, PrecedenceFollowsTheContract) {
  SetAll();
  Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "token");
  EXPECT_EQ(c->token, "tok-xyzzy");
  EXPECT_EQ(c->source, "OS_TOKEN");
  ASSERT_EQ(c->notes.size(), 1u);
  EXPECT_THAT(c->notes[0], HasSubstr("OS_ACCESS_KEY"));
  EXPECT_THAT(c->notes[0], HasSubstr("OS_CLOUD"));
  EXPECT_THAT(c->notes[0], Not(HasSubstr(kSecretMarker)));

  env_.erase("OS_TOKEN");
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, "aksk");
  EXPECT_EQ(c->access_key, "AK1");
  EXPECT_EQ(c->secret_key, "sk-xyzzy");

  env_.erase("OS_ACCESS_KEY");
  env_.erase("OS_SECRET_KEY");
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, "iam-password");
  EXPECT_EQ(c->iam.auth_url, "https://iam.eu-de.otc.t-systems.com/v3");
  EXPECT_EQ(c->iam.user_name, "alice");
  EXPECT_EQ(c->iam.password, "pw-xyzzy");
  EXPECT_EQ(c->iam.domain_name, "OTC-EU-DE-1");
  EXPECT_EQ(c->iam.project_name, "eu-de");
  EXPECT_EQ(c->iam.project_id, "");

  for (const char* v : {"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD"}) env_.erase(v);
  c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "token");
  EXPECT_EQ(c->token, "cloud-tok-xyzzy");
  EXPECT_THAT(c->source, HasSubstr("clouds.yaml"));
  EXPECT_THAT(c->source, HasSubstr("\"otc\""));
}

TEST_F(CredentialsTest, TokenFileFlagWinsAndIsPassedByPath) {
  SetAll();
  token_flag_ = "/run/secrets/token";
  Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, "token-file");
  EXPECT_EQ(c->source, "--token-file");
  EXPECT_EQ(c->token_file, fs::path("/run/secrets/token"));
  EXPECT_EQ(c->token, "");

  token_flag_.reset();
  env_.erase("OS_TOKEN");
  env_["OS_TOKEN_FILE"] = "/var/run/secrets/t";
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, "token-file");  // re-read on rotation, so not read here
  EXPECT_EQ(c->token_file, fs::path("/var/run/secrets/t"));
}

TEST_F(CredentialsTest, FileVariantsAreReadAndTrimmed) {
  env_["OS_ACCESS_KEY_FILE"] = dir_.Write("ak", "AK-FROM-FILE\n");
  env_["OS_SECRET_KEY_FILE"] = dir_.Write("sk", "  sk-file-xyzzy\r\n");
  project_flag_ = "0f1e2d3c";
  Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "aksk");
  EXPECT_EQ(c->access_key, "AK-FROM-FILE");
  EXPECT_EQ(c->secret_key, "sk-file-xyzzy");
  EXPECT_EQ(c->project_id, "0f1e2d3c");
  EXPECT_EQ(c->source, "OS_ACCESS_KEY_FILE + OS_SECRET_KEY_FILE");

  env_.clear();
  env_["OS_AUTH_URL"] = "https://iam.example/v3";
  env_["OS_USERNAME_FILE"] = dir_.Write("user", "alice\n");
  env_["OS_PASSWORD_FILE"] = dir_.Write("pw", "pw-file-xyzzy\n");
  env_["OS_USER_DOMAIN_NAME"] = "Dom";  // the OpenStack spelling works too
  c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "iam-password");
  EXPECT_EQ(c->iam.user_name, "alice");
  EXPECT_EQ(c->iam.password, "pw-file-xyzzy");
  EXPECT_EQ(c->iam.domain_name, "Dom");
  EXPECT_EQ(c->iam.project_id, "0f1e2d3c");  // --project-id scopes the token
  EXPECT_EQ(c->iam.project_name, "");
}

TEST_F(CredentialsTest, SystemdCredentialsDirectory) {
  credentials_directory_ = dir_.path() / "creds";
  dir_.Write("creds/access-key", "AK-CRED\n");
  dir_.Write("creds/secret-key", "sk-cred-xyzzy\n");
  Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "aksk");
  EXPECT_EQ(c->access_key, "AK-CRED");
  EXPECT_EQ(c->secret_key, "sk-cred-xyzzy");
  EXPECT_EQ(c->source, "$CREDENTIALS_DIRECTORY/access-key + $CREDENTIALS_DIRECTORY/secret-key");

  dir_.Write("creds/token", "tok-xyzzy\n");
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->method, "token-file");
  EXPECT_EQ(c->token_file, dir_.path() / "creds" / "token");

  // The environment beats the credentials directory for the same secret.
  fs::remove(dir_.path() / "creds" / "token");
  env_["OS_SECRET_KEY"] = "sk-env-xyzzy";
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->secret_key, "sk-env-xyzzy");
}

TEST_F(CredentialsTest, BothVariableAndFileIsAnError) {
  env_["OS_PASSWORD"] = "pw-xyzzy";
  env_["OS_PASSWORD_FILE"] = dir_.Write("pw", "pw-file-xyzzy");
  const Error e = ChooseError();
  EXPECT_THAT(e.message, HasSubstr("OS_PASSWORD and OS_PASSWORD_FILE"));

  env_.clear();
  env_["OS_TOKEN"] = "tok-xyzzy";
  env_["OS_TOKEN_FILE"] = "/x";
  EXPECT_THAT(ChooseError().message, HasSubstr("OS_TOKEN and OS_TOKEN_FILE"));
}

TEST_F(CredentialsTest, BadSecretFilesAreNamed) {
  env_["OS_ACCESS_KEY"] = "AK1";
  env_["OS_SECRET_KEY_FILE"] = (dir_.path() / "nope").string();
  Error e = ChooseError();
  EXPECT_THAT(e.message, HasSubstr("OS_SECRET_KEY_FILE"));
  EXPECT_THAT(e.message, HasSubstr((dir_.path() / "nope").string()));

  env_["OS_SECRET_KEY_FILE"] = dir_.Write("empty", " \n");
  e = ChooseError();
  EXPECT_THAT(e.message, HasSubstr("is empty"));
}

TEST_F(CredentialsTest, MissingPiecesAreNamed) {
  env_["OS_ACCESS_KEY"] = "AK1";
  EXPECT_THAT(ChooseError().message, HasSubstr("OS_SECRET_KEY (or OS_SECRET_KEY_FILE) is missing"));

  env_.clear();
  env_["OS_SECRET_KEY"] = "sk-xyzzy";
  EXPECT_THAT(ChooseError().message, HasSubstr("OS_ACCESS_KEY (or OS_ACCESS_KEY_FILE) is missing"));

  env_.clear();
  env_["OS_USERNAME"] = "alice";
  env_["OS_PASSWORD"] = "pw-xyzzy";
  const Error e = ChooseError();
  EXPECT_THAT(e.message, HasSubstr("OS_AUTH_URL"));
  EXPECT_THAT(e.message, HasSubstr("OS_DOMAIN_NAME"));
  EXPECT_THAT(e.message, HasSubstr("--project-id or OS_PROJECT_NAME"));
  EXPECT_THAT(e.message, Not(HasSubstr("OS_USERNAME")));
}

TEST_F(CredentialsTest, NothingConfiguredListsWhatWasLookedFor) {
  const Error e = ChooseError();
  for (const char* name :
       {"OS_TOKEN", "--token-file", "OS_ACCESS_KEY", "OS_SECRET_KEY", "OS_AUTH_URL", "OS_USERNAME",
        "OS_PASSWORD", "OS_DOMAIN_NAME", "OS_PROJECT_NAME", "OS_CLOUD", "_FILE"}) {
    EXPECT_THAT(e.message, HasSubstr(name));
  }
  env_["OS_USERNAME"] = "";  // empty counts as unset
  EXPECT_THAT(ChooseError().message, HasSubstr("no credentials found"));
}

TEST_F(CredentialsTest, CloudsYamlPasswordAkSkAndGaps) {
  env_["OS_CLOUD"] = "otc";
  dir_.Write("clouds.yaml",
             "clouds:\n  otc:\n    region_name: eu-de\n    auth:\n"
             "      auth_url: https://iam.example/v3\n      username: bob\n"
             "      user_domain_name: D\n      project_name: eu-de_x\n"
             "  keys:\n    ak: AKC\n    sk: skc-xyzzy\n    auth:\n      project_id: pid\n"
             "  half:\n    ak: AKC\n");
  dir_.Write("secure.yaml", "clouds:\n  otc:\n    auth:\n      password: pw-secure-xyzzy\n");
  Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "iam-password");
  EXPECT_EQ(c->iam.user_name, "bob");
  EXPECT_EQ(c->iam.password, "pw-secure-xyzzy");
  EXPECT_EQ(c->iam.project_name, "eu-de_x");
  EXPECT_EQ(c->region, "eu-de");
  EXPECT_THAT(c->source, HasSubstr("secure.yaml"));

  project_flag_ = "flag-pid";
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->iam.project_id, "flag-pid");
  EXPECT_EQ(c->iam.project_name, "");

  env_["OS_CLOUD"] = "keys";
  project_flag_.clear();
  c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "aksk");
  EXPECT_EQ(c->secret_key, "skc-xyzzy");
  EXPECT_EQ(c->project_id, "pid");

  env_["OS_CLOUD"] = "half";
  EXPECT_THAT(ChooseError().message, HasSubstr("clouds.half sets ak but not sk"));

  fs::remove(dir_.path() / "secure.yaml");
  env_["OS_CLOUD"] = "otc";
  const Error e = ChooseError();
  EXPECT_THAT(e.message, HasSubstr("clouds.otc.auth.password"));
  EXPECT_THAT(e.message, HasSubstr((dir_.path() / "clouds.yaml").string()));

  env_["OS_CLOUD"] = "nope";
  EXPECT_THAT(ChooseError().message, HasSubstr("no cloud named \"nope\""));
}

TEST_F(CredentialsTest, CloudsYamlEntriesNamingAProjectServeThatProject) {
  env_["OS_CLOUD"] = "otc";
  project_flag_ = "pid-main";
  dir_.Write("clouds.yaml",
             "clouds:\n"
             "  otc:\n    auth:\n      auth_url: https://iam.example/v3\n"
             "      username: bob\n      password: pw-xyzzy\n      user_domain_name: D\n"
             "  second:\n    ak: AK2\n    sk: sk2-xyzzy\n    auth:\n      project_id: pid-2\n"
             "  third:\n    auth:\n      auth_url: https://iam.example/v3\n"
             "      username: carol\n      user_domain_name: D\n      project_id: pid-3\n"
             "  broken:\n    ak: AKX\n    auth:\n      project_id: pid-4\n"
             "  same:\n    ak: AK5\n    sk: sk5-xyzzy\n    auth:\n      project_id: pid-main\n"
             "  unscoped:\n    ak: AK6\n    sk: sk6-xyzzy\n");
  // carol's password lives in secure.yaml, like the chosen entry's may.
  dir_.Write("secure.yaml", "clouds:\n  third:\n    auth:\n      password: pw3-xyzzy\n");
  const Result<CredentialChoice> c = Choose();
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->method, "iam-password");
  EXPECT_EQ(c->iam.project_id, "pid-main");
  ASSERT_EQ(c->per_project.size(), 2u);
  EXPECT_EQ(c->per_project[0].project_id, "pid-2");
  EXPECT_EQ(c->per_project[0].method, "aksk");
  EXPECT_EQ(c->per_project[0].access_key, "AK2");
  EXPECT_EQ(c->per_project[1].project_id, "pid-3");
  EXPECT_EQ(c->per_project[1].method, "iam-password");
  EXPECT_EQ(c->per_project[1].iam.user_name, "carol");
  EXPECT_EQ(c->per_project[1].iam.password, "pw3-xyzzy");
  EXPECT_EQ(c->per_project[1].iam.project_id, "pid-3");
  // The incomplete entry and the one for the chosen project are named, not used.
  std::string notes;
  for (const std::string& n : c->notes) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("clouds.broken not used"));
  EXPECT_THAT(notes, HasSubstr("clouds.same not used"));
  EXPECT_THAT(notes, HasSubstr("clouds.second serves project pid-2"));
  EXPECT_THAT(notes, Not(HasSubstr("unscoped")));
  EXPECT_THAT(notes + c->Describe(), Not(HasSubstr(kSecretMarker)));
  EXPECT_THAT(c->Describe(), HasSubstr("for project pid-2: aksk"));

  // The authenticator routes by the request's project.
  testing::FakeClock clock;
  auto auth = MakeAuthenticator(*c, AuthenticatorDeps(clock));
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  OutgoingRequest r;
  r.method = "GET";
  r.host = "h";
  r.project_id = "pid-2";
  r.path = "/v1/pid-2/training-jobs";
  ASSERT_TRUE(auth.value()->Apply(r).ok());
  EXPECT_THAT(HeaderValue(r, "Authorization"), HasSubstr("Access=AK2"));
  EXPECT_EQ(HeaderValue(r, "X-Project-Id"), "pid-2");
}

TEST_F(CredentialsTest, DescribeIsSecretFree) {
  SetAll();
  for (int step = 0; step < 4; ++step) {
    const Result<CredentialChoice> c = Choose();
    ASSERT_TRUE(c.ok());
    EXPECT_THAT(c->Describe(), Not(HasSubstr(kSecretMarker))) << c->Describe();
    EXPECT_THAT(c->Describe(), HasSubstr(c->method));
    // Drop the chosen method so the next step takes the next one in order.
    const std::vector<std::vector<const char*>> chosen_vars = {
        {"OS_TOKEN"},
        {"OS_ACCESS_KEY", "OS_SECRET_KEY"},
        {"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD"},
        {}};
    for (const char* v : chosen_vars[static_cast<std::size_t>(step)]) env_.erase(v);
  }
}

TEST_F(CredentialsTest, DefaultSourcesReadCredentialsDirectory) {
  const CredentialSources s = DefaultCredentialSources(
      [](std::string_view name) -> std::optional<std::string> {
        if (name == "CREDENTIALS_DIRECTORY") return "/run/credentials/x.service";
        return std::nullopt;
      },
      std::nullopt, "pid", fs::path("/w"));
  ASSERT_TRUE(s.credentials_directory.has_value());
  EXPECT_EQ(*s.credentials_directory, fs::path("/run/credentials/x.service"));
  EXPECT_EQ(s.project_id, "pid");
  EXPECT_EQ(s.clouds_yaml.clouds_files.front(), fs::path("/w/clouds.yaml"));
}

TEST_F(CredentialsTest, MakeAuthenticatorBuildsEachMethod) {
  testing::FakeClock clock;
  const AuthenticatorDeps deps(clock);

  CredentialChoice token;
  token.method = "token";
  token.token = "tok-xyzzy";
  auto auth = MakeAuthenticator(token, deps);
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(auth.value()->Describe(), "token");
  OutgoingRequest r;
  r.host = "h";
  ASSERT_TRUE(auth.value()->Apply(r).ok());
  EXPECT_EQ(HeaderValue(r, "X-Auth-Token"), "tok-xyzzy");

  CredentialChoice file;
  file.method = "token-file";
  file.token_file = dir_.Write("token", "file-tok-xyzzy\n");
  auth = MakeAuthenticator(file, deps);
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(auth.value()->Describe(), "token-file");
  OutgoingRequest r2;
  r2.host = "h";
  ASSERT_TRUE(auth.value()->Apply(r2).ok());
  EXPECT_EQ(HeaderValue(r2, "X-Auth-Token"), "file-tok-xyzzy");

  CredentialChoice aksk;
  aksk.method = "aksk";
  aksk.access_key = "AK1";
  aksk.secret_key = "sk-xyzzy";
  auth = MakeAuthenticator(aksk, deps);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth.value()->Describe(), "aksk");
  OutgoingRequest r3;
  r3.method = "GET";
  r3.host = "h";
  r3.path = "/v1/p/training-jobs";
  ASSERT_TRUE(auth.value()->Apply(r3).ok());
  EXPECT_THAT(HeaderValue(r3, "Authorization"), HasSubstr("SDK-HMAC-SHA256 Access=AK1"));

  CredentialChoice iam;
  iam.method = "iam-password";
  iam.iam.auth_url = "https://iam.example/v3";
  iam.iam.user_name = "alice";
  iam.iam.password = "pw-xyzzy";
  iam.iam.domain_name = "D";
  iam.iam.project_name = "eu-de";
  auth = MakeAuthenticator(iam, deps);  // no network until the first Apply
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(auth.value()->Describe(), "iam-password");
  // Shutdown reaches the IAM authenticator: no token request is made after it.
  auth.value()->Cancel();
  OutgoingRequest after_cancel;
  after_cancel.host = "h";
  const Status cancelled = auth.value()->Apply(after_cancel);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, "Shutdown");

  iam.iam.auth_url = "iam.example/v3";
  auth = MakeAuthenticator(iam, deps);
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(auth.error().ToString(), Not(HasSubstr(kSecretMarker)));

  CredentialChoice unknown;
  unknown.method = "kerberos";
  EXPECT_FALSE(MakeAuthenticator(unknown, deps).ok());
}

}  // namespace
}  // namespace mactl
