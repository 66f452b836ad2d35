// The watcher on a real temporary directory with real inotify events, and its timers on a
// FakeClock: the test learns the watcher has seen a change from the deadline it then waits
// for (a bounded wait for the real event), and releases the debounce and the periodic rescan
// by advancing the clock. No fixed sleeps.

#include "controller/runtime/manifest_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeClock;

constexpr std::chrono::milliseconds kDebounce = 50ms;
constexpr std::chrono::milliseconds kCoalesce = 5ms;
// How long, in real time, a test waits for a real inotify event or a callback.
constexpr std::chrono::milliseconds kPatience = 10s;

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
  void Start(std::chrono::milliseconds rescan = 1h) {
    watcher_ = std::make_unique<ManifestWatcher>(
        ManifestWatcher::Options{root_, kDebounce, rescan, kCoalesce}, clock_,
        [this](const ScanRequest& scan) {
          std::lock_guard lock(mu_);
          reasons_.emplace_back(ScanReasonName(scan.reason));
          scans_.push_back(scan);
          cv_.notify_all();
        });
    ASSERT_TRUE(watcher_->Start().ok());
  }
  // Waits (bounded) until `n` callbacks have happened in total; returns the reasons so far.
  std::vector<std::string> WaitForCalls(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kPatience, [&] { return reasons_.size() >= n; });
    return reasons_;
  }
  std::size_t Calls() {
    std::lock_guard lock(mu_);
    return reasons_.size();
  }
  std::vector<ScanRequest> Scans() {
    std::lock_guard lock(mu_);
    return scans_;
  }
  // True once the watcher has seen a completed change made now: it then waits for the
  // coalescing window.
  bool ChangeSeen() { return clock_.BlockUntilWaitingFor(clock_.Now() + kCoalesce, kPatience); }
  // For a change made of several events: once the first is seen, moves the clock to when the
  // burst is scanned at the latest, so an event read only after the move is scanned with it.
  std::vector<std::string> ScanAfterChange(std::size_t n) {
    EXPECT_TRUE(ChangeSeen());
    clock_.Advance(ScanSchedule::kMaxHold);
    return WaitForCalls(n);
  }
  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  FakeClock clock_;
  fs::path root_;
  std::unique_ptr<ManifestWatcher> watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> reasons_;
  std::vector<ScanRequest> scans_;
};

TEST_F(WatcherTest, RejectsAMissingRoot) {
  ManifestWatcher watcher({root_ / "absent", kDebounce, 60s}, clock_, [](std::string_view) {});
  EXPECT_FALSE(watcher.Start().ok());
}

TEST_F(WatcherTest, InPlaceWriteIsReReadOnceExactlyOneCoalescingWindowAfterItsClose) {
  Write(root_ / "a.yaml", "x");
  Start();
  {
    std::ofstream out(root_ / "a.yaml", std::ios::trunc);
    out << "y";
    out.flush();
    out << "z";  // several writes of one save: one close, one callback
  }
  ASSERT_TRUE(ChangeSeen());
  clock_.Advance(kCoalesce - 1ms);
  EXPECT_EQ(Calls(), 0u);  // not due yet, whatever the scanning thread has done
  clock_.Advance(1ms);
  const auto reasons = WaitForCalls(1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "inotify");
  const std::vector<ScanRequest> scans = Scans();
  EXPECT_FALSE(scans[0].full);
  EXPECT_EQ(scans[0].files, std::vector<std::string>{"a.yaml"});
}

TEST_F(WatcherTest, AFileStillBeingWrittenIsNotReadUntilClosedOrQuiet) {
  Write(root_ / "a.yaml", "x");
  Start();
  std::ofstream out(root_ / "a.yaml", std::ios::trunc);
  out << "half";
  out.flush();  // IN_MODIFY, no close yet: wait for the debounce, not the coalescing window
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(clock_.Now() + kDebounce, kPatience));
  clock_.Advance(kDebounce - 1ms);
  EXPECT_EQ(Calls(), 0u);
  out << " and the rest";
  out.close();  // IN_CLOSE_WRITE: complete, read after the coalescing window
  ASSERT_TRUE(ChangeSeen());
  EXPECT_EQ(Calls(), 0u);
  clock_.Advance(kCoalesce);
  ASSERT_EQ(WaitForCalls(1).size(), 1u);
  EXPECT_EQ(Scans()[0].files, std::vector<std::string>{"a.yaml"});
}

TEST_F(WatcherTest, AWriterThatNeverClosesIsReadAfterTheDebounce) {
  Write(root_ / "b.yaml", "x");
  Start();
  std::ofstream out(root_ / "b.yaml", std::ios::in | std::ios::out);  // one write: one event
  out << "y";
  out.flush();
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(clock_.Now() + kDebounce, kPatience));
  clock_.Advance(kDebounce);
  ASSERT_EQ(WaitForCalls(1).size(), 1u);
  EXPECT_EQ(Scans()[0].files, std::vector<std::string>{"b.yaml"});
}

TEST_F(WatcherTest, EditorDroppingsAreIgnored) {
  Start();
  Write(root_ / ".a.yaml.swp", "x");
  Write(root_ / "a.yaml~", "x");
  Write(root_ / "a.yaml", "x");  // the only event that counts; it is read alone
  ASSERT_TRUE(ChangeSeen());
  clock_.Advance(ScanSchedule::kMaxHold);
  ASSERT_GE(WaitForCalls(1).size(), 1u);
  EXPECT_EQ(Scans()[0].files, std::vector<std::string>{"a.yaml"});
}

TEST_F(WatcherTest, RenameOverAndDeleteAreSeen) {
  Write(root_ / "a.yaml", "x");
  Start();
  Write(root_ / "a.yaml.tmp", "y");
  fs::rename(root_ / "a.yaml.tmp", root_ / "a.yaml");
  ASSERT_GE(ScanAfterChange(1).size(), 1u);
  const std::size_t before = Calls();
  fs::remove(root_ / "a.yaml");
  EXPECT_GT(ScanAfterChange(before + 1).size(), before);
}

TEST_F(WatcherTest, NewSubdirectoryAndAFileInsideItAreSeen) {
  Start();
  fs::create_directories(root_ / "team");
  ASSERT_GE(ScanAfterChange(1).size(), 1u);
  const std::size_t before = Calls();
  Write(root_ / "team" / "b.yaml", "x");
  EXPECT_GT(ScanAfterChange(before + 1).size(), before);
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
  const auto reasons = ScanAfterChange(1);
  ASSERT_GE(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "inotify");
  EXPECT_TRUE(Scans()[0].full);  // the swap names no manifest file: rescan everything
}

TEST_F(WatcherTest, TriggerRescansAtOnceWithoutTimePassing) {
  Start();
  watcher_->Trigger();
  const auto reasons = WaitForCalls(1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "signal");
}

TEST_F(WatcherTest, PeriodicRescanComesEveryIntervalOfTheClock) {
  const SteadyTime start = clock_.Now();
  Start(300ms);
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(start + 300ms, kPatience));
  clock_.Advance(299ms);
  EXPECT_EQ(Calls(), 0u);
  clock_.Advance(1ms);
  auto reasons = WaitForCalls(1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0], "periodic");
  // The next one is an interval after the last.
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(start + 600ms, kPatience));
  clock_.Advance(300ms);
  reasons = WaitForCalls(2);
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(reasons[1], "periodic");
}

TEST_F(WatcherTest, LastActivityFollowsTheClockWhileIdle) {
  const SteadyTime start = clock_.Now();
  Start();
  EXPECT_EQ(watcher_->LastActivity(), start);
  // Idle, the scanning thread still looks at the schedule once a second of the clock.
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(start + 1s, kPatience));
  clock_.Advance(1s);
  ASSERT_TRUE(clock_.BlockUntilWaitingFor(start + 2s, kPatience));
  EXPECT_EQ(watcher_->LastActivity(), start + 1s);
  EXPECT_EQ(Calls(), 0u);
}

TEST_F(WatcherTest, StopIsPrompt) {
  Start();
  const auto start = std::chrono::steady_clock::now();
  watcher_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace mactl
