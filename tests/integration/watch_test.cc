// Edits reach the daemon at once: in-place writes, editor renames, new files and the
// Kubernetes ConfigMap symlink swap.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kKilling = 9;
constexpr int kKilled = 12;

bool Stopping(const Simulator& sim, int job, int version) {
  const int s = sim.StatusOf(job, version);
  return s == kKilling || s == kKilled;
}

class WatchTest : public ::testing::Test {
 protected:
  void Start(const fs::path& manifests) {
    sim_ = std::make_unique<Simulator>(dir_);
    // A long rescan interval: only inotify can make these edits visible in time.
    controller_ = std::make_unique<Controller>(
        dir_, manifests, sim_->endpoint(), std::vector<std::string>{"--rescan-interval", "10m"});
    ASSERT_TRUE(WaitFor([&] { return controller_->Status().value("ready", false); }));
  }
  TempDir dir_;
  std::unique_ptr<Simulator> sim_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(WatchTest, InPlaceWriteFlipsDesiredStateToStopped) {
  const fs::path manifests = dir_.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Running"));
  Start(manifests);
  EXPECT_EQ(sim_->StopCalls(10, 10), 0);
  std::ofstream(manifests / "a.yaml", std::ios::trunc)
      << Manifest("bert-finetune-v10", 10, 10, "Stopped");
  ASSERT_TRUE(WaitFor([&] { return Stopping(*sim_, 10, 10); }, std::chrono::seconds(10)));
  EXPECT_EQ(sim_->StopCalls(10, 10), 1);
}

TEST_F(WatchTest, EditorRenameAndNewFileAreSeen) {
  const fs::path manifests = dir_.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Running"));
  Start(manifests);
  WriteFile(manifests / ".a.yaml.swp", "editor noise");
  WriteFile(manifests / "a.yaml.tmp", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  fs::rename(manifests / "a.yaml.tmp", manifests / "a.yaml");
  ASSERT_TRUE(WaitFor([&] { return Stopping(*sim_, 10, 10); }, std::chrono::seconds(10)));

  fs::create_directories(manifests / "new-team");
  WriteFile(manifests / "new-team" / "b.yaml", Manifest("resnet-sweep-v1", 11, 1, "Stopped"));
  ASSERT_TRUE(WaitFor([&] { return Stopping(*sim_, 11, 1); }, std::chrono::seconds(10)));
  EXPECT_EQ(sim_->StopCalls(11, 1), 1);
}

TEST_F(WatchTest, ConfigMapSymlinkSwapIsSeen) {
  const fs::path manifests = dir_.path() / "cm";
  WriteFile(manifests / "..2026_11_28_10_00_00.1" / "jobs.yaml",
            Manifest("bert-finetune-v10", 10, 10, "Running"));
  fs::create_directory_symlink("..2026_11_28_10_00_00.1", manifests / "..data");
  fs::create_symlink("..data/jobs.yaml", manifests / "jobs.yaml");
  Start(manifests);
  EXPECT_EQ(controller_->Phase("bert-finetune-v10"), "Converged");

  // What the kubelet does on an update: new timestamped dir, new ..data_tmp link,
  // rename over ..data, remove the old dir.
  WriteFile(manifests / "..2026_11_28_10_05_00.2" / "jobs.yaml",
            Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  fs::create_directory_symlink("..2026_11_28_10_05_00.2", manifests / "..data_tmp");
  fs::rename(manifests / "..data_tmp", manifests / "..data");
  fs::remove_all(manifests / "..2026_11_28_10_00_00.1");
  ASSERT_TRUE(WaitFor([&] { return Stopping(*sim_, 10, 10); }, std::chrono::seconds(10)));
  EXPECT_EQ(sim_->StopCalls(10, 10), 1);
}

// The stop requests the simulator has seen for job/version, answered or not.
int StopRequests(const Simulator& sim, int job, int version) {
  const std::string suffix =
      "/training-jobs/" + std::to_string(job) + "/versions/" + std::to_string(version) + "/stop";
  int n = 0;
  for (const json& r : sim.Requests()) {
    const std::string path = r.value("path", "");
    if (path.size() >= suffix.size() && path.ends_with(suffix)) ++n;
  }
  return n;
}

TEST_F(WatchTest, DeletingAManifestStopsManagingWithoutStopping) {
  const fs::path manifests = dir_.path() / "m";
  // Desired Stopped for a running version whose stop keeps failing: the daemon is retrying
  // it (with backoff) when the manifest goes away.
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "b.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  sim_ = std::make_unique<Simulator>(dir_);
  ASSERT_TRUE(sim_->AddFaults(json::array({{{"operation", "stop"},
                                            {"job_id", 10},
                                            {"count", -1},
                                            {"type", "status"},
                                            {"http_status", 503}}})));
  controller_ = std::make_unique<Controller>(dir_, manifests, sim_->endpoint(),
                                             std::vector<std::string>{"--rescan-interval", "10m"});
  ASSERT_TRUE(WaitFor([&] { return StopRequests(*sim_, 10, 10) >= 2; }))
      << sim_->Requests().dump(1);

  fs::remove(manifests / "a.yaml");
  ASSERT_TRUE(WaitFor([&] { return !controller_->Object("bert-finetune-v10").is_object(); }));
  // The stop would now succeed; none may be sent for an object no longer managed.
  httplib::Client("127.0.0.1", sim_->port()).Delete("/_sim/faults");
  const int attempts = StopRequests(*sim_, 10, 10);
  // Well past the longest backoff the failed stops had reached (--backoff-base 200ms).
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(StopRequests(*sim_, 10, 10), attempts) << sim_->Requests().dump(1);
  EXPECT_EQ(sim_->StopCalls(10, 10), 0);
  EXPECT_EQ(sim_->StatusOf(10, 10), 8);
  EXPECT_EQ(controller_->Phase("yolo-eval-v1"), "Converged");
}

TEST_F(WatchTest, SighupForcesARescan) {
  const fs::path manifests = dir_.path() / "m";
  // A top-level symlink to a file outside the tree: the loader follows it, but inotify
  // watches only the tree, so an edit of the target is found by a rescan alone (and the
  // periodic one is 10 minutes away).
  const fs::path outside = dir_.path() / "outside" / "a.yaml";
  WriteFile(outside, Manifest("bert-finetune-v10", 10, 10, "Running"));
  fs::create_directories(manifests);
  fs::create_symlink(outside, manifests / "a.yaml");
  Start(manifests);
  EXPECT_EQ(controller_->Phase("bert-finetune-v10"), "Converged");

  std::ofstream(outside, std::ios::trunc) << Manifest("bert-finetune-v10", 10, 10, "Stopped");
  // Nothing notices the edit by itself ...
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(sim_->StopCalls(10, 10), 0) << "the edit was seen without a rescan; this test "
                                           "no longer isolates SIGHUP";
  // ... until SIGHUP.
  controller_->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return Stopping(*sim_, 10, 10); }, std::chrono::seconds(10)))
      << controller_->Status().dump(1);
  EXPECT_EQ(sim_->StopCalls(10, 10), 1);
  EXPECT_TRUE(controller_->process().Running());
}

}  // namespace
}  // namespace mactl::integration
