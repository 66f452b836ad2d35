#include "controller/auth/iam_token_authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TokenOf(const OutgoingRequest& r) {
  std::string found;
  int count = 0;
  for (const auto& [name, value] : r.headers) {
    if (name == "X-Auth-Token") {
      found = value;
      ++count;
    }
  }
  return count == 1 ? found : "<" + std::to_string(count) + " headers>";
}

// Issues "tok-1", "tok-2", ... valid for `lifetime`, or the queued failures first.
// Can hold Issue() until the test releases it.
class FakeIssuer final : public IamTokenIssuer {
 public:
  explicit FakeIssuer(const Clock& clock) : clock_(clock) {}

  Result<IssuedToken> Issue(const std::string& project_id) override {
    std::unique_lock lock(mu_);
    ++calls_;
    projects_.push_back(project_id);
    entered_.notify_all();
    released_cv_.wait(lock, [this] { return !hold_; });
    if (!failures_.empty()) {
      Error e = failures_.front();
      failures_.pop_front();
      return e;
    }
    if (fail_always_) return MakeError(ErrorClass::kRetryable, "IAM.503", "unavailable", 503);
    return IssuedToken{"tok-" + std::to_string(++issued_), clock_.WallNow() + lifetime_};
  }

  void Cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  bool cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::vector<std::string> projects() const {
    std::lock_guard lock(mu_);
    return projects_;
  }
  void set_lifetime(Duration d) {
    std::lock_guard lock(mu_);
    lifetime_ = std::chrono::duration_cast<WallTime::duration>(d);
  }
  void set_fail_always(bool f) {
    std::lock_guard lock(mu_);
    fail_always_ = f;
  }
  void QueueFailure(Error e) {
    std::lock_guard lock(mu_);
    failures_.push_back(std::move(e));
  }
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void WaitUntilEntered(int calls) {
    std::unique_lock lock(mu_);
    entered_.wait(lock, [&] { return calls_ >= calls; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    released_cv_.notify_all();
  }

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable entered_, released_cv_;
  int calls_ = 0;                            // guarded by mu_
  int issued_ = 0;                           // guarded by mu_
  WallTime::duration lifetime_ = hours(24);  // guarded by mu_
  bool fail_always_ = false;                 // guarded by mu_
  bool hold_ = false;                        // guarded by mu_
  bool cancelled_ = false;                   // guarded by mu_
  std::deque<Error> failures_;               // guarded by mu_
  std::vector<std::string> projects_;        // guarded by mu_: the scope of each Issue
};

// A request as Apply left it carrying `token`, for OnUnauthorized.
OutgoingRequest Rejected(const std::string& token, const std::string& project = "") {
  OutgoingRequest r;
  r.project_id = project;
  r.headers.emplace_back("X-Auth-Token", token);
  return r;
}

class IamTokenAuthenticatorTest : public ::testing::Test {
 protected:
  std::string ApplyOk(const std::string& project = "") {
    OutgoingRequest r;
    r.project_id = project;
    const Status s = auth_.Apply(r);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().ToString());
    return TokenOf(r);
  }

  testing::FakeClock clock_;
  FakeIssuer issuer_{clock_};
  IamTokenAuthenticator auth_{issuer_, clock_, hours(1), minutes(1)};
};

TEST_F(IamTokenAuthenticatorTest, CachesAcrossCalls) {
  EXPECT_EQ(auth_.Describe(), "iam-password");
  for (int i = 0; i < 1000; ++i) {
    OutgoingRequest r;
    ASSERT_TRUE(auth_.Apply(r).ok());
    ASSERT_EQ(TokenOf(r), "tok-1");
  }
  EXPECT_EQ(issuer_.calls(), 1);
}

TEST_F(IamTokenAuthenticatorTest, ReplacesAnEarlierTokenHeader) {
  OutgoingRequest r;
  r.headers.emplace_back("X-Auth-Token", "old");
  ASSERT_TRUE(auth_.Apply(r).ok());
  EXPECT_EQ(TokenOf(r), "tok-1");
}

TEST_F(IamTokenAuthenticatorTest, RenewsAheadOfExpiry) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  clock_.Advance(hours(22) + minutes(59));
  EXPECT_EQ(ApplyOk(), "tok-1");  // 61 min left: not yet
  clock_.Advance(minutes(2));
  EXPECT_EQ(ApplyOk(), "tok-2");  // 59 min left: renewed before it expires
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(IamTokenAuthenticatorTest, ShortLivedTokenRenewsAtHalfLife) {
  issuer_.set_lifetime(minutes(30));  // shorter than renew_before
  EXPECT_EQ(ApplyOk(), "tok-1");
  clock_.Advance(minutes(14));
  EXPECT_EQ(ApplyOk(), "tok-1");
  clock_.Advance(minutes(2));
  EXPECT_EQ(ApplyOk(), "tok-2");
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(IamTokenAuthenticatorTest, RenewsAtOnceAfterUnauthorized) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  auth_.OnUnauthorized(Rejected("tok-1"));
  EXPECT_EQ(ApplyOk(), "tok-2");
  EXPECT_EQ(ApplyOk(), "tok-2");
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(IamTokenAuthenticatorTest, LateUnauthorizedForAReplacedTokenIsIgnored) {
  EXPECT_EQ(ApplyOk(), "tok-1");            // a slow request sends tok-1 ...
  EXPECT_EQ(ApplyOk(), "tok-1");            // ... and so does a fast one,
  auth_.OnUnauthorized(Rejected("tok-1"));  // whose rejection renews
  EXPECT_EQ(ApplyOk(), "tok-2");
  auth_.OnUnauthorized(Rejected("tok-1"));  // the slow one's rejection arrives late
  EXPECT_EQ(ApplyOk(), "tok-2");            // and does not throw tok-2 away
  EXPECT_EQ(issuer_.calls(), 2);
}

TEST_F(IamTokenAuthenticatorTest, EachProjectHasItsOwnScopedTokenCachedAndRenewedAlone) {
  EXPECT_EQ(ApplyOk("proj-a"), "tok-1");
  EXPECT_EQ(ApplyOk("proj-b"), "tok-2");
  EXPECT_EQ(ApplyOk("proj-a"), "tok-1");
  EXPECT_EQ(ApplyOk("proj-b"), "tok-2");
  EXPECT_EQ(issuer_.projects(), (std::vector<std::string>{"proj-a", "proj-b"}));
  // A rejection names its project: only that project's token is renewed.
  auth_.OnUnauthorized(Rejected("tok-2", "proj-b"));
  EXPECT_EQ(ApplyOk("proj-a"), "tok-1");
  EXPECT_EQ(ApplyOk("proj-b"), "tok-3");
  // A token of one project presented as rejected for another drops nothing.
  auth_.OnUnauthorized(Rejected("tok-3", "proj-a"));
  EXPECT_EQ(ApplyOk("proj-a"), "tok-1");
  EXPECT_EQ(issuer_.projects(), (std::vector<std::string>{"proj-a", "proj-b", "proj-b"}));
}

TEST_F(IamTokenAuthenticatorTest, WaitersGiveUpAfterTheBoundInsteadOfWaitingForever) {
  IamTokenAuthenticator auth(issuer_, clock_, hours(1), minutes(1), seconds(70));
  issuer_.Hold();  // an IAM endpoint that never finishes answering
  std::thread renewer([&] {
    OutgoingRequest r;
    EXPECT_TRUE(auth.Apply(r).ok());
  });
  issuer_.WaitUntilEntered(1);
  Status waited = OkStatus();
  std::thread waiter([&] {
    OutgoingRequest r;
    waited = auth.Apply(r);
  });
  clock_.BlockUntilWaiters(1);
  EXPECT_EQ(auth.WaitingForRenewalForTest(), 1);
  clock_.Advance(seconds(69));
  EXPECT_EQ(auth.WaitingForRenewalForTest(), 1);  // still inside the bound
  clock_.Advance(seconds(1));
  waiter.join();
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, "Auth.RenewalWait");
  EXPECT_TRUE(waited.error().retryable());
  issuer_.Release();
  renewer.join();
  EXPECT_EQ(issuer_.calls(), 1);
}

TEST_F(IamTokenAuthenticatorTest, ConcurrentCallersShareOneRenewal) {
  issuer_.Hold();
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(8);
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      OutgoingRequest r;
      if (!auth_.Apply(r).ok()) ++failures;
      tokens[i] = TokenOf(r);
    });
  }
  issuer_.WaitUntilEntered(1);
  // Seven callers block on the running renewal; spin (no sleep) until they all do.
  while (auth_.WaitingForRenewalForTest() < 7 && issuer_.calls() == 1) std::this_thread::yield();
  issuer_.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(issuer_.calls(), 1);
  EXPECT_EQ(failures.load(), 0);
  for (const auto& t : tokens) EXPECT_EQ(t, "tok-1");
}

TEST_F(IamTokenAuthenticatorTest, WaitersShareAFailedRenewal) {
  issuer_.Hold();
  issuer_.QueueFailure(MakeError(ErrorClass::kTerminal, "IAM.401", "rejected", 401));
  std::vector<std::thread> threads;
  std::atomic<int> rejected{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      OutgoingRequest r;
      const Status s = auth_.Apply(r);
      if (!s.ok() && s.error().code == "IAM.401") ++rejected;
    });
  }
  issuer_.WaitUntilEntered(1);
  while (auth_.WaitingForRenewalForTest() < 3 && issuer_.calls() == 1) std::this_thread::yield();
  issuer_.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(issuer_.calls(), 1);
  EXPECT_EQ(rejected.load(), 4);
}

TEST_F(IamTokenAuthenticatorTest, CancelReleasesWaitersAtOnceAndLaterCallsFailFast) {
  issuer_.Hold();
  std::thread renewer([&] {
    OutgoingRequest r;
    (void)auth_.Apply(r);
  });
  issuer_.WaitUntilEntered(1);
  Status waited = OkStatus();
  std::thread waiter([&] {
    OutgoingRequest r;
    waited = auth_.Apply(r);
  });
  clock_.BlockUntilWaiters(1);
  auth_.Cancel();  // shutdown: no time passes, the waiter returns anyway
  waiter.join();
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, "Shutdown");
  EXPECT_TRUE(issuer_.cancelled());  // the renewal in flight is aborted too
  issuer_.Release();
  renewer.join();
  OutgoingRequest r;
  const Status later = auth_.Apply(r);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, "Shutdown");
  EXPECT_EQ(issuer_.calls(), 1);
}

TEST_F(IamTokenAuthenticatorTest, CallersWithAValidTokenDoNotWaitForRenewal) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  clock_.Advance(hours(23) + minutes(30));  // inside the renewal window, still valid
  issuer_.Hold();
  std::string renewed;
  std::thread renewer([&] { renewed = ApplyOk(); });
  issuer_.WaitUntilEntered(2);
  EXPECT_EQ(ApplyOk(), "tok-1");  // does not block on the renewal in flight
  issuer_.Release();
  renewer.join();
  EXPECT_EQ(renewed, "tok-2");
  EXPECT_EQ(ApplyOk(), "tok-2");
}

TEST_F(IamTokenAuthenticatorTest, FailedRenewalKeepsTheValidTokenAndRetriesLater) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  clock_.Advance(hours(23) + minutes(30));
  issuer_.set_fail_always(true);
  EXPECT_EQ(ApplyOk(), "tok-1");
  EXPECT_EQ(issuer_.calls(), 2);
  EXPECT_EQ(ApplyOk(), "tok-1");  // no new attempt within the retry interval
  EXPECT_EQ(issuer_.calls(), 2);
  clock_.Advance(seconds(61));
  EXPECT_EQ(ApplyOk(), "tok-1");
  EXPECT_EQ(issuer_.calls(), 3);
  issuer_.set_fail_always(false);
  clock_.Advance(seconds(61));
  EXPECT_EQ(ApplyOk(), "tok-2");
  EXPECT_EQ(issuer_.calls(), 4);
}

TEST_F(IamTokenAuthenticatorTest, ExpiredTokenAndFailingIssuerIsAnError) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  issuer_.set_fail_always(true);
  clock_.Advance(hours(25));
  OutgoingRequest r;
  const Status s = auth_.Apply(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "IAM.503");
  EXPECT_TRUE(s.error().retryable());
  EXPECT_EQ(TokenOf(r), "<0 headers>");  // the expired token is not sent
}

TEST_F(IamTokenAuthenticatorTest, StaleTokenIsNotReusedWhenRenewalFails) {
  EXPECT_EQ(ApplyOk(), "tok-1");
  auth_.OnUnauthorized(Rejected("tok-1"));
  issuer_.QueueFailure(MakeError(ErrorClass::kRetryable, "IAM.500", "boom", 500));
  OutgoingRequest r;
  EXPECT_FALSE(auth_.Apply(r).ok());
  EXPECT_EQ(ApplyOk(), "tok-2");  // the next call tries again at once
}

TEST_F(IamTokenAuthenticatorTest, AlreadyExpiredIssuedTokenIsAnError) {
  issuer_.set_lifetime(-seconds(1));
  OutgoingRequest r;
  const Status s = auth_.Apply(r);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("already expired"));
}

TEST(ParseIamExpiresAtTest, Formats) {
  const WallTime base{std::chrono::seconds(1795971600)};  // 2026-11-29T17:00:00Z
  EXPECT_EQ(*ParseIamExpiresAt("2026-11-29T17:00:00.000000Z"), base);
  EXPECT_EQ(*ParseIamExpiresAt("2026-11-29T17:00:00Z"), base);
  EXPECT_EQ(*ParseIamExpiresAt("2026-11-29T17:00:00.25Z"), base + std::chrono::milliseconds(250));
  EXPECT_EQ(*ParseIamExpiresAt("2026-11-29T18:30:00+01:30"), base);
  EXPECT_EQ(*ParseIamExpiresAt("2026-11-29T16:00:00-0100"), base);
  for (const char* bad :
       {"", "2026-11-29", "2026-11-29T17:00:00", "2026-11-29T17:00:00.Z", "2026-02-30T17:00:00Z",
        "2026-11-29 17:00:00Z", "2026-11-29T17:00:00Zx", "2026-11-29T25:00:00Z", "tomorrow"}) {
    const Result<WallTime> r = ParseIamExpiresAt(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "Decode");
    }
  }
}

TEST(IamPasswordBodyTest, ScopesByIdOrName) {
  IamPasswordOptions o;
  o.user_name = "alice";
  o.password = "s3cr\"et";
  o.domain_name = "OTC-EU-DE-1";
  o.project_name = "eu-de";
  nlohmann::json body = nlohmann::json::parse(BuildIamPasswordRequestBody(o));
  EXPECT_EQ(body["auth"]["identity"]["methods"], nlohmann::json::array({"password"}));
  const auto& user = body["auth"]["identity"]["password"]["user"];
  EXPECT_EQ(user["name"], "alice");
  EXPECT_EQ(user["password"], "s3cr\"et");
  EXPECT_EQ(user["domain"]["name"], "OTC-EU-DE-1");
  EXPECT_EQ(body["auth"]["scope"]["project"], nlohmann::json({{"name", "eu-de"}}));
  o.project_id = "0f1e2d3c";
  body = nlohmann::json::parse(BuildIamPasswordRequestBody(o));
  EXPECT_EQ(body["auth"]["scope"]["project"], nlohmann::json({{"id", "0f1e2d3c"}}));
  // A request's own project wins over the configured scope.
  body = nlohmann::json::parse(BuildIamPasswordRequestBody(o, "9a8b7c6d"));
  EXPECT_EQ(body["auth"]["scope"]["project"], nlohmann::json({{"id", "9a8b7c6d"}}));
}

// The real issuer against an in-process IAM stand-in on 127.0.0.1, port 0.
class RecordingObserver final : public ApiCallObserver {
 public:
  void OnApiCall(std::string_view operation, int http_status,
                 std::chrono::duration<double>) override {
    std::lock_guard lock(mu_);
    calls_.emplace_back(std::string(operation), http_status);
  }
  std::vector<std::pair<std::string, int>> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, int>> calls_;  // guarded by mu_
};

class HttpIamTokenIssuerTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "pa55-w0rd-SECRET";

  void SetUp() override {
    server_.Post("/v3/auth/tokens", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mu_);
        last_body_ = req.body;
        last_content_type_ = req.get_header_value("Content-Type");
        last_query_ = req.get_param_value("nocatalog");
      }
      res.status = status_.load();
      if (trickle_) {
        // Headers at once, then the body a byte at a time, each well inside read_timeout.
        res.set_header("X-Subject-Token", "issued-token");
        res.set_chunked_content_provider(
            "application/json", [this](std::size_t, httplib::DataSink& sink) {
              trickling_ = true;
              std::this_thread::sleep_for(std::chrono::milliseconds(20));
              return !server_stopping_ && sink.write(" ", 1);
            });
        return;
      }
      if (res.status == 201) {
        if (send_token_) res.set_header("X-Subject-Token", "issued-token");
        res.set_content(reply_body_, "application/json");
      } else {
        // A hostile or buggy server echoing the password must not leak it.
        res.set_content(
            std::string(R"({"error":{"code":401,"message":"bad password )") + kPassword + R"("}})",
            "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  void TearDown() override {
    server_stopping_ = true;
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  IamPasswordOptions Options() const {
    IamPasswordOptions o;
    o.auth_url = "http://127.0.0.1:" + std::to_string(port_) + "/v3/";
    o.user_name = "alice";
    o.password = kPassword;
    o.domain_name = "OTC-EU-DE-1";
    o.project_id = "0f1e2d3c";
    o.connect_timeout = std::chrono::seconds(2);
    o.read_timeout = std::chrono::seconds(5);
    return o;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> status_{201};
  std::atomic<bool> send_token_{true};
  std::atomic<bool> trickle_{false};
  std::atomic<bool> trickling_{false};
  std::atomic<bool> server_stopping_{false};
  std::string reply_body_ =
      R"({"token":{"expires_at":"2026-11-29T17:00:00.000000Z","methods":["password"]}})";
  std::mutex mu_;
  std::string last_body_;          // guarded by mu_
  std::string last_content_type_;  // guarded by mu_
  std::string last_query_;         // guarded by mu_
  testing::FakeClock clock_;
  RecordingObserver observer_;
};

TEST_F(HttpIamTokenIssuerTest, IssuesAProjectScopedToken) {
  auto issuer = HttpIamTokenIssuer::Create(Options(), clock_, &observer_);
  ASSERT_TRUE(issuer.ok()) << issuer.error().ToString();
  const Result<IssuedToken> token = issuer.value()->Issue("");
  ASSERT_TRUE(token.ok()) << token.error().ToString();
  EXPECT_EQ(token->token, "issued-token");
  EXPECT_EQ(token->expires_at, WallTime{std::chrono::seconds(1795971600)});
  std::lock_guard lock(mu_);
  EXPECT_EQ(last_content_type_, "application/json;charset=utf8");
  EXPECT_EQ(last_query_, "true");
  const nlohmann::json body = nlohmann::json::parse(last_body_);
  EXPECT_EQ(body["auth"]["identity"]["password"]["user"]["password"], kPassword);
  EXPECT_EQ(body["auth"]["scope"]["project"]["id"], "0f1e2d3c");
  EXPECT_EQ(observer_.calls(), (std::vector<std::pair<std::string, int>>{{"auth", 201}}));
}

TEST_F(HttpIamTokenIssuerTest, RejectedCredentialsAreTerminalAndSecretFree) {
  auto issuer = HttpIamTokenIssuer::Create(Options(), clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  for (const int status : {401, 403}) {
    status_ = status;
    const Result<IssuedToken> token = issuer.value()->Issue("");
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.error().error_class, ErrorClass::kTerminal);
    EXPECT_EQ(token.error().http_status, status);
    EXPECT_THAT(token.error().message, HasSubstr("alice"));
    EXPECT_THAT(token.error().message, HasSubstr("OTC-EU-DE-1"));
    EXPECT_THAT(token.error().ToString(), Not(HasSubstr(kPassword)));
  }
}

TEST_F(HttpIamTokenIssuerTest, ServerErrorsAndBadAnswersAreRetryable) {
  auto issuer = HttpIamTokenIssuer::Create(Options(), clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  status_ = 503;
  Result<IssuedToken> token = issuer.value()->Issue("");
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(token.error().retryable());
  EXPECT_THAT(token.error().ToString(), Not(HasSubstr(kPassword)));

  status_ = 201;
  send_token_ = false;
  token = issuer.value()->Issue("");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "Decode");

  send_token_ = true;
  reply_body_ = R"({"token":{"methods":["password"]}})";  // no expires_at: not guessed
  token = issuer.value()->Issue("");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "Decode");
  EXPECT_EQ(observer_.calls().size(), 3u);
}

TEST_F(HttpIamTokenIssuerTest, TransportFailureIsRetryable) {
  IamPasswordOptions o = Options();
  TearDown();  // nothing listens on the port any more
  auto issuer = HttpIamTokenIssuer::Create(o, clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  const Result<IssuedToken> token = issuer.value()->Issue("");
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(token.error().retryable());
  EXPECT_THAT(token.error().code, HasSubstr("Transport"));
  EXPECT_EQ(observer_.calls(), (std::vector<std::pair<std::string, int>>{{"auth", 0}}));
}

TEST_F(HttpIamTokenIssuerTest, ScopesTheTokenToTheRequestedProject) {
  auto issuer = HttpIamTokenIssuer::Create(Options(), clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  ASSERT_TRUE(issuer.value()->Issue("9a8b7c6d").ok());
  std::lock_guard lock(mu_);
  EXPECT_EQ(nlohmann::json::parse(last_body_)["auth"]["scope"]["project"],
            nlohmann::json({{"id", "9a8b7c6d"}}));
}

TEST_F(HttpIamTokenIssuerTest, TrickledAnswerIsCutAtTheTotalDeadline) {
  IamPasswordOptions o = Options();
  o.total_timeout = std::chrono::seconds(10);  // on the test's clock
  auto issuer = HttpIamTokenIssuer::Create(o, clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  trickle_ = true;
  auto result = std::async(std::launch::async, [&] { return issuer.value()->Issue(""); });
  while (!trickling_) std::this_thread::yield();
  // Without a total deadline the endless body would hold the renewal for ever (each byte
  // comes well inside read_timeout); past it the next byte ends the request.
  clock_.Advance(std::chrono::seconds(10));
  const Result<IssuedToken> token = result.get();
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "Transport.Timeout");
  EXPECT_TRUE(token.error().retryable());
  EXPECT_EQ(observer_.calls(), (std::vector<std::pair<std::string, int>>{{"auth", 0}}));
}

TEST_F(HttpIamTokenIssuerTest, CancelAbortsTheRequestInFlightAndLaterOnesFailFast) {
  auto issuer = HttpIamTokenIssuer::Create(Options(), clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  trickle_ = true;
  auto result = std::async(std::launch::async, [&] { return issuer.value()->Issue(""); });
  while (!trickling_) std::this_thread::yield();
  issuer.value()->Cancel();  // the test clock never moves: only Cancel can end it
  const Result<IssuedToken> token = result.get();
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "Shutdown");
  trickle_ = false;
  const Result<IssuedToken> later = issuer.value()->Issue("");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, "Shutdown");
  EXPECT_EQ(observer_.calls().size(), 1u);  // nothing sent after Cancel
}

TEST_F(HttpIamTokenIssuerTest, OversizedAnswerIsDiscarded) {
  IamPasswordOptions o = Options();
  o.max_response_bytes = 1024;
  reply_body_ = R"({"token":{"expires_at":"2026-11-29T17:00:00.000000Z","pad":")" +
                std::string(2048, 'x') + R"("}})";
  auto issuer = HttpIamTokenIssuer::Create(o, clock_, &observer_);
  ASSERT_TRUE(issuer.ok());
  const Result<IssuedToken> token = issuer.value()->Issue("");
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "ResponseTooLarge");
  EXPECT_TRUE(token.error().retryable());
}

TEST(HttpIamTokenIssuerCreateTest, ValidatesOptionsWithoutEchoingThePassword) {
  testing::FakeClock clock;
  IamPasswordOptions o;
  o.auth_url = "ftp://iam.example/v3";
  o.password = "hunter2-secret";
  auto bad_url = HttpIamTokenIssuer::Create(o, clock, nullptr);
  ASSERT_FALSE(bad_url.ok());
  EXPECT_THAT(bad_url.error().message, HasSubstr("ftp://iam.example/v3"));
  o.auth_url = "https://iam.example/v3";
  auto missing = HttpIamTokenIssuer::Create(o, clock, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("user name"));
  EXPECT_THAT(missing.error().message, HasSubstr("domain name"));
  EXPECT_THAT(missing.error().message, HasSubstr("project id or name"));
  EXPECT_THAT(missing.error().message, Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace mactl
