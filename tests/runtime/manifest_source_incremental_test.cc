// The snapshot an edit publishes, updated from the one before (ManifestLoader::LoadChanged's
// delta, UpdateDesiredSnapshot), against the oracle: a full BuildDesiredSnapshot of a fresh
// full load of the same files. After every edit of randomized sequences the snapshots and the
// diffs from the snapshot before are the same.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "api/manifest_loader.h"
#include "controller/core/desired_snapshot.h"
#include "controller/runtime/manifest_source.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;

LoadOptions Options() { return LoadOptions{"p", {}, 100000, 256u << 20, true}; }

class RecordingSink final : public DesiredStateSink {
 public:
  void ApplySnapshot(DesiredSnapshot snapshot) override {
    snapshots.push_back(std::move(snapshot));
  }
  std::vector<DesiredSnapshot> snapshots;
};

template <typename Managed>
void DescribeUnit(std::ostringstream& out, const std::string& key, const Managed& m) {
  out << key << " " << static_cast<int>(m.desired) << m.paused << m.conflict << " "
      << (m.max_runtime ? m.max_runtime->count() : -1) << " [";
  for (const std::string& name : m.object_names) out << name << " ";
  out << "]\n";
}

std::string Describe(const DesiredSnapshot& s) {
  std::ostringstream out;
  out << s.versions.size() << " versions, " << s.training_jobs.size() << " jobs\n";
  for (const auto& [key, managed] : s.versions) {
    DescribeUnit(out, key, managed);
    EXPECT_EQ(s.Find(key), &managed);
  }
  for (const auto& [key, managed] : s.training_jobs) DescribeUnit(out, key, managed);
  for (const TrainingJobVersion& o : s.objects) out << "object " << o.name << "\n";
  for (const TrainingJob& j : s.job_objects) out << "job object " << j.name << "\n";
  for (const TrainingJobPolicy& p : s.policies) out << "policy " << p.name << "\n";
  for (const ManifestError& e : s.errors) out << "error " << e.ToString() << "\n";
  return out.str();
}

std::string Describe(const SnapshotDiff& d) {
  std::ostringstream out;
  for (const std::string& k : d.added) out << "+" << k << " ";
  for (const std::string& k : d.changed) out << "~" << k << " ";
  for (const std::string& k : d.removed) out << "-" << k << " ";
  out << d.policies_changed;
  return out.str();
}

DesiredSnapshot Full(ManifestSet set) {
  DesiredSnapshot s = BuildDesiredSnapshot(std::move(set.objects), std::move(set.errors), "p");
  AddTrainingJobs(s, std::move(set.jobs));
  s.policies = std::move(set.policies);
  return s;
}

// Random edits of a few files over a pool of names wide enough that most edits touch names
// no other file defines (the incremental path), and narrow enough that some collide (its
// fallbacks): names across files, versions named by several manifests, pause, maxRuntime.
class Edits {
 public:
  Edits(fs::path root, unsigned seed) : root_(std::move(root)), rng_(seed) {}

  std::vector<std::string> Step() {
    const std::string file = kFiles[Uniform(std::size(kFiles))];
    if (Uniform(8) == 0 && fs::exists(root_ / file)) {
      fs::remove(root_ / file);
      return {file};
    }
    fs::create_directories((root_ / file).parent_path());
    std::ofstream(root_ / file) << Documents();
    return {file};
  }

 private:
  static constexpr const char* kFiles[] = {"a.yaml", "b.yaml", "c.yml", "team/d.yaml",
                                           "team/x/e.yaml"};
  std::size_t Uniform(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  std::string Document() {
    const std::string name = "n" + std::to_string(Uniform(60));
    const bool running = Uniform(2) == 0;
    const std::string meta = "metadata:\n  name: " + name + "\n" +
                             (Uniform(6) == 0 ? "  annotations:\n    "
                                                "modelarts-controller.io/paused: \"true\"\n"
                                              : "");
    const std::string desired =
        std::string("  desiredState: ") + (running ? "Running" : "Stopped") + "\n" +
        (running && Uniform(2) == 0 ? "  maxRuntime: " + std::to_string(1 + Uniform(3)) + "h\n"
                                    : "");
    switch (Uniform(8)) {
      case 0:
        return "kind: [broken\n";
      case 1:
        return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\n" + meta +
               "spec:\n  nameGlob: t*\n  maxRuntime: 2h\n";
      case 2:
      case 3:
        return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\n" + meta +
               "spec:\n  trainingJobName: t" + std::to_string(Uniform(12)) + "\n" + desired;
      default:
        return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\n" + meta +
               "spec:\n  jobId: " + std::to_string(1 + Uniform(24)) + "\n  versionId: 1\n" +
               desired;
    }
  }
  std::string Documents() {
    std::string text;
    const std::size_t count = Uniform(6);
    for (std::size_t i = 0; i < count; ++i) text += (i > 0 ? "---\n" : "") + Document();
    return text;
  }

  const fs::path root_;
  std::mt19937 rng_;
};

TEST(ManifestSourceIncrementalTest, AnEditsSnapshotAndDiffAreThoseOfAFullBuild) {
  testing::FakeClock clock;
  std::size_t updated = 0;
  std::size_t edits_made = 0;
  for (unsigned seed = 1; seed <= 30; ++seed) {
    char tmpl[] = "/tmp/mactl-source-incremental-XXXXXX";
    const fs::path root = mkdtemp(tmpl);
    Edits edits(root, seed);
    for (int i = 0; i < 5; ++i) edits.Step();
    ManifestLoader loader(root, Options());
    RecordingSink sink;
    ManifestSource source("p", sink, clock, nullptr);
    source.Apply(loader.Load(), "start");
    std::vector<DesiredSnapshot> oracle;
    oracle.push_back(Full(ManifestLoader(root, Options()).Load()));
    for (int step = 0; step < 80; ++step, ++edits_made) {
      const std::vector<std::string> named = edits.Step();
      ManifestSet set = loader.LoadChanged(named);
      if (set.delta && UpdateDesiredSnapshot(sink.snapshots.back(), *set.delta)) ++updated;
      source.Apply(std::move(set), "inotify");
      oracle.push_back(Full(ManifestLoader(root, Options()).Load()));
      const std::size_t n = sink.snapshots.size();
      ASSERT_EQ(Describe(sink.snapshots[n - 1]), Describe(oracle.back()))
          << "seed " << seed << " step " << step << " " << named.front();
      ASSERT_EQ(Describe(DiffSnapshots(sink.snapshots[n - 2], sink.snapshots[n - 1])),
                Describe(DiffSnapshots(oracle[oracle.size() - 2], oracle.back())))
          << "seed " << seed << " step " << step << " " << named.front();
    }
    fs::remove_all(root);
  }
  // Both paths were taken: most edits updated, some fell back to a full build.
  EXPECT_GT(updated, edits_made / 4);
  EXPECT_LT(updated, edits_made);
}

}  // namespace
}  // namespace mactl
