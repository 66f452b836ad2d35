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
