#include "controller/core/policy_exclusions.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mactl {
namespace {

constexpr char kUuid[] = "cf63aba9-63b1-4219-b717-708a2665100b";

TrainingJobVersion Version(std::string name, std::int64_t job, std::int64_t version,
                           std::string project = "") {
  TrainingJobVersion o;
  o.name = std::move(name);
  o.project_id = std::move(project);
  o.job_id = job;
  o.version_id = version;
  return o;
}

TrainingJob Job(std::string name, std::string id, std::string job_name, std::string project = "") {
  TrainingJob o;
  o.name = std::move(name);
  o.project_id = std::move(project);
  o.training_job_id = std::move(id);
  o.training_job_name = std::move(job_name);
  return o;
}

// Every manifest names its job for the policies, whatever it wants of it: desired Running
// without a limit (the exception pattern), paused, or in conflict with another manifest.
TEST(ExclusionsOf, EveryManifestNamedJobWithTheDefaultProjectFilledIn) {
  TrainingJobVersion paused = Version("paused", 30, 1, "p2");
  paused.paused = true;
  TrainingJobVersion running = Version("running", 10, 2);
  running.desired_state = DesiredState::kRunning;
  TrainingJobVersion conflict = Version("conflict-b", 40, 1);
  conflict.desired_state = DesiredState::kRunning;
  DesiredSnapshot snapshot = BuildDesiredSnapshot(
      {Version("a", 10, 1), running, paused, Version("conflict-a", 40, 1), conflict}, {}, "p1");
  ASSERT_TRUE(snapshot.Find("p1/40/1")->conflict);
  TrainingJob by_name_running = Job("d", "", "llama-sft");
  by_name_running.desired_state = DesiredState::kRunning;
  AddTrainingJobs(snapshot, {Job("c", kUuid, ""), by_name_running, Job("e", "", "x", "p3")});
  TrainingJobPolicy policy;  // policies never exclude anything
  policy.name = "cap";
  snapshot.policies = {policy};

  const PolicyExclusions exclusions = ExclusionsOf(snapshot);
  // Two versions of job 10 are one v1 job: a policy leaves every version of it alone.
  EXPECT_EQ(exclusions.v1_jobs, (std::set<std::string>{"p1/10", "p1/40", "p2/30"}));
  EXPECT_EQ(exclusions.v2_ids, (std::set<std::string>{std::string("p1/") + kUuid}));
  EXPECT_EQ(exclusions.v2_names, (std::set<std::string>{"p1/llama-sft", "p3/x"}));
}

TEST(ExclusionsOf, AnEmptySnapshotExcludesNothing) {
  const PolicyExclusions exclusions = ExclusionsOf(DesiredSnapshot{});
  EXPECT_TRUE(exclusions.v1_jobs.empty());
  EXPECT_TRUE(exclusions.v2_ids.empty());
  EXPECT_TRUE(exclusions.v2_names.empty());
}

}  // namespace
}  // namespace mactl
