// ManifestLoader::LoadChanged against a full load: after every edit of a randomized sequence
// (rewrites, deletes, renames between names, duplicates across files, invalid documents, all
// three kinds), re-reading only the files the edit named gives exactly what a fresh full load
// gives.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "api/manifest_loader.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;

LoadOptions Options() { return LoadOptions{"p", {}, 100000, 256u << 20, true}; }

// Everything a ManifestSet says, in order, as text.
std::string Describe(const ManifestSet& set) {
  std::ostringstream out;
  out << "files " << set.files << "\n";
  for (const TrainingJobVersion& o : set.objects) {
    out << "version " << o.name << " " << o.source.ToString() << " " << o.project_id << " "
        << o.Ref("p").Key() << " " << static_cast<int>(o.desired_state) << " " << o.paused << "\n";
  }
  for (const TrainingJob& j : set.jobs) {
    out << "job " << j.name << " " << j.source.ToString() << " " << j.training_job_name << " "
        << static_cast<int>(j.desired_state) << "\n";
  }
  for (const TrainingJobPolicy& p : set.policies) {
    out << "policy " << p.name << " " << p.source.ToString() << " " << p.name_glob << " "
        << p.max_runtime.count() << "\n";
  }
  for (const ManifestError& e : set.errors) {
    out << "error " << e.ToString() << " in " << e.Document().ToString() << "\n";
  }
  return out.str();
}

class EditSequence {
 public:
  // `names`: the pool of metadata.names; a small one makes names collide across files.
  EditSequence(fs::path root, unsigned seed, std::size_t names = 5)
      : root_(std::move(root)), rng_(seed), names_(names) {}

  // Makes one random edit; returns the paths (relative) an inotify event would name.
  std::vector<std::string> Step() {
    const std::string file = Pick(kFiles);
    switch (Uniform(6)) {
      case 0:
        if (fs::exists(root_ / file)) {
          fs::remove(root_ / file);
          return {file};
        }
        [[fallthrough]];
      case 1: {  // rename one file over (or to) another: both names change
        const std::string to = Pick(kFiles);
        if (fs::exists(root_ / file) && to != file) {
          fs::create_directories((root_ / to).parent_path());
          fs::rename(root_ / file, root_ / to);
          return {file, to};
        }
        [[fallthrough]];
      }
      default:
        fs::create_directories((root_ / file).parent_path());
        std::ofstream(root_ / file) << Documents();
        return {file};
    }
  }

 private:
  static constexpr const char* kFiles[] = {"a.yaml",       "b.yml",   "team/c.yaml", "team/d.yaml",
                                           "team/x/e.yml", "f.yaml~", ".g.yaml",     "notes.txt"};
  template <std::size_t N>
  std::string Pick(const char* const (&from)[N]) {
    return from[Uniform(N)];
  }
  std::size_t Uniform(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }

  // Zero to three documents over the pool of names.
  std::string Documents() {
    std::string text;
    const std::size_t count = Uniform(4);
    for (std::size_t i = 0; i < count; ++i) {
      const std::string name = "n" + std::to_string(Uniform(names_));
      const std::string desired = Uniform(2) == 0 ? "Stopped" : "Running";
      if (i > 0) text += "---\n";
      switch (Uniform(6)) {
        case 0:
          text += "kind: [broken\n";
          break;
        case 2:
          text +=
              "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n"
              "  name: " +
              name + "\nspec:\n  nameGlob: t" + std::to_string(Uniform(3)) +
              "*\n  maxRuntime: " + std::to_string(1 + Uniform(3)) + "h\n";
          break;
        case 1:
          text += "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " +
                  name + "\nspec:\n  trainingJobName: t" + std::to_string(Uniform(3)) +
                  "\n  desiredState: " + desired + "\n";
          break;
        default:
          text +=
              "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n"
              "  name: " +
              name + "\nspec:\n  jobId: " + std::to_string(1 + Uniform(3)) +
              "\n  versionId: 1\n  desiredState: " + desired + "\n";
      }
    }
    return text;
  }

  const fs::path root_;
  std::mt19937 rng_;
  const std::size_t names_;
};

TEST(ManifestLoaderIncrementalTest, ReReadingTheNamedFilesGivesWhatAFullLoadGives) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    char tmpl[] = "/tmp/mactl-incremental-XXXXXX";
    const fs::path root = mkdtemp(tmpl);
    ManifestLoader incremental(root, Options());
    incremental.Load();
    EditSequence edits(root, seed);
    for (int step = 0; step < 60; ++step) {
      const std::vector<std::string> named = edits.Step();
      const std::string got = Describe(incremental.LoadChanged(named));
      const std::string want = Describe(ManifestLoader(root, Options()).Load());
      ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " named " << named.front();
    }
    fs::remove_all(root);
  }
}

// With a wide pool most edits define names no other file defines: LoadChanged then merges only
// the re-read files and says what they changed (ManifestDelta); the set is still a full load's,
// and the delta's objects are those of the re-read files before and after.
TEST(ManifestLoaderIncrementalTest, MergingOnlyTheReReadFilesGivesWhatAFullLoadGives) {
  std::size_t deltas = 0;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    char tmpl[] = "/tmp/mactl-incremental-XXXXXX";
    const fs::path root = mkdtemp(tmpl);
    ManifestLoader incremental(root, Options());
    std::uint64_t generation = incremental.Load().generation;
    EditSequence edits(root, seed, 40);
    for (int step = 0; step < 60; ++step) {
      const std::vector<std::string> named = edits.Step();
      const ManifestSet set = incremental.LoadChanged(named);
      ASSERT_EQ(Describe(set), Describe(ManifestLoader(root, Options()).Load()))
          << "seed " << seed << " step " << step << " named " << named.front();
      ASSERT_GT(set.generation, generation);
      if (set.delta) {
        ++deltas;
        EXPECT_EQ(set.delta->since, generation);
        for (const TrainingJobVersion* object : set.delta->versions_after) {
          EXPECT_TRUE(object->source.file == named.front() || object->source.file == named.back());
        }
      }
      generation = set.generation;
    }
    fs::remove_all(root);
  }
  EXPECT_GT(deltas, 100u);
}

TEST(ManifestLoaderIncrementalTest, FallsBackToAFullLoadForADirectoryOrBeforeTheFirstLoad) {
  char tmpl[] = "/tmp/mactl-incremental-XXXXXX";
  const fs::path root = mkdtemp(tmpl);
  fs::create_directories(root / "team");
  std::ofstream(root / "team" / "a.yaml")
      << "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n"
         "  name: a\nspec:\n  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n";
  ManifestLoader loader(root, Options());
  // Never loaded: the named file alone would miss team/a.yaml.
  EXPECT_EQ(loader.LoadChanged({"b.yaml"}).objects.size(), 1u);
  fs::rename(root / "team", root / "team.yaml");  // a directory with a manifest's name
  EXPECT_EQ(Describe(loader.LoadChanged({"team.yaml"})),
            Describe(ManifestLoader(root, Options()).Load()));
  fs::remove_all(root);
}

// LoadIfChanged answers nothing exactly when Load would return the set returned last; a twin
// loader fed the same calls, loading in full, says what Load would return.
TEST(ManifestLoaderIncrementalTest, LoadIfChangedSkipsOnlyWhatLoadWouldRepeat) {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    char tmpl[] = "/tmp/mactl-incremental-XXXXXX";
    const fs::path root = mkdtemp(tmpl);
    ManifestLoader loader(root, Options());
    ManifestLoader twin(root, Options());
    std::optional<ManifestSet> first = loader.LoadIfChanged();  // the first scan always answers
    ASSERT_TRUE(first.has_value());
    std::string last = Describe(*first);
    ASSERT_EQ(last, Describe(twin.Load()));
    EditSequence edits(root, seed);
    std::mt19937 rng(seed);
    for (int step = 0; step < 60; ++step) {
      const std::vector<std::string> named = edits.Step();
      if (rng() % 3 == 0) {  // an inotify burst in between
        last = Describe(loader.LoadChanged(named));
        ASSERT_EQ(last, Describe(twin.LoadChanged(named))) << "seed " << seed << " step " << step;
      }
      const std::optional<ManifestSet> got = loader.LoadIfChanged();
      const std::string want = Describe(twin.Load());
      if (got) last = Describe(*got);
      ASSERT_EQ(last, want) << "seed " << seed << " step " << step << " changed "
                            << got.has_value();
      ASSERT_FALSE(loader.LoadIfChanged().has_value()) << "seed " << seed << " step " << step;
    }
    fs::remove_all(root);
  }
}

TEST(ManifestLoaderIncrementalTest, LoadIfChangedAnswersAfterTheDirectoryCameBack) {
  char tmpl[] = "/tmp/mactl-incremental-XXXXXX";
  const fs::path root = mkdtemp(tmpl);
  std::ofstream(root / "a.yaml")
      << "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n"
         "  name: a\nspec:\n  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n";
  ManifestLoader loader(root, Options());
  ASSERT_EQ(loader.LoadIfChanged()->objects.size(), 1u);
  EXPECT_FALSE(loader.LoadIfChanged().has_value());
  fs::rename(root, root.string() + ".away");
  const std::optional<ManifestSet> missing = loader.LoadIfChanged();
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->errors.size(), 1u);
  fs::rename(root.string() + ".away", root);
  const std::optional<ManifestSet> back = loader.LoadIfChanged();
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->objects.size(), 1u);
  fs::remove_all(root);
}

}  // namespace
}  // namespace mactl
