// The simulator's credential checks over loopback (in-process server on 127.0.0.1:0 with a
// FakeClock): IAM token issuing and expiry, AK/SK signature verification (of requests signed
// by the vendor's own signer, tests/oracle/), the fixed token, the three together, HTTPS, and
// the flags that configure them. Nothing here uses the controller's code: the simulator is
// its test peer.

#include "sim/sim_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/fake_random.h"
#include "httplib.h"
#include "integration/harness.h"
#include "nlohmann/json.hpp"
#include "oracle/aksk_vectors.h"
#include "sim/aksk_verifier.h"
#include "sim/sim_config.h"
#include "sim/sim_server.h"

namespace mactl::sim {
namespace {

using nlohmann::json;
using testing::AkSkVector;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kProject = "proj0000000000000000000000000001";
constexpr const char* kOtherProject = "proj0000000000000000000000000002";
constexpr const char* kPassword = "pa:ss-w0rd-SECRET";
constexpr const char* kFixedToken = "fixed-token-SECRET";
constexpr const char* kOracleProject = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

class NoSleep final : public Sleeper {
 public:
  void SleepFor(Duration) override {}
};

class SimAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.AddJob(kProject, {10, "bert", "nlp", "0", {{10, 8, ""}}}));
    ASSERT_TRUE(state_.AddJob(kOtherProject, {20, "other", "", "0", {{1, 8, ""}}}));
    // The jobs the vendor-signed requests name.
    ASSERT_TRUE(state_.AddJob(kOracleProject, {10, "signed", "", "0", {{3, 8, ""}}}));
    ASSERT_TRUE(state_.AddJob(kOracleProject, {123, "detail", "", "0", {{456, 8, ""}}}));
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
  // The keys of the vendor-signed requests, or `secret_key` for the same access key.
  static SimAuthConfig AkSkConfig(const std::string& secret_key = "") {
    const AkSkVector v = testing::FindAkSkVector("list with paging");
    SimAuthConfig c;
    c.access_keys = {{v.access_key, secret_key.empty() ? v.secret_key : secret_key}};
    return c;
  }

  // The body of POST /v3/auth/tokens as IAM's API reference writes it.
  static std::string PasswordBody(const std::string& password, const std::string& project_id,
                                  const std::string& project_name = "",
                                  const std::string& user = "alice",
                                  const std::string& domain = "acme") {
    json scope = project_id.empty() ? json{{"name", project_name}} : json{{"id", project_id}};
    return json{
        {"auth",
         {{"identity",
           {{"methods", {"password"}},
            {"password",
             {{"user",
               {{"name", user}, {"password", password}, {"domain", {{"name", domain}}}}}}}}},
          {"scope", {{"project", scope}}}}}}
        .dump();
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

  // Moves the simulator's clock to `t` (FakeClock only moves forward).
  void SetWallClock(WallTime t) {
    ASSERT_GE(t, clock_.WallNow());
    clock_.Advance(std::chrono::duration_cast<Duration>(t - clock_.WallNow()));
  }

  // Sends a vendor-signed request exactly as signed (path and query not re-encoded), after
  // `tamper` has had its say over the headers and body.
  httplib::Result Send(const AkSkVector& v,
                       const std::function<void(httplib::Request&)>& tamper = nullptr) {
    httplib::Request req;
    req.method = v.method;
    req.path = v.Target();
    req.headers = httplib::Headers(v.headers.begin(), v.headers.end());
    req.headers.emplace("Authorization", v.authorization);
    req.body = v.body;
    if (tamper) tamper(req);
    client_->set_url_encode(false);
    return client_->send(req);
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
    auto res = PostTokens(PasswordBody(password, kProject, "", user, domain));
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

TEST_F(SimAuthTest, AcceptsEveryVendorSignedRequestOverTheWire) {
  const std::vector<AkSkVector> vectors = testing::LoadAkSkVectors();
  ASSERT_FALSE(vectors.empty());
  SetWallClock(vectors.front().signed_at);
  Start(AkSkConfig());
  for (const AkSkVector& v : vectors) {
    auto res = Send(v);
    ASSERT_TRUE(res) << v.name;
    // Past the signature check every request gets the API's answer: 200 for the documented
    // calls, 404 APIGW.0101 for paths the simulator does not serve; never 401.
    EXPECT_NE(res->status, 401) << v.name << ": " << res->body;
  }
  EXPECT_EQ(Send(testing::FindAkSkVector("list with paging"))->status, 200);
  EXPECT_EQ(Send(testing::FindAkSkVector("version detail"))->status, 200);
  EXPECT_EQ(state_.GetVersion(kOracleProject, 10, 3)->stops_accepted, 1);
}

TEST_F(SimAuthTest, RefusesTamperedVendorSignaturesWithoutEchoingThem) {
  const AkSkVector list = testing::FindAkSkVector("list with paging");
  SetWallClock(list.signed_at);
  Start(AkSkConfig());
  const auto set = [](const std::string& name, const std::string& value) {
    return [name, value](httplib::Request& r) {
      r.headers.erase(name);
      r.headers.emplace(name, value);
    };
  };
  struct Case {
    const char* what;
    AkSkVector vector;
    std::function<void(httplib::Request&)> tamper;
  };
  AkSkVector other_query = list;
  other_query.query_string = "per_page=11&page=1";
  AkSkVector other_path = list;
  other_path.path += "/10/versions";
  AkSkVector other_method = list;
  other_method.method = "POST";
  std::string unknown_key = list.authorization;
  unknown_key.replace(unknown_key.find(list.access_key), list.access_key.size(), "AKUNKNOWN");
  const std::vector<Case> cases = {
      {"other query", other_query, nullptr},
      {"other path", other_path, nullptr},
      {"other method", other_method, nullptr},
      {"other project header", list, set("X-Project-Id", "ffffffffffffffffffffffffffffffff")},
      {"other date", list, set("X-Sdk-Date", "20261128T174801Z")},
      {"other body", testing::FindAkSkVector("JSON body"),
       [](httplib::Request& r) { r.body += " "; }},
      {"unknown access key", list, set("Authorization", unknown_key)},
      {"no X-Sdk-Date", list, [](httplib::Request& r) { r.headers.erase("X-Sdk-Date"); }},
      {"malformed header", list, set("Authorization", "SDK-HMAC-SHA256 nonsense")},
  };
  const std::string signature = list.authorization.substr(list.authorization.rfind('=') + 1);
  for (const Case& c : cases) {
    auto res = Send(c.vector, c.tamper);
    ASSERT_TRUE(res) << c.what;
    EXPECT_EQ(res->status, 401) << c.what;
    const json body = json::parse(res->body, nullptr, false);
    EXPECT_EQ(body["error_code"], "APIGW.0301") << c.what;
    EXPECT_THAT(res->body, Not(HasSubstr(list.secret_key))) << c.what;
    EXPECT_THAT(res->body, Not(HasSubstr(list.access_key))) << c.what;
    EXPECT_THAT(res->body, Not(HasSubstr(signature))) << c.what;
  }
  // No credentials at all.
  EXPECT_EQ(client_->Get(list.path.c_str())->status, 401);
}

TEST_F(SimAuthTest, RefusesAVendorSignatureUnderAnotherSecret) {
  const AkSkVector list = testing::FindAkSkVector("list with paging");
  SetWallClock(list.signed_at);
  Start(AkSkConfig("sk-WRONG-0000"));
  auto res = Send(list);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error_code"], "APIGW.0301");
}

TEST_F(SimAuthTest, AcceptsSignaturesWithinFifteenMinutesOfItsClock) {
  const AkSkVector list = testing::FindAkSkVector("list with paging");
  SetWallClock(list.signed_at - 16min);
  Start(AkSkConfig());
  EXPECT_EQ(Send(list)->status, 401);  // signed 16 minutes ahead of the simulator's clock
  clock_.Advance(2min);
  EXPECT_EQ(Send(list)->status, 200);  // 14 minutes ahead
  clock_.Advance(28min);
  EXPECT_EQ(Send(list)->status, 200);  // 14 minutes old
  clock_.Advance(2min);
  auto res = Send(list);  // 16 minutes old
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error_code"], "APIGW.0301");
}

TEST_F(SimAuthTest, AnyConfiguredMethodAcceptsARequest) {
  const AkSkVector list = testing::FindAkSkVector("list with paging");
  SetWallClock(list.signed_at);
  SimAuthConfig config = IamConfig();
  config.token = kFixedToken;
  config.access_keys = AkSkConfig().access_keys;
  Start(config);
  EXPECT_EQ(auth_->Describe(), "token, iam (1 user(s)), aksk (1 key(s))");
  EXPECT_EQ(GetWithToken(kFixedToken)->status, 200);
  EXPECT_EQ(GetWithToken(IssueToken())->status, 200);
  EXPECT_EQ(Send(list)->status, 200);
  EXPECT_EQ(GetWithToken("not-a-token")->status, 401);
  AkSkVector tampered = list;
  tampered.query_string = "per_page=11&page=1";
  EXPECT_EQ(Send(tampered)->status, 401);
  EXPECT_EQ(client_->Get((std::string("/v1/") + kProject + "/training-jobs").c_str())->status, 401);
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
