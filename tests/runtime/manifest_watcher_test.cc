// The watcher on a real temporary directory with real inotify events. Waits are bounded
// polls on the callback count, never fixed sleeps used as assertions.

#include "controller/runtime/manifest_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace mactl {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class WatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mactl-watch-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    watcher_.reset();
    fs::remove_all(root_);
  }
  void Start(std::chrono::milliseconds rescan = 60s) {
    watcher_ = std::make_unique<ManifestWatcher>(ManifestWatcher::Options{root_, 50ms, rescan},
                                                 [this](std::string_view reason) {
                                                   std::lock_guard lock(mu_);
                                                   reasons_.emplace_back(reason);
                                                   cv_.notify_all();
                                                 });
    ASSERT_TRUE(watcher_->Start().ok());
  }
  // Waits until `n` callbacks have happened in total; returns the reasons so far.
  std::vector<std::string> WaitForCalls(std::size_t n, std::chrono::seconds timeout = 5s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return reasons_.size() >= n; });
    return reasons_;
  }
  std::size_t Calls() {
    std::lock_guard lock(mu_);
    return reasons_.size();
  }
  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  fs::path root_;
  std::unique_ptr<ManifestWatcher> watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> reasons_;
};

TEST_F(WatcherTest, RejectsAMissingRoot) {
  ManifestWatcher watcher({root_ / "absent", 50ms, 60s}, [](std::string_view) {});
  EXPECT_FALSE(watcher.Start().ok());
}

TEST_F(WatcherTest, InPlaceWriteTriggersOneDebouncedRescan) {
  Write(root_ / "a.yaml", "x");
  Start();
  {
    std::ofstream out(root_ / "a.yaml", std::ios::trunc);
    out << "y";
    out.flush();
    out << "z";  // several events of one save: one callback
  }
  const auto reasons = WaitForCalls(1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "inotify");
}

TEST_F(WatcherTest, RenameOverAndDeleteAreSeen) {
  Write(root_ / "a.yaml", "x");
  Start();
  Write(root_ / "a.yaml.tmp", "y");
  fs::rename(root_ / "a.yaml.tmp", root_ / "a.yaml");
  ASSERT_GE(WaitForCalls(1).size(), 1u);
  const std::size_t before = Calls();
  fs::remove(root_ / "a.yaml");
  EXPECT_GT(WaitForCalls(before + 1).size(), before);
}

TEST_F(WatcherTest, NewSubdirectoryAndAFileInsideItAreSeen) {
  Start();
  fs::create_directories(root_ / "team");
  ASSERT_GE(WaitForCalls(1).size(), 1u);
  const std::size_t before = Calls();
  Write(root_ / "team" / "b.yaml", "x");
  EXPECT_GT(WaitForCalls(before + 1).size(), before);
}

TEST_F(WatcherTest, ConfigMapSymlinkSwapIsSeen) {
  fs::create_directories(root_ / "..2026_1");
  Write(root_ / "..2026_1" / "app.yaml", "x");
  fs::create_directory_symlink("..2026_1", root_ / "..data");
  fs::create_symlink("..data/app.yaml", root_ / "app.yaml");
  Start();
  fs::create_directories(root_ / "..2026_2");
  Write(root_ / "..2026_2" / "app.yaml", "y");
  fs::create_directory_symlink("..2026_2", root_ / "..data_tmp");
  fs::rename(root_ / "..data_tmp", root_ / "..data");
  fs::remove_all(root_ / "..2026_1");
  const auto reasons = WaitForCalls(1);
  ASSERT_GE(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "inotify");
}

TEST_F(WatcherTest, TriggerRescansAtOnceAndPeriodicRescansHappen) {
  Start(300ms);
  watcher_->Trigger();
  auto reasons = WaitForCalls(1);
  ASSERT_GE(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "signal");
  reasons = WaitForCalls(2);
  ASSERT_GE(reasons.size(), 2u);
  EXPECT_EQ(reasons[1], "periodic");
  EXPECT_LT(std::chrono::steady_clock::now() - watcher_->LastActivity(), 2s);
}

TEST_F(WatcherTest, StopIsPrompt) {
  Start(1h);
  const auto start = std::chrono::steady_clock::now();
  watcher_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace mactl
