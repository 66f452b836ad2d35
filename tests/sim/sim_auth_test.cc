// The simulator's credential checks over loopback (in-process server on 127.0.0.1:0 with a
// FakeClock): IAM token issuing and expiry, AK/SK signature verification, the fixed token,
// the three together, HTTPS, and the flags that configure them.

#include "sim/sim_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "controller/auth/aksk_signer.h"
#include "controller/auth/iam_token_authenticator.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "httplib.h"
#include "integration/harness.h"
#include "nlohmann/json.hpp"
#include "sim/sim_config.h"
#include "sim/sim_server.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kProject = "proj0000000000000000000000000001";
constexpr const char* kOtherProject = "proj0000000000000000000000000002";
constexpr const char* kPassword = "pa:ss-w0rd-SECRET";
constexpr const char* kAccessKey = "AKSIMTEST0001";
constexpr const char* kSecretKey = "sk-SECRET-0123456789abcdef";
constexpr const char* kFixedToken = "fixed-token-SECRET";

class NoSleep final : public Sleeper {
 public:
  void SleepFor(Duration) override {}
};

class SimAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.AddJob(kProject, {10, "bert", "nlp", "0", {{10, 8, ""}}}));
    ASSERT_TRUE(state_.AddJob(kOtherProject, {20, "other", "", "0", {{1, 8, ""}}}));
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start(SimAuthConfig config, SimServerOptions options = {}) {
    auth_ = std::make_unique<SimAuth>(std::move(config), clock_, random_);
    options.project_names[kProject] = "eu-de";
    server_ = std::make_unique<SimServer>(state_, faults_, log_, *auth_, clock_, sleeper_, options);
    auto port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().ToString();
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(5, 0);
  }

  static SimAuthConfig IamConfig() {
    SimAuthConfig c;
    c.iam_users = {{"alice", kPassword, "acme"}};
    c.iam_token_ttl = 1h;
    return c;
  }
  static SimAuthConfig AkSkConfig() {
    SimAuthConfig c;
    c.access_keys = {{kAccessKey, kSecretKey}};
    return c;
  }

  static std::string PasswordBody(const std::string& password, const std::string& project_id,
                                  const std::string& project_name = "") {
    IamPasswordOptions o;
    o.user_name = "alice";
    o.password = password;
    o.domain_name = "acme";
    o.project_id = project_id;
    o.project_name = project_name;
    return BuildIamPasswordRequestBody(o);
  }

  httplib::Result PostTokens(const std::string& body,
                             const std::string& content_type = "application/json;charset=utf8") {
    return client_->Post("/v3/auth/tokens?nocatalog=true", body, content_type.c_str());
  }

  std::string IssueToken(const std::string& project = kProject) {
    auto res = PostTokens(PasswordBody(kPassword, project));
    if (!res || res->status != 201) return "";
    return res->get_header_value("X-Subject-Token");
  }

  httplib::Result GetWithToken(const std::string& token, const std::string& project = kProject) {
    return client_->Get(("/v1/" + project + "/training-jobs").c_str(), {{"X-Auth-Token", token}});
  }

  // Signs like the controller's AK/SK authenticator, with the signer's functions.
  httplib::Headers Signed(const std::string& method, const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& query,
                          const std::string& secret_key = kSecretKey,
                          const std::string& access_key = kAccessKey,
                          std::optional<WallTime> at = std::nullopt) {
    SigningInput in;
    in.method = method;
    in.host = "127.0.0.1:" + std::to_string(port_);
    in.path = path;
    in.query = query;
    in.sdk_date = FormatSdkDate(at.value_or(clock_.WallNow()));
    in.headers = {{"Host", in.host},
                  {"X-Sdk-Date", in.sdk_date},
                  {"Content-Type", "application/json"},
                  {"X-Project-Id", kProject}};
    std::string signed_headers;
    const std::string canonical = CanonicalRequest(in, &signed_headers);
    const std::string signature = Sign(StringToSign(canonical, in.sdk_date), secret_key);
    last_signature_ = signature;
    httplib::Headers headers(in.headers.begin(), in.headers.end());
    headers.emplace("Authorization", AuthorizationHeader(access_key, signed_headers, signature));
    return headers;
  }

  httplib::Result SignedList(httplib::Headers headers, const std::string& project = kProject) {
    return client_->Get(("/v1/" + project + "/training-jobs?per_page=5&page=1").c_str(), headers);
  }

  testing::FakeClock clock_;
  testing::FakeRandom random_{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.05}};
  SimState state_{clock_, 3s};
  FaultInjector faults_{random_};
  RequestLog log_;
  NoSleep sleeper_;
  std::unique_ptr<SimAuth> auth_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
  std::string last_signature_;
};

TEST_F(SimAuthTest, IssuesProjectScopedTokenInIamFormat) {
  Start(IamConfig());
  const WallTime now = clock_.WallNow();
  auto res = PostTokens(PasswordBody(kPassword, kProject));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  const std::string token = res->get_header_value("X-Subject-Token");
  EXPECT_GE(token.size(), 32u);
  const json body = json::parse(res->body);
  const json& t = body["token"];
  EXPECT_EQ(t["expires_at"], FormatIamTime(now + 1h));
  EXPECT_EQ(t["issued_at"], FormatIamTime(now));
  // The controller's own parser reads the expiry back exactly.
  auto parsed = ParseIamExpiresAt(t["expires_at"].get<std::string>());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, now + 1h);
  EXPECT_EQ(t["methods"], json::array({"password"}));
  EXPECT_EQ(t["project"]["id"], kProject);
  EXPECT_EQ(t["project"]["name"], "eu-de");
  EXPECT_EQ(t["project"]["domain"]["name"], "acme");
  EXPECT_FALSE(t.contains("catalog"));  // ?nocatalog=true
  EXPECT_THAT(res->body, Not(HasSubstr(kPassword)));

  auto api = GetWithToken(token);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200) << api->body;

  // A second request gets a different token; both stay valid; both are logged as "auth".
  const std::string second = IssueToken();
  EXPECT_NE(second, token);
  EXPECT_EQ(GetWithToken(token)->status, 200);
  EXPECT_EQ(auth_->IssuedTokenCount(), 2);
  int auth_records = 0;
  for (const RequestRecord& r : log_.Snapshot()) {
    if (r.operation == "auth") {
      ++auth_records;
      EXPECT_EQ(r.status, 201);
      EXPECT_EQ(r.path, "/v3/auth/tokens");
    }
  }
  EXPECT_EQ(auth_records, 2);
}

TEST_F(SimAuthTest, FormatsIamTimeWithMicroseconds) {
  const WallTime t = WallTime(std::chrono::seconds(1700000000)) + std::chrono::microseconds(42);
  EXPECT_EQ(FormatIamTime(t), "2023-11-14T22:13:20.000042Z");
}

TEST_F(SimAuthTest, ScopesByProjectNameAndPlainJsonContentType) {
  Start(IamConfig());
  auto res =
      client_->Post("/v3/auth/tokens", PasswordBody(kPassword, "", "eu-de"), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["token"]["project"]["id"], kProject);
  EXPECT_TRUE(body["token"].contains("catalog"));
  EXPECT_EQ(GetWithToken(res->get_header_value("X-Subject-Token"))->status, 200);
}

TEST_F(SimAuthTest, RefusesWrongPasswordUserOrDomainWithoutEchoingThePassword) {
  Start(IamConfig());
  for (const auto& [user, password, domain] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"alice", "wrong-SECRET-guess", "acme"},
           {"bob", kPassword, "acme"},
           {"alice", kPassword, "other"}}) {
    IamPasswordOptions o;
    o.user_name = user;
    o.password = password;
    o.domain_name = domain;
    o.project_id = kProject;
    auto res = PostTokens(BuildIamPasswordRequestBody(o));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << user << " " << domain;
    EXPECT_FALSE(res->has_header("X-Subject-Token"));
    const json body = json::parse(res->body, nullptr, false);
    EXPECT_EQ(body["error"]["code"], 401) << res->body;
    EXPECT_THAT(res->body, Not(HasSubstr(password)));
  }
  EXPECT_EQ(auth_->IssuedTokenCount(), 0);
}

TEST_F(SimAuthTest, RefusesBadScopeBodyAndContentType) {
  Start(IamConfig());
  EXPECT_EQ(PostTokens(PasswordBody(kPassword, "no-such-project"))->status, 401);
  EXPECT_EQ(PostTokens(PasswordBody(kPassword, "", "no-such-name"))->status, 401);
  json unscoped = json::parse(PasswordBody(kPassword, kProject));
  unscoped["auth"].erase("scope");
  EXPECT_EQ(PostTokens(unscoped.dump())->status, 400);
  EXPECT_EQ(PostTokens("{not json")->status, 400);
  json token_method = json::parse(PasswordBody(kPassword, kProject));
  token_method["auth"]["identity"]["methods"] = json::array({"token"});
  EXPECT_EQ(PostTokens(token_method.dump())->status, 400);
  EXPECT_EQ(PostTokens(PasswordBody(kPassword, kProject), "text/plain")->status, 415);
  EXPECT_EQ(auth_->IssuedTokenCount(), 0);
}

TEST_F(SimAuthTest, TokenExpiresOnTheSimulatorsClock) {
  Start(IamConfig());
  const std::string token = IssueToken();
  ASSERT_FALSE(token.empty());
  clock_.Advance(1h - 1s);
  EXPECT_EQ(GetWithToken(token)->status, 200);
  clock_.Advance(1s);
  auto res = GetWithToken(token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.0202");
  EXPECT_THAT(res->body, Not(HasSubstr(token)));
  // A fresh token works again.
  EXPECT_EQ(GetWithToken(IssueToken())->status, 200);
}

TEST_F(SimAuthTest, TokenForAnotherProjectOrUnknownTokenIsRefused) {
  Start(IamConfig());
  const std::string token = IssueToken(kOtherProject);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(GetWithToken(token, kOtherProject)->status, 200);
  auto res = GetWithToken(token, kProject);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.0210");
  res = GetWithToken("MIIsimnotissued");
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.0203");
  res = client_->Get((std::string("/v1/") + kProject + "/training-jobs").c_str());
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error_code"], "ModelArts.0201");
}

TEST_F(SimAuthTest, AcceptsCorrectSignaturesOnGetAndBodylessPost) {
  Start(AkSkConfig());
  auto res = SignedList(Signed("GET", std::string("/v1/") + kProject + "/training-jobs",
                               {{"per_page", "5"}, {"page", "1"}}));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  const std::string stop_path =
      std::string("/v1/") + kProject + "/training-jobs/10/versions/10/stop";
  auto stop = client_->Post(stop_path.c_str(), Signed("POST", stop_path, {}), "", "");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200) << stop->body;
  EXPECT_EQ(state_.GetVersion(kProject, 10, 10)->stop_calls, 1);
}

TEST_F(SimAuthTest, RefusesBadSignaturesWithoutEchoingThem) {
  Start(AkSkConfig());
  const std::string path = std::string("/v1/") + kProject + "/training-jobs";
  const std::vector<std::pair<std::string, std::string>> query = {{"per_page", "5"}, {"page", "1"}};
  struct Case {
    const char* what;
    httplib::Headers headers;
  };
  std::vector<Case> cases;
  cases.push_back({"wrong secret", Signed("GET", path, query, "sk-WRONG-0000")});
  cases.push_back({"unknown access key", Signed("GET", path, query, kSecretKey, "AKUNKNOWN")});
  cases.push_back({"other path signed", Signed("GET", path + "/10/versions", query)});
  cases.push_back({"other query signed", Signed("GET", path, {{"per_page", "6"}, {"page", "1"}})});
  cases.push_back(
      {"16 min old", Signed("GET", path, query, kSecretKey, kAccessKey, clock_.WallNow() - 16min)});
  cases.push_back({"16 min ahead",
                   Signed("GET", path, query, kSecretKey, kAccessKey, clock_.WallNow() + 16min)});
  httplib::Headers no_date = Signed("GET", path, query);
  no_date.erase("X-Sdk-Date");
  cases.push_back({"no X-Sdk-Date", no_date});
  httplib::Headers garbled = Signed("GET", path, query);
  garbled.erase("Authorization");
  garbled.emplace("Authorization", "SDK-HMAC-SHA256 nonsense");
  cases.push_back({"malformed header", garbled});
  for (const Case& c : cases) {
    const std::string signature = last_signature_;
    auto res = SignedList(c.headers);
    ASSERT_TRUE(res) << c.what;
    EXPECT_EQ(res->status, 401) << c.what;
    const json body = json::parse(res->body, nullptr, false);
    EXPECT_EQ(body["error_code"], "APIGW.0301") << c.what;
    EXPECT_THAT(res->body, Not(HasSubstr(kSecretKey))) << c.what;
    EXPECT_THAT(res->body, Not(HasSubstr(kAccessKey))) << c.what;
    const auto authorization = c.headers.find("Authorization");
    const auto parsed = ParseAuthorizationHeader(authorization->second);
    if (parsed) {
      EXPECT_THAT(res->body, Not(HasSubstr(parsed->signature))) << c.what;
    }
  }
  // Within the 15-minute window a signature made on a skewed clock still passes.
  EXPECT_EQ(SignedList(Signed("GET", path, query, kSecretKey, kAccessKey, clock_.WallNow() - 14min))
                ->status,
            200);
  // No credentials at all.
  EXPECT_EQ(client_->Get(path.c_str())->status, 401);
}

TEST_F(SimAuthTest, AnyConfiguredMethodAcceptsARequest) {
  SimAuthConfig config = IamConfig();
  config.token = kFixedToken;
  config.access_keys = AkSkConfig().access_keys;
  Start(config);
  EXPECT_EQ(auth_->Describe(), "token, iam (1 user(s)), aksk (1 key(s))");
  EXPECT_EQ(GetWithToken(kFixedToken)->status, 200);
  EXPECT_EQ(GetWithToken(IssueToken())->status, 200);
  const std::string path = std::string("/v1/") + kProject + "/training-jobs";
  EXPECT_EQ(SignedList(Signed("GET", path, {{"per_page", "5"}, {"page", "1"}}))->status, 200);
  EXPECT_EQ(GetWithToken("not-a-token")->status, 401);
  EXPECT_EQ(SignedList(Signed("GET", path, {{"per_page", "5"}, {"page", "1"}}, "bad"))->status,
            401);
  EXPECT_EQ(client_->Get(path.c_str())->status, 401);
}

TEST_F(SimAuthTest, NothingConfiguredAllowsEverythingAndIamIsAbsent) {
  Start(SimAuthConfig{});
  EXPECT_FALSE(auth_->enabled());
  EXPECT_EQ(client_->Get((std::string("/v1/") + kProject + "/training-jobs").c_str())->status, 200);
  EXPECT_EQ(PostTokens(PasswordBody(kPassword, kProject))->status, 404);
}

TEST_F(SimAuthTest, ServesHttpsWithTheGivenCertificate) {
  integration::TempDir dir;
  const integration::TestPki pki = integration::MakeTestPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok) << pki.log;
  SimServerOptions options;
  options.tls_cert_file = pki.server_cert.string();
  options.tls_key_file = pki.server_key.string();
  Start(IamConfig(), options);
  httplib::SSLClient tls("127.0.0.1", port_);
  tls.set_ca_cert_path(pki.ca_cert.c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_read_timeout(5, 0);
  auto res = tls.Post("/v3/auth/tokens", PasswordBody(kPassword, kProject), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 201);
  auto api = tls.Get((std::string("/v1/") + kProject + "/training-jobs").c_str(),
                     {{"X-Auth-Token", res->get_header_value("X-Subject-Token")}});
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);
  // Plain HTTP on the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", port_);
  plain.set_read_timeout(2, 0);
  auto p = plain.Get("/_sim/versions");
  EXPECT_TRUE(!p || p->status != 200);
}

TEST_F(SimAuthTest, UnloadableCertificateFailsStart) {
  integration::TempDir dir;
  integration::WriteFile(dir.path() / "cert.pem", "not a certificate\n");
  SimServerOptions options;
  options.tls_cert_file = (dir.path() / "cert.pem").string();
  options.tls_key_file = (dir.path() / "missing.key").string();
  SimAuth auth(SimAuthConfig{}, clock_, random_);
  SimServer server(state_, faults_, log_, auth, clock_, sleeper_, options);
  auto port = server.Start("127.0.0.1", 0);
  ASSERT_FALSE(port);
  EXPECT_EQ(port.error().code, "Sim.Tls");
}

TEST(SimAuthFlags, ParsesCredentialFlags) {
  auto config = ParseSimFlags({"--iam-user", "alice:pa:ss:acme", "--iam-user=bob:pw:acme",
                               "--iam-token-ttl", "4s", "--aksk", "AK1:SK1", "--tls-cert", "c.pem",
                               "--tls-key", "k.pem", "--project-name", "eu-nl"});
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->iam_users.size(), 2u);
  EXPECT_EQ(config->iam_users[0].name, "alice");
  EXPECT_EQ(config->iam_users[0].password, "pa:ss");
  EXPECT_EQ(config->iam_users[0].domain, "acme");
  EXPECT_EQ(config->iam_token_ttl, 4s);
  ASSERT_EQ(config->access_keys.size(), 1u);
  EXPECT_EQ(config->access_keys[0].secret_key, "SK1");
  EXPECT_EQ(config->tls_cert_file, "c.pem");
  EXPECT_EQ(config->project_name, "eu-nl");
  EXPECT_EQ(ParseSimFlags({})->iam_token_ttl, 24h);
}

TEST(SimAuthFlags, RejectsBadCredentialFlagsWithoutEchoingSecrets) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--iam-user", "alice:SECRETPW"},
                                             {"--iam-user", ":SECRETPW:acme"},
                                             {"--aksk", "AK1:"},
                                             {"--aksk", "SECRETONLY"},
                                             {"--iam-token-ttl", "0s"},
                                             {"--tls-cert", "c.pem"}}) {
    auto config = ParseSimFlags(args);
    ASSERT_FALSE(config) << args[0] << " " << args[1];
    EXPECT_THAT(config.error().message, Not(HasSubstr("SECRET"))) << config.error().message;
  }
}

TEST(SimAuthFlags, ReadsUsersAndKeysFromFiles) {
  integration::TempDir dir;
  const auto users = dir.path() / "users";
  const auto keys = dir.path() / "keys";
  integration::WriteFile(users, "# comment\nalice:pw1:acme\n\nbob:pw2:acme  \n");
  integration::WriteFile(keys, "AK1:SK1\r\n");
  auto config = ParseSimFlags({"--iam-users-file", users.string(), "--aksk-file", keys.string(),
                               "--iam-user", "carol:pw3:acme", "--token", "t"});
  ASSERT_TRUE(config);
  auto auth = ResolveAuthConfig(*config);
  ASSERT_TRUE(auth) << auth.error().message;
  ASSERT_EQ(auth->iam_users.size(), 3u);
  EXPECT_EQ(auth->iam_users[0].name, "carol");
  EXPECT_EQ(auth->iam_users[2].name, "bob");
  EXPECT_EQ(auth->iam_users[2].password, "pw2");
  ASSERT_EQ(auth->access_keys.size(), 1u);
  EXPECT_EQ(auth->access_keys[0].secret_key, "SK1");
  EXPECT_EQ(auth->token, "t");

  integration::WriteFile(users, "alice:SECRETPW\n");
  auto bad = ResolveAuthConfig(*ParseSimFlags({"--iam-users-file", users.string()}));
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr(":1:"));
  EXPECT_THAT(bad.error().message, Not(HasSubstr("SECRET")));
  integration::WriteFile(keys, "# nothing\n");
  EXPECT_FALSE(ResolveAuthConfig(*ParseSimFlags({"--aksk-file", keys.string()})));
  EXPECT_FALSE(ResolveAuthConfig(*ParseSimFlags({"--aksk-file", (dir.path() / "no").string()})));
}

}  // namespace
}  // namespace mactl::sim
