#include "controller/core/desired_snapshot.h"

#include <gtest/gtest.h>

namespace mactl {
namespace {

TrainingJobVersion Object(std::string name, std::int64_t job, std::int64_t version,
                          DesiredState desired, std::string project = "") {
  TrainingJobVersion o;
  o.name = std::move(name);
  o.project_id = std::move(project);
  o.job_id = job;
  o.version_id = version;
  o.desired_state = desired;
  return o;
}

TEST(DesiredSnapshot, GroupsManifestsByVersionAndFillsTheDefaultProject) {
  const DesiredSnapshot s =
      BuildDesiredSnapshot({Object("a", 10, 10, DesiredState::kStopped),
                            Object("b", 10, 11, DesiredState::kRunning, "p2")},
                           {}, "p1");
  ASSERT_EQ(s.versions.size(), 2u);
  const ManagedVersion* a = s.Find("p1/10/10");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->desired, DesiredState::kStopped);
  EXPECT_FALSE(a->conflict);
  EXPECT_EQ(a->object_names, std::vector<std::string>{"a"});
  ASSERT_NE(s.Find("p2/10/11"), nullptr);
}

TEST(DesiredSnapshot, DisagreeingManifestsConflictAndAgreeingOnesShareOneReconcile) {
  const DesiredSnapshot s = BuildDesiredSnapshot(
      {Object("x", 1, 1, DesiredState::kStopped), Object("w", 1, 1, DesiredState::kRunning),
       Object("y", 2, 1, DesiredState::kStopped), Object("z", 2, 1, DesiredState::kStopped, "p")},
      {}, "p");
  EXPECT_TRUE(s.Find("p/1/1")->conflict);
  EXPECT_EQ(s.Find("p/1/1")->object_names, (std::vector<std::string>{"w", "x"}));
  // The same version named twice with the same intent: one unit, no conflict, one stop.
  EXPECT_FALSE(s.Find("p/2/1")->conflict);
  EXPECT_EQ(s.Find("p/2/1")->object_names.size(), 2u);
  EXPECT_EQ(s.versions.size(), 2u);
}

TEST(DesiredSnapshot, AnyPausedManifestPausesTheVersion) {
  TrainingJobVersion paused = Object("b", 1, 1, DesiredState::kStopped);
  paused.paused = true;
  const DesiredSnapshot s =
      BuildDesiredSnapshot({Object("a", 1, 1, DesiredState::kStopped), paused}, {}, "p");
  EXPECT_TRUE(s.Find("p/1/1")->paused);
}

TEST(DesiredSnapshot, DiffReportsAddedChangedAndRemovedVersions) {
  const DesiredSnapshot before = BuildDesiredSnapshot(
      {Object("a", 1, 1, DesiredState::kStopped), Object("b", 2, 1, DesiredState::kStopped),
       Object("c", 3, 1, DesiredState::kStopped)},
      {}, "p");
  TrainingJobVersion c_paused = Object("c", 3, 1, DesiredState::kStopped);
  c_paused.paused = true;
  const DesiredSnapshot after = BuildDesiredSnapshot(
      {Object("a", 1, 1, DesiredState::kStopped), Object("b", 2, 1, DesiredState::kRunning),
       c_paused, Object("d", 4, 1, DesiredState::kStopped)},
      {}, "p");
  const SnapshotDiff diff = DiffSnapshots(before, after);
  EXPECT_EQ(diff.added, std::vector<std::string>{"p/4/1"});
  EXPECT_EQ(diff.changed, (std::vector<std::string>{"p/2/1", "p/3/1"}));
  EXPECT_TRUE(diff.removed.empty());

  const SnapshotDiff deletion = DiffSnapshots(after, before);
  EXPECT_EQ(deletion.removed, std::vector<std::string>{"p/4/1"});
}

TEST(DesiredSnapshot, RenamingAManifestIsNotAChangeOfIntent) {
  const DesiredSnapshot before =
      BuildDesiredSnapshot({Object("old-name", 1, 1, DesiredState::kStopped)}, {}, "p");
  const DesiredSnapshot after =
      BuildDesiredSnapshot({Object("new-name", 1, 1, DesiredState::kStopped)}, {}, "p");
  const SnapshotDiff diff = DiffSnapshots(before, after);
  EXPECT_TRUE(diff.added.empty());
  EXPECT_TRUE(diff.changed.empty());
  EXPECT_TRUE(diff.removed.empty());
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

constexpr char kUuid[] = "cf63aba9-63b1-4219-b717-708a2665100b";

TrainingJob JobObject(std::string name, std::string id, std::string job_name, DesiredState desired,
                      bool paused = false, std::string project = "") {
  TrainingJob o;
  o.name = std::move(name);
  o.project_id = std::move(project);
  o.training_job_id = std::move(id);
  o.training_job_name = std::move(job_name);
  o.desired_state = desired;
  o.paused = paused;
  return o;
}

TEST(DesiredSnapshotTrainingJobs, GroupedByJobWithTheSameConflictAndPauseRules) {
  DesiredSnapshot s = BuildDesiredSnapshot({Object("v", 10, 10, DesiredState::kStopped)}, {}, "p1");
  AddTrainingJobs(s, {JobObject("a", kUuid, "", DesiredState::kStopped),
                      JobObject("b", kUuid, "", DesiredState::kRunning),
                      JobObject("c", "", "llama-sft", DesiredState::kStopped, true),
                      JobObject("d", "", "llama-sft", DesiredState::kStopped, false, "p2")});
  EXPECT_EQ(s.versions.size(), 1u);
  ASSERT_EQ(s.training_jobs.size(), 3u);
  const ManagedTrainingJob* by_id = s.FindTrainingJob(std::string("p1/") + kUuid);
  ASSERT_NE(by_id, nullptr);
  EXPECT_TRUE(by_id->conflict);
  EXPECT_EQ(by_id->object_names, (std::vector<std::string>{"a", "b"}));
  const ManagedTrainingJob* by_name = s.FindTrainingJob("p1/name:llama-sft");
  ASSERT_NE(by_name, nullptr);
  EXPECT_TRUE(by_name->paused);
  EXPECT_FALSE(by_name->conflict);
  EXPECT_EQ(by_name->ref.training_job_name, "llama-sft");
  EXPECT_NE(s.FindTrainingJob("p2/name:llama-sft"), nullptr);
  EXPECT_EQ(s.Find(std::string("p1/") + kUuid), nullptr);  // not a version key
  EXPECT_EQ(s.job_objects.size(), 4u);
}

TEST(DesiredSnapshotTrainingJobs, DiffCoversBothKinds) {
  DesiredSnapshot before =
      BuildDesiredSnapshot({Object("v", 10, 10, DesiredState::kStopped)}, {}, "p");
  AddTrainingJobs(before, {JobObject("a", kUuid, "", DesiredState::kStopped),
                           JobObject("b", "", "gone", DesiredState::kStopped)});
  DesiredSnapshot after =
      BuildDesiredSnapshot({Object("v", 10, 10, DesiredState::kRunning)}, {}, "p");
  AddTrainingJobs(after, {JobObject("a", kUuid, "", DesiredState::kRunning),
                          JobObject("c", "", "new", DesiredState::kStopped)});
  const SnapshotDiff diff = DiffSnapshots(before, after);
  EXPECT_EQ(diff.added, std::vector<std::string>{"p/name:new"});
  EXPECT_EQ(diff.changed, (std::vector<std::string>{"p/10/10", std::string("p/") + kUuid}));
  EXPECT_EQ(diff.removed, std::vector<std::string>{"p/name:gone"});
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

TrainingJobPolicy Policy(std::string name, std::chrono::milliseconds limit, std::string glob = "") {
  TrainingJobPolicy p;
  p.name = std::move(name);
  p.max_runtime = limit;
  p.name_glob = std::move(glob);
  return p;
}

TEST(DesiredSnapshotPolicies, PoliciesChangedOnlyWhenThePoliciesDiffer) {
  using std::chrono::hours;
  DesiredSnapshot before =
      BuildDesiredSnapshot({Object("v", 10, 10, DesiredState::kStopped)}, {}, "p");
  before.policies = {Policy("cap", hours(72)), Policy("exp", hours(1), "exp-*")};
  DesiredSnapshot same = before;
  EXPECT_FALSE(DiffSnapshots(before, same).policies_changed);

  DesiredSnapshot edited = before;
  edited.policies[1].max_runtime = hours(2);
  SnapshotDiff diff = DiffSnapshots(before, edited);
  EXPECT_TRUE(diff.policies_changed);
  EXPECT_TRUE(diff.added.empty() && diff.changed.empty() && diff.removed.empty());

  DesiredSnapshot paused = before;
  paused.policies[0].paused = true;
  EXPECT_TRUE(DiffSnapshots(before, paused).policies_changed);

  DesiredSnapshot removed = before;
  removed.policies.pop_back();
  EXPECT_TRUE(DiffSnapshots(before, removed).policies_changed);
  EXPECT_TRUE(DiffSnapshots(removed, before).policies_changed);

  // An object edit alone leaves the policies as they were.
  DesiredSnapshot object_edit =
      BuildDesiredSnapshot({Object("v", 10, 10, DesiredState::kRunning)}, {}, "p");
  object_edit.policies = before.policies;
  diff = DiffSnapshots(before, object_edit);
  EXPECT_FALSE(diff.policies_changed);
  EXPECT_EQ(diff.changed, std::vector<std::string>{"p/10/10"});
}

}  // namespace
}  // namespace mactl
