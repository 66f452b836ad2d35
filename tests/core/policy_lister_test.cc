#include "controller/core/policy_lister.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "controller/cloud/job_status.h"
#include "tests/fakes/fake_cloud_client.h"
#include "tests/fakes/fake_training_job_client.h"

namespace mactl {
namespace {

using testing::FakeCloudClient;
using testing::FakeTrainingJobClient;

constexpr int kRunning = static_cast<int>(JobStatus::kRunning);
constexpr char kProject[] = "p";

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

void AddVersions(FakeCloudClient& client, int jobs) {
  for (int job = 1; job <= jobs; ++job) {
    client.SetStatus({kProject, job, 1}, static_cast<int>(JobStatus::kCompleted));
    client.SetStatus({kProject, job, 2}, kRunning);
    client.SetDuration({kProject, job, 2}, 1000 * job);
  }
}

void AddTrainingJobs(FakeTrainingJobClient& client, int jobs, const std::string& phase) {
  for (int n = 1; n <= jobs; ++n) {
    TrainingJobInfo job;
    job.id = Uuid(n + (phase == "Running" ? 0 : 100000));
    job.name = "exp-" + std::to_string(n);
    job.phase = phase;
    job.duration_ms = 10 * n;
    client.SetJob(kProject, job);
  }
}

PolicyListRequest Request(bool versions, bool training_jobs) {
  PolicyListRequest request;
  request.project_id = kProject;
  request.versions = versions;
  request.training_jobs = training_jobs;
  return request;
}

// The two fakes every listing and look-up starts from, empty.
class PolicyListerTest : public ::testing::Test {
 protected:
  Result<PolicyListing> List(bool list_versions, bool search_training_jobs) {
    return ListPolicyCandidates(versions, jobs, Request(list_versions, search_training_jobs));
  }

  // The pages a listing says it took are the calls the fakes saw.
  void ExpectPages(const PolicyListing& got, int list_pages, int search_pages) {
    EXPECT_EQ(got.list_pages, static_cast<std::size_t>(list_pages));
    EXPECT_EQ(versions.Calls("list"), list_pages);
    EXPECT_EQ(got.search_pages, static_cast<std::size_t>(search_pages));
    EXPECT_EQ(jobs.Calls("search_jobs"), search_pages);
  }

  FakeCloudClient versions;
  FakeTrainingJobClient jobs;
};

TEST_F(PolicyListerTest, ThousandsOfVersionsCostThreeListPages) {
  AddVersions(versions, 2500);
  const Result<PolicyListing> got = List(true, false);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ExpectPages(*got, 3, 0);
  ASSERT_EQ(got->jobs.size(), 2500u);
  const PolicyCandidate& first = got->jobs.front();
  EXPECT_EQ(first.kind, PolicyJobKind::kTrainingJobVersion);
  EXPECT_EQ(first.Key(), "v1/p/1");
  EXPECT_EQ(first.version_id, 2);
  EXPECT_EQ(first.status, kRunning);
  EXPECT_EQ(first.duration_ms, 1000);
  EXPECT_EQ(got->jobs.back().id, "2500");  // by job id
  EXPECT_EQ(versions.Calls("get_version"), 0);
}

TEST_F(PolicyListerTest, AFullLastPageEndsAtTheAnnouncedCount) {
  AddVersions(versions, 2000);
  const Result<PolicyListing> got = List(true, false);
  ASSERT_TRUE(got.ok());
  ExpectPages(*got, 2, 0);
  EXPECT_EQ(got->jobs.size(), 2000u);
}

TEST_F(PolicyListerTest, AnEmptyProjectCostsOnePage) {
  const Result<PolicyListing> got = List(true, true);
  ASSERT_TRUE(got.ok());
  ExpectPages(*got, 1, 1);
  EXPECT_TRUE(got->jobs.empty());
}

TEST_F(PolicyListerTest, ActiveTrainingJobsCostThreeSearchPages) {
  AddTrainingJobs(jobs, 120, "Running");
  AddTrainingJobs(jobs, 30, "Completed");  // not asked for: terminal
  const Result<PolicyListing> got = List(false, true);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  ExpectPages(*got, 0, 3);
  ASSERT_EQ(got->jobs.size(), 120u);
  const PolicyCandidate& first = got->jobs.front();
  EXPECT_EQ(first.kind, PolicyJobKind::kTrainingJob);
  EXPECT_EQ(first.Key(), "v2/p/" + Uuid(1));
  EXPECT_EQ(first.name, "exp-1");
  EXPECT_EQ(first.phase, "Running");
  EXPECT_EQ(first.duration_ms, 10);
  EXPECT_EQ(jobs.Calls("get_job"), 0);
}

TEST_F(PolicyListerTest, VersionsFirstThenTrainingJobs) {
  AddVersions(versions, 2);
  AddTrainingJobs(jobs, 2, "Pending");
  const Result<PolicyListing> got = List(true, true);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->jobs.size(), 4u);
  EXPECT_EQ(got->jobs[0].Key(), "v1/p/1");
  EXPECT_EQ(got->jobs[1].Key(), "v1/p/2");
  EXPECT_EQ(got->jobs[2].kind, PolicyJobKind::kTrainingJob);
  EXPECT_EQ(got->jobs[3].kind, PolicyJobKind::kTrainingJob);
}

TEST_F(PolicyListerTest, NothingAskedNothingCalled) {
  AddVersions(versions, 5);
  AddTrainingJobs(jobs, 5, "Running");
  const Result<PolicyListing> got = List(false, false);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->jobs.empty());
  EXPECT_EQ(versions.Calls("list"), 0);
  EXPECT_EQ(jobs.Calls("search_jobs"), 0);
}

TEST_F(PolicyListerTest, AFailingListPageFailsTheWholeListing) {
  for (int failing_page = 1; failing_page <= 3; ++failing_page) {
    SCOPED_TRACE(failing_page);
    FakeCloudClient page_versions;  // fresh for each failing page, unlike the fixture's
    FakeTrainingJobClient page_jobs;
    AddVersions(page_versions, 2500);
    AddTrainingJobs(page_jobs, 5, "Running");
    page_versions.BeforeList([&](int page) {
      if (page == failing_page) {
        page_versions.FailNext("list",
                               MakeError(ErrorClass::kRetryable, "APIGW.0308", "throttled"));
      }
    });
    const Result<PolicyListing> got =
        ListPolicyCandidates(page_versions, page_jobs, Request(true, true));
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, "APIGW.0308");
    EXPECT_EQ(page_versions.Calls("list"), failing_page);
    EXPECT_EQ(page_jobs.Calls("search_jobs"), 0);  // a pass never acts on half a project
  }
}

TEST_F(PolicyListerTest, AFailingSearchPageFailsTheWholeListing) {
  AddVersions(versions, 3);
  AddTrainingJobs(jobs, 120, "Running");
  jobs.BeforeSearch([&](int offset) {
    if (offset == 2) {
      jobs.FailNext("search_jobs", MakeError(ErrorClass::kRetryable, "ModelArts.0001", "busy"));
    }
  });
  const Result<PolicyListing> got = List(true, true);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, "ModelArts.0001");
  EXPECT_EQ(jobs.Calls("search_jobs"), 3);
}

// A server that repeats its first full page: the listing ends instead of paging to 65535.
class RepeatingCloudClient final : public CloudClient {
 public:
  Result<JobListPage> ListJobs(const std::string&, int, int per_page) override {
    ++list_calls;
    JobListPage page;
    page.job_total_count = INT64_MAX;
    for (int i = 1; i <= per_page; ++i) {
      JobSummary job;
      job.job_id = i;
      job.job_name = "job-" + std::to_string(i);
      job.version_id = 7;
      job.status = kRunning;
      page.jobs.push_back(job);
    }
    return page;
  }
  Result<VersionDetail> GetVersion(const VersionRef& ref) override {
    VersionDetail d;
    d.job_id = ref.job_id;
    d.version_id = ref.version_id;
    d.job_name = "renamed";
    d.status = static_cast<int>(JobStatus::kKilling);
    d.duration_ms = 42;
    looked_up = ref;
    return d;
  }
  Result<VersionListPage> ListVersions(const std::string&, std::int64_t, int, int) override {
    return VersionListPage{};
  }
  Status StopVersion(const VersionRef&) override { return OkStatus(); }
  int list_calls = 0;
  VersionRef looked_up;
};

TEST_F(PolicyListerTest, AServerRepeatingItselfEndsTheListing) {
  RepeatingCloudClient repeating;
  const Result<PolicyListing> got = ListPolicyCandidates(repeating, jobs, Request(true, false));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(repeating.list_calls, 2);
  EXPECT_EQ(got->list_pages, 2u);
  ASSERT_EQ(got->jobs.size(), static_cast<std::size_t>(kMaxPerPage));
  EXPECT_EQ(got->jobs.front().name, "job-1");
}

TEST_F(PolicyListerTest, LookUpAVersionKeepsTheListedVersion) {
  RepeatingCloudClient repeating;
  PolicyCandidate listed;
  listed.kind = PolicyJobKind::kTrainingJobVersion;
  listed.project_id = kProject;
  listed.id = "12";
  listed.version_id = 7;
  listed.name = "job-12";
  listed.status = kRunning;
  listed.duration_ms = 1;
  const Result<PolicyCandidate> got = LookUpPolicyCandidate(repeating, jobs, listed);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(repeating.looked_up, (VersionRef{kProject, 12, 7}));
  EXPECT_EQ(got->Key(), "v1/p/12");
  EXPECT_EQ(got->version_id, 7);
  EXPECT_EQ(got->status, static_cast<int>(JobStatus::kKilling));
  EXPECT_EQ(got->duration_ms, 42);
  EXPECT_EQ(got->name, "renamed");
}

TEST_F(PolicyListerTest, LookUpAVersionThatIsGoneOrMisnamed) {
  PolicyCandidate listed;
  listed.kind = PolicyJobKind::kTrainingJobVersion;
  listed.project_id = kProject;
  listed.id = "12";
  listed.version_id = 7;
  Result<PolicyCandidate> gone = LookUpPolicyCandidate(versions, jobs, listed);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "ModelArts.2775");
  for (const std::string bad : {"", "12x", "abc", "99999999999999999999"}) {
    listed.id = bad;
    Result<PolicyCandidate> got = LookUpPolicyCandidate(versions, jobs, listed);
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.error().code, "Policy.BadJobId");
  }
  EXPECT_EQ(versions.Calls("get_version"), 1);
}

TEST_F(PolicyListerTest, LookUpATrainingJob) {
  AddTrainingJobs(jobs, 1, "Running");
  jobs.SetPhase(kProject, Uuid(1), "Running", "Terminating");
  PolicyCandidate listed;
  listed.kind = PolicyJobKind::kTrainingJob;
  listed.project_id = kProject;
  listed.id = Uuid(1);
  const Result<PolicyCandidate> got = LookUpPolicyCandidate(versions, jobs, listed);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->Key(), "v2/p/" + Uuid(1));
  EXPECT_EQ(got->name, "exp-1");
  EXPECT_EQ(got->secondary_phase, "Terminating");
  EXPECT_EQ(got->duration_ms, 10);
  EXPECT_EQ(jobs.Calls("get_job"), 1);
  EXPECT_EQ(versions.Calls("get_version"), 0);

  listed.id = Uuid(2);
  const Result<PolicyCandidate> gone = LookUpPolicyCandidate(versions, jobs, listed);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "ModelArts.2775");
}

TrainingJobPolicy Policy(std::string name, std::string project, bool versions, bool jobs) {
  TrainingJobPolicy p;
  p.name = std::move(name);
  p.project_id = std::move(project);
  p.versions = versions;
  p.training_jobs = jobs;
  p.max_runtime = std::chrono::hours(1);
  return p;
}

TEST_F(PolicyListerTest, ResolvePoliciesFillsInTheDefaultProjectInManifestOrder) {
  DesiredSnapshot snapshot;
  snapshot.default_project_id = "default";
  snapshot.policies = {Policy("b", "", true, true), Policy("a", "other", true, false)};
  const std::vector<ResolvedPolicy> got = ResolvePolicies(snapshot);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].policy.name, "b");
  EXPECT_EQ(got[0].project_id, "default");
  EXPECT_EQ(got[1].policy.name, "a");
  EXPECT_EQ(got[1].project_id, "other");
  EXPECT_EQ(got[1].policy, snapshot.policies[1]);
}

TEST_F(PolicyListerTest, OneRequestPerProjectOverTheUnionOfKinds) {
  const std::vector<ResolvedPolicy> policies = {
      {Policy("v1-only", "", true, false), "p"},
      {Policy("v2-only", "", false, true), "p"},
      {Policy("v1-elsewhere", "q", true, false), "q"},
      {Policy("v1-elsewhere-too", "q", true, false), "q"},
  };
  const std::map<std::string, PolicyListRequest> got = PolicyListRequests(policies);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at("p").project_id, "p");
  EXPECT_TRUE(got.at("p").versions);
  EXPECT_TRUE(got.at("p").training_jobs);
  EXPECT_EQ(got.at("q").project_id, "q");
  EXPECT_TRUE(got.at("q").versions);
  EXPECT_FALSE(got.at("q").training_jobs);
  EXPECT_TRUE(PolicyListRequests({}).empty());
}

}  // namespace
}  // namespace mactl
