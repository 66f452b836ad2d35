// The v2 client over the v1 client's transport (HttpCloudClient as HttpExchange) against the
// real modelarts-sim: the three calls with a token and with AK/SK signing (the two POST
// bodies are signed), paging a search to its end, the terminate's 202 and 409, and metrics
// names per call.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controller/auth/aksk_authenticator.h"
#include "controller/auth/static_token_authenticator.h"
#include "controller/cloud/http_cloud_client.h"
#include "controller/cloud/http_training_job_client.h"
#include "controller/cloud/training_job_search.h"
#include "harness.h"

namespace mactl::integration {
namespace {

constexpr char kRunning[] = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr char kCompleted[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";

class Unthrottled final : public RequestThrottle {
 public:
  bool Acquire() override { return true; }
};

class Operations final : public ApiCallObserver {
 public:
  void OnApiCall(std::string_view operation, int status, std::chrono::duration<double>) override {
    std::lock_guard lock(mu_);
    seen_.push_back(std::string(operation) + " " + std::to_string(status));
  }
  std::vector<std::string> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

std::string Seed() {
  json jobs = json::array({{{"id", kRunning}, {"name", "llama-sft"}, {"phase", "Running"}},
                           {{"id", kCompleted}, {"name", "llama-old"}, {"phase", "Completed"}}});
  for (int i = 0; i < 120; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    jobs.push_back({{"id", id}, {"name", "bulk-" + std::to_string(i)}, {"phase", "Pending"}});
  }
  return json{{"projects", {{{"project_id", kProject}, {"training_jobs", jobs}}}}}.dump();
}

class TrainingJobClientTest : public ::testing::Test {
 protected:
  void Connect(Authenticator& auth) {
    HttpCloudClientOptions options;
    options.endpoint = sim_->endpoint();
    auto created = HttpCloudClient::Create(options, auth, throttle_, observer_, clock_);
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    transport_ = std::move(created).value();
    client_ = std::make_unique<HttpTrainingJobClient>(*transport_, clock_);
  }
  void StartSim(std::vector<std::string> args) {
    WriteFile(dir_.path() / "seed.json", Seed());
    args.insert(args.end(), {"--seed", (dir_.path() / "seed.json").string(), "--kill-delay", "1s"});
    sim_ = std::make_unique<Simulator>(dir_, ExactArgs{}, args);
    ASSERT_GT(sim_->port(), 0);
  }
  json Job(const std::string& id) {
    for (const json& j : GetJson(sim_->port(), "/_sim/training-jobs")) {
      if (j["id"] == id) return j;
    }
    return json();
  }

  TempDir dir_;
  SystemClock clock_;
  Unthrottled throttle_;
  Operations observer_;
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<HttpCloudClient> transport_;
  std::unique_ptr<HttpTrainingJobClient> client_;
};

TEST_F(TrainingJobClientTest, TheThreeCallsWithAToken) {
  StartSim({"--token", kToken});
  StaticTokenAuthenticator auth = StaticTokenAuthenticator::FromToken(kToken);
  Connect(auth);

  const Result<TrainingJobInfo> job = client_->GetTrainingJob(kProject, kRunning);
  ASSERT_TRUE(job.ok()) << job.error().ToString();
  EXPECT_EQ(job->name, "llama-sft");
  EXPECT_EQ(job->phase, "Running");
  EXPECT_GT(job->create_time_ms, 1'000'000'000'000);  // milliseconds

  TrainingJobSearch active;
  active.phases = {"Creating", "Pending", "Running", "Terminating"};
  const Result<SearchResult> all = SearchAllTrainingJobs(*client_, kProject, active);
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(all->jobs.size(), 121u);  // every active job, once; not the Completed one
  EXPECT_EQ(all->pages, 3);
  EXPECT_FALSE(all->record_offsets);

  const Result<TrainingJobInfo> accepted = client_->TerminateTrainingJob(kProject, kRunning);
  ASSERT_TRUE(accepted.ok()) << accepted.error().ToString();
  EXPECT_EQ(accepted->phase, "Terminating");
  const Result<TrainingJobInfo> again = client_->TerminateTrainingJob(kProject, kRunning);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().error_class, ErrorClass::kNotAllowed);
  EXPECT_EQ(again.error().code, "ModelArts.2796");
  EXPECT_EQ(Job(kRunning)["terminates_accepted"], 1);
  EXPECT_TRUE(WaitFor([&] {
    const Result<TrainingJobInfo> j = client_->GetTrainingJob(kProject, kRunning);
    return j.ok() && j->phase == "Terminated";
  }));

  const Result<TrainingJobInfo> missing =
      client_->GetTrainingJob(kProject, "99999999-9999-4999-8999-999999999999");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "ModelArts.2775");
  EXPECT_EQ(missing.error().error_class, ErrorClass::kTerminal);

  const std::vector<std::string> seen = observer_.Seen();
  ASSERT_GE(seen.size(), 7u);
  EXPECT_EQ(seen[0], "get_job 200");
  EXPECT_EQ(seen[1], "search_jobs 200");
  EXPECT_EQ(seen[4], "terminate 202");
  EXPECT_EQ(seen[5], "terminate 409");
}

TEST_F(TrainingJobClientTest, SignedRequestsCoverTheBodies) {
  StartSim({"--aksk", "AKTEST:SKTEST-secret", "--project-id", kProject});
  AkSkAuthenticator auth("AKTEST", "SKTEST-secret", kProject, clock_);
  Connect(auth);
  TrainingJobSearch by_name;
  by_name.name_like = "llama";
  const Result<TrainingJobSearchPage> page = client_->SearchTrainingJobs(kProject, by_name, 0);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  EXPECT_EQ(page->items.size(), 2u);
  const Result<TrainingJobInfo> accepted = client_->TerminateTrainingJob(kProject, kRunning);
  ASSERT_TRUE(accepted.ok()) << accepted.error().ToString();

  // A wrong secret is refused, and nothing is terminated.
  AkSkAuthenticator wrong("AKTEST", "not-the-secret", kProject, clock_);
  HttpCloudClientOptions options;
  options.endpoint = sim_->endpoint();
  auto other = HttpCloudClient::Create(options, wrong, throttle_, observer_, clock_);
  ASSERT_TRUE(other.ok());
  HttpTrainingJobClient refused(**other, clock_);
  const Result<TrainingJobInfo> r =
      refused.TerminateTrainingJob(kProject, "00000000-0000-4000-8000-000000000001");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 401);
  EXPECT_EQ(Job("00000000-0000-4000-8000-000000000001")["phase"], "Pending");
}

TEST_F(TrainingJobClientTest, A409RaceAndInjectedFaultsAreClassified) {
  StartSim({"--token", kToken});
  StaticTokenAuthenticator auth = StaticTokenAuthenticator::FromToken(kToken);
  Connect(auth);
  ASSERT_TRUE(sim_->AddFaults(json::array(
      {{{"operation", "terminate"}, {"type", "complete_before_stop"}},
       {{"operation", "get_job"}, {"type", "status"}, {"http_status", 503}, {"retry_after", 2}}})));
  const Result<TrainingJobInfo> raced = client_->TerminateTrainingJob(kProject, kRunning);
  ASSERT_FALSE(raced.ok());
  EXPECT_EQ(raced.error().error_class, ErrorClass::kNotAllowed);
  EXPECT_EQ(Job(kRunning)["phase"], "Completed");
  const Result<TrainingJobInfo> busy = client_->GetTrainingJob(kProject, kRunning);
  ASSERT_FALSE(busy.ok());
  EXPECT_TRUE(busy.error().retryable());
  ASSERT_TRUE(busy.error().retry_after.has_value());
  EXPECT_EQ(*busy.error().retry_after, std::chrono::seconds(2));
}

}  // namespace
}  // namespace mactl::integration
