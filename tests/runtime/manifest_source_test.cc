#include "controller/runtime/manifest_source.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/manifest_loader.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using testing::FakeClock;

// Keeps every log line's payload so a test can count events.
class CapturingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::size_t Count(std::string_view text) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const std::string& line : lines_) n += line.find(text) != std::string::npos ? 1u : 0u;
    return n;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

class RecordingSink final : public DesiredStateSink {
 public:
  void ApplySnapshot(DesiredSnapshot snapshot) override {
    snapshots.push_back(std::move(snapshot));
  }
  std::vector<DesiredSnapshot> snapshots;
};

ManifestError Invalid(const std::string& file, int line, const std::string& reason) {
  return ManifestError{SourcePosition{file, line, 1}, reason};
}

TrainingJobVersion Object(const std::string& name, std::int64_t job) {
  TrainingJobVersion o;
  o.name = name;
  o.job_id = job;
  o.version_id = 1;
  o.source = SourcePosition{name + ".yaml", 1, 1};
  return o;
}

class ManifestSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", log_));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::optional<double> Gauge(const std::string& suffix) {
    for (const prometheus::MetricFamily& family : registry_.Collect()) {
      if (family.name.size() >= suffix.size() &&
          family.name.compare(family.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          !family.metric.empty()) {
        return family.metric.front().gauge.value;
      }
    }
    return std::nullopt;
  }
  std::size_t Reported() { return log_->Count("invalid manifest"); }

  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<CapturingSink> log_ = std::make_shared<CapturingSink>();
  FakeClock clock_;
  prometheus::Registry registry_;
  ControllerMetrics metrics_{registry_, "test"};
  RecordingSink sink_;
  ManifestSource source_{"default-project", sink_, clock_, &metrics_};
};

TEST_F(ManifestSourceTest, HandsTheBuiltSnapshotToTheSink) {
  ManifestSet set;
  set.objects = {Object("a", 1), Object("b", 2)};
  set.errors = {Invalid("c.yaml", 3, "bad")};
  source_.Apply(std::move(set), "start");

  ASSERT_EQ(sink_.snapshots.size(), 1u);
  const DesiredSnapshot& s = sink_.snapshots.front();
  EXPECT_EQ(s.default_project_id, "default-project");
  EXPECT_EQ(s.objects.size(), 2u);
  EXPECT_EQ(s.versions.size(), 2u);
  EXPECT_NE(s.Find(VersionRef{"default-project", 1, 1}.Key()), nullptr);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors.front().reason, "bad");
}

TEST_F(ManifestSourceTest, HandsThePoliciesOnInManifestOrder) {
  ManifestSet set;
  set.objects = {Object("a", 1)};
  TrainingJobPolicy first;
  first.name = "cap";
  first.max_runtime = std::chrono::hours(72);
  TrainingJobPolicy second = first;
  second.name = "cap-exp";
  second.name_glob = "exp-*";
  set.policies = {first, second};
  source_.Apply(std::move(set), "start");
  ASSERT_EQ(sink_.snapshots.size(), 1u);
  EXPECT_EQ(sink_.snapshots[0].policies, (std::vector<TrainingJobPolicy>{first, second}));
  EXPECT_EQ(sink_.snapshots[0].versions.size(), 1u);
}

// From the file to the diff the manager sees: an incremental reload that edits only a policy
// changes no managed object and says that the policies changed.
TEST_F(ManifestSourceTest, AnIncrementalReloadOfAPolicyEditSaysPoliciesChanged) {
  char tmpl[] = "/tmp/mactl-source-XXXXXX";
  const std::filesystem::path root = mkdtemp(tmpl);
  const std::string object =
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: v\n"
      "spec:\n  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n---\n";
  const std::string policy =
      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: cap\n"
      "spec:\n  nameGlob: exp-*\n  maxRuntime: ";
  std::ofstream(root / "m.yaml") << object << policy << "72h\n";
  ManifestLoader loader(root, LoadOptions{"p", {}, 100000, 256u << 20, true});
  source_.Apply(loader.Load(), "start");
  std::ofstream(root / "m.yaml") << object << policy << "24h\n";
  source_.Apply(loader.LoadChanged({"m.yaml"}), "inotify");
  std::ofstream(root / "m.yaml") << object << policy << "24h\n";
  source_.Apply(loader.LoadChanged({"m.yaml"}), "inotify");  // rewritten, not changed
  std::filesystem::remove_all(root);

  ASSERT_EQ(sink_.snapshots.size(), 3u);
  ASSERT_EQ(sink_.snapshots[1].policies.size(), 1u);
  EXPECT_EQ(sink_.snapshots[1].policies[0].max_runtime, std::chrono::hours(24));
  const SnapshotDiff edit = DiffSnapshots(sink_.snapshots[0], sink_.snapshots[1]);
  EXPECT_TRUE(edit.policies_changed);
  EXPECT_TRUE(edit.added.empty() && edit.changed.empty() && edit.removed.empty());
  EXPECT_FALSE(DiffSnapshots(sink_.snapshots[1], sink_.snapshots[2]).policies_changed);
}

TEST_F(ManifestSourceTest, LogsAnErrorOnceUntilItDisappearsAndComesBack) {
  const ManifestError broken = Invalid("a.yaml", 2, "spec.jobId: required");
  const ManifestError other = Invalid("b.yaml", 5, "kind: unknown");

  source_.Apply(ManifestSet{{}, {broken}, 1}, "start");
  EXPECT_EQ(Reported(), 1u);
  source_.Apply(ManifestSet{{}, {broken, other}, 2}, "rescan");
  EXPECT_EQ(Reported(), 2u);  // only `other` is new
  source_.Apply(ManifestSet{{}, {broken, other}, 2}, "rescan");
  EXPECT_EQ(Reported(), 2u);
  source_.Apply(ManifestSet{{}, {other}, 2}, "inotify");  // `broken` fixed
  EXPECT_EQ(Reported(), 2u);
  source_.Apply(ManifestSet{{}, {broken, other}, 2}, "inotify");  // and broken again
  EXPECT_EQ(Reported(), 3u);
  EXPECT_EQ(sink_.snapshots.size(), 5u);
}

TEST_F(ManifestSourceTest, RecordsWhetherTheReloadWasClean) {
  source_.Apply(ManifestSet{{}, {Invalid("a.yaml", 1, "bad")}, 1}, "start");
  EXPECT_EQ(Gauge("manifests_last_reload_successful"), 0.0);
  EXPECT_EQ(Gauge("manifests_last_reload_success_timestamp_seconds"), 0.0);

  clock_.Advance(std::chrono::seconds(7));
  source_.Apply(ManifestSet{{Object("a", 1)}, {}, 1}, "inotify");
  EXPECT_EQ(Gauge("manifests_last_reload_successful"), 1.0);
  EXPECT_EQ(Gauge("manifests_last_reload_success_timestamp_seconds"),
            std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count());
}

// An unchanged rescan (ManifestLoader::LoadIfChanged answered nothing) records the reload as
// the scan it repeats did, and hands no snapshot to the sink.
TEST_F(ManifestSourceTest, AnUnchangedRescanRecordsTheReloadWithoutASnapshot) {
  source_.Apply(ManifestSet{{Object("a", 1)}, {}, 1}, "start");
  clock_.Advance(std::chrono::seconds(30));
  source_.Unchanged("rescan");
  EXPECT_EQ(sink_.snapshots.size(), 1u);
  EXPECT_EQ(Gauge("manifests_last_reload_successful"), 1.0);
  EXPECT_EQ(Gauge("manifests_last_reload_success_timestamp_seconds"),
            std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count());

  source_.Apply(ManifestSet{{}, {Invalid("a.yaml", 1, "bad")}, 1}, "inotify");
  const std::optional<double> last_success =
      Gauge("manifests_last_reload_success_timestamp_seconds");
  clock_.Advance(std::chrono::seconds(30));
  source_.Unchanged("rescan");
  EXPECT_EQ(sink_.snapshots.size(), 2u);
  EXPECT_EQ(Gauge("manifests_last_reload_successful"), 0.0);  // still the broken file
  EXPECT_EQ(Gauge("manifests_last_reload_success_timestamp_seconds"), last_success);
  EXPECT_EQ(Reported(), 1u);  // not reported again
}

// 100k distinct errors, rescanned three times: with a linear scan of the previous errors per
// error (10^10 string comparisons) this would not finish within the test timeout.
TEST_F(ManifestSourceTest, ManyErrorsAreReportedOncePerAppearance) {
  constexpr int kErrors = 100000;
  auto scan = [&](int first) {
    ManifestSet set;
    set.files = 1;
    set.errors.reserve(kErrors);
    for (int i = first; i < first + kErrors; ++i) {
      set.errors.push_back(Invalid("many.yaml", i, "metadata.name: required"));
    }
    return set;
  };
  spdlog::default_logger_raw()->set_level(spdlog::level::err);

  source_.Apply(scan(1), "start");
  EXPECT_EQ(Reported(), static_cast<std::size_t>(kErrors));
  source_.Apply(scan(1), "rescan");
  EXPECT_EQ(Reported(), static_cast<std::size_t>(kErrors));
  // Half of them moved down by 50k lines: those are new errors.
  source_.Apply(scan(1 + kErrors / 2), "inotify");
  EXPECT_EQ(Reported(), static_cast<std::size_t>(kErrors + kErrors / 2));
  ASSERT_EQ(sink_.snapshots.size(), 3u);
  EXPECT_EQ(sink_.snapshots.back().errors.size(), static_cast<std::size_t>(kErrors));
}

TEST(CheckInitialManifestsTest, AMissingProjectIsAStartUpErrorFoundByItsCode) {
  ManifestSet set;
  set.files = 2;
  set.errors = {Invalid("a.yaml", 1, "spec.projectId: must be 1-64 letters, got \"--project-id\""),
                ManifestError{SourcePosition{"b.yaml", 4, 1},
                              "spec.projectId is not set and no --project-id default was given",
                              ManifestErrorCode::kMissingProjectId}};
  const Status status = CheckInitialManifests(set);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "b.yaml:4:1: spec.projectId is not set and no --project-id default was given (set "
            "--project-id or spec.projectId everywhere)");
}

TEST(CheckInitialManifestsTest, ErrorTextAloneIsNotTheStartUpRule) {
  ManifestSet set;
  set.files = 1;
  set.errors = {Invalid("a.yaml", 1, "spec.projectId: must be 1-64 letters, got \"--project-id\"")};
  EXPECT_TRUE(CheckInitialManifests(set).ok());
}

TEST(CheckInitialManifestsTest, NoReadableFileIsAStartUpError) {
  ManifestSet set;
  set.errors = {Invalid(".", 1, "not a directory"), Invalid("z", 1, "later")};
  const Status status = CheckInitialManifests(set);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, ".:1:1: not a directory");

  EXPECT_TRUE(CheckInitialManifests(ManifestSet{}).ok());  // an empty directory is fine
  set.files = 1;
  EXPECT_TRUE(CheckInitialManifests(set).ok());  // some files read: run and report
}

}  // namespace
}  // namespace mactl
