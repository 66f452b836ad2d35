#include "api/manifest_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

namespace mactl {
namespace {

namespace fs = std::filesystem;

std::string Manifest(const std::string& name, int job, const std::string& extra_spec = "") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: " +
         name + "\nspec:\n  jobId: " + std::to_string(job) +
         "\n  versionId: 1\n  desiredState: Stopped\n" + extra_spec;
}

class ManifestLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mactl-loader-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& relative, const std::string& content) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content;
  }
  ManifestSet Load(const std::string& project = "p") {
    ManifestLoader loader(root_, LoadOptions{project, {}, 100000, 256u << 20, true});
    return loader.Load();
  }
  std::vector<std::string> Names(const ManifestSet& set) {
    std::vector<std::string> names;
    for (const auto& o : set.objects) names.push_back(o.name);
    return names;
  }
  fs::path root_;
};

TEST_F(ManifestLoaderTest, ReadsYamlAndYmlRecursivelyAndSkipsEverythingElse) {
  Write("a.yaml", Manifest("a", 1));
  Write("team/b.yml", Manifest("b", 2));
  Write("team/deeper/c.yaml", Manifest("c", 3));
  Write("notes.txt", "not yaml");
  Write(".hidden.yaml", Manifest("hidden", 4));
  Write(".git/d.yaml", Manifest("git", 5));
  Write("a.yaml~", Manifest("backup", 6));
  Write("team/.e.yaml.swp", "garbage");
  const ManifestSet set = Load();
  EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
  EXPECT_EQ(Names(set), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(set.files, 3u);
}

TEST_F(ManifestLoaderTest, FollowsTopLevelSymlinksLikeAConfigMapVolume) {
  Write("..2026_11_28_10_00_00.123/app.yaml", Manifest("app", 1));
  fs::create_directory_symlink("..2026_11_28_10_00_00.123", root_ / "..data");
  fs::create_symlink("..data/app.yaml", root_ / "app.yaml");
  const ManifestSet set = Load();
  EXPECT_TRUE(set.errors.empty());
  EXPECT_EQ(Names(set), std::vector<std::string>{"app"});
  EXPECT_EQ(set.objects[0].source.file, "app.yaml");
}

TEST_F(ManifestLoaderTest, DoesNotFollowDeeperSymlinksSoLoopsCannotHappen) {
  Write("dir/a.yaml", Manifest("a", 1));
  fs::create_directory_symlink(root_, root_ / "dir" / "loop");
  fs::create_directory_symlink(root_, root_ / "top-loop");  // followed once, not further
  const ManifestSet set = Load();
  // dir/a.yaml directly, and once more through the top-level link (a duplicate name);
  // neither link is followed a second time.
  EXPECT_EQ(set.objects.size(), 1u);
  EXPECT_EQ(set.files, 2u);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].position.file, "top-loop/dir/a.yaml");
}

TEST_F(ManifestLoaderTest, DanglingLinkAndMissingDirectoryAreErrors) {
  fs::create_symlink("nowhere.yaml", root_ / "gone.yaml");
  const ManifestSet set = Load();
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "gone.yaml:1:1: cannot read: dangling symlink or missing file");

  ManifestLoader missing(root_ / "absent", {});
  EXPECT_FALSE(missing.Load().errors.empty());
}

TEST_F(ManifestLoaderTest, DuplicateNamesAcrossFilesKeepTheFirst) {
  Write("a.yaml", Manifest("same", 1));
  Write("b.yaml", Manifest("same", 2));
  const ManifestSet set = Load();
  ASSERT_EQ(set.objects.size(), 1u);
  EXPECT_EQ(set.objects[0].job_id, 1);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "b.yaml:1:1: duplicate metadata.name \"same\" (first defined at a.yaml:1:1)");
}

TEST_F(ManifestLoaderTest, MissingProjectWithoutDefaultIsAnErrorOnThatDocumentOnly) {
  Write("a.yaml", Manifest("a", 1));
  Write("b.yaml", Manifest("b", 2, "  projectId: explicit\n"));
  const ManifestSet set = Load("");
  EXPECT_EQ(Names(set), std::vector<std::string>{"b"});
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].code, ManifestErrorCode::kMissingProjectId);
  EXPECT_EQ(set.errors[0].reason,
            "spec.projectId is not set and no --project-id default was given");
}

TEST_F(ManifestLoaderTest, OnlyTheMissingProjectErrorCarriesItsCode) {
  // A value quoting "--project-id" in another error must not look like the start-up rule.
  Write("a.yaml", Manifest("a", 1, "  projectId: \"no --project-id\"\n"));
  Write("b.yaml", Manifest("c", 2, "  projectId: ok\n"));
  Write("c.yaml", Manifest("c", 3, "  projectId: ok\n"));  // a duplicate name
  const ManifestSet set = Load("");
  ASSERT_EQ(set.errors.size(), 2u);
  for (const ManifestError& e : set.errors) {
    EXPECT_EQ(e.code, ManifestErrorCode::kInvalid) << e.ToString();
  }
  EXPECT_NE(set.errors[0].reason.find("--project-id"), std::string::npos);
}

TEST_F(ManifestLoaderTest, RescanReparsesOnlyChangedFilesAndSeesEdits) {
  Write("a.yaml", Manifest("a", 1));
  ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20});
  EXPECT_EQ(loader.Load().objects.at(0).job_id, 1);
  Write("a.yaml", Manifest("a", 12345));  // different size → different stamp
  EXPECT_EQ(loader.Load().objects.at(0).job_id, 12345);
  fs::remove(root_ / "a.yaml");
  EXPECT_TRUE(loader.Load().objects.empty());
}

TEST_F(ManifestLoaderTest, CapsAreErrorsNotCrashes) {
  Write("a.yaml", Manifest("a", 1));
  Write("b.yaml", Manifest("b", 2));
  LoadOptions options{"p", {}, 1, 256u << 20};
  ManifestLoader few_files(root_, options);
  EXPECT_FALSE(few_files.Load().errors.empty());
  options = LoadOptions{"p", {}, 100000, 100};
  ManifestLoader few_bytes(root_, options);
  EXPECT_FALSE(few_bytes.Load().errors.empty());
}

std::string JobManifest(const std::string& name, const std::string& extra_spec = "") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n  name: " + name +
         "\nspec:\n  trainingJobName: job-" + name + "\n  desiredState: Stopped\n" + extra_spec;
}

TEST_F(ManifestLoaderTest, BothKindsLoadSideBySide) {
  Write("a.yaml", Manifest("a", 1) + "---\n" + JobManifest("b"));
  Write("team/c.yaml", JobManifest("c", "  projectId: other\n"));
  const ManifestSet set = Load();
  EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
  EXPECT_EQ(Names(set), std::vector<std::string>{"a"});
  ASSERT_EQ(set.jobs.size(), 2u);
  EXPECT_EQ(set.jobs[0].name, "b");
  EXPECT_EQ(set.jobs[0].Ref("p").Key(), "p/name:job-b");
  EXPECT_EQ(set.jobs[1].Ref("p").Key(), "other/name:job-c");
  EXPECT_EQ(set.files, 2u);
}

TEST_F(ManifestLoaderTest, NamesAreUniqueAcrossBothKinds) {
  // Across files: the first file's definition wins, whatever its kind.
  Write("a.yaml", JobManifest("same"));
  Write("b.yaml", Manifest("same", 2));
  // Within one file: the earlier document wins, whatever its kind.
  Write("c.yaml", Manifest("twice", 3) + "---\n" + JobManifest("twice"));
  Write("d.yaml", JobManifest("again") + "---\n" + Manifest("again", 4));
  const ManifestSet set = Load();
  ASSERT_EQ(set.errors.size(), 3u);
  EXPECT_EQ(set.errors[0].ToString(),
            "b.yaml:1:1: duplicate metadata.name \"same\" (first defined at a.yaml:1:1)");
  EXPECT_EQ(set.errors[1].ToString(),
            "c.yaml:9:1: duplicate metadata.name \"twice\" (first defined at c.yaml:1:1)");
  EXPECT_EQ(set.errors[2].ToString(),
            "d.yaml:8:1: duplicate metadata.name \"again\" (first defined at d.yaml:1:1)");
  EXPECT_EQ(Names(set), std::vector<std::string>{"twice"});
  ASSERT_EQ(set.jobs.size(), 2u);
  EXPECT_EQ(set.jobs[0].name, "same");
  EXPECT_EQ(set.jobs[1].name, "again");
}

TEST_F(ManifestLoaderTest, AJobWithoutProjectNeedsTheDefault) {
  Write("a.yaml", JobManifest("a"));
  Write("b.yaml", JobManifest("b", "  projectId: explicit\n"));
  const ManifestSet set = Load("");
  ASSERT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.jobs[0].name, "b");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "a.yaml:1:1: spec.projectId is not set and no --project-id default was given");
}

TEST_F(ManifestLoaderTest, ACallerThatDoesNotAcceptJobsGetsAnErrorForEachNotSilence) {
  Write("a.yaml", Manifest("a", 1) + "---\n" + JobManifest("b"));
  ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20});
  const ManifestSet set = loader.Load();
  EXPECT_EQ(Names(set), std::vector<std::string>{"a"});
  EXPECT_TRUE(set.jobs.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "a.yaml:9:1: kind TrainingJob is not handled by this command yet");
}

TEST_F(ManifestLoaderTest, RescanSeesJobEdits) {
  Write("a.yaml", JobManifest("a"));
  ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20, true});
  EXPECT_EQ(loader.Load().jobs.at(0).desired_state, DesiredState::kStopped);
  // A different size, so the file's stamp changes.
  Write("a.yaml",
        "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n"
        "  name: a\nspec:\n  trainingJobName: job-renamed\n  desiredState: Running\n");
  const ManifestSet edited = loader.Load();
  EXPECT_EQ(edited.jobs.at(0).desired_state, DesiredState::kRunning);
  EXPECT_EQ(edited.jobs.at(0).training_job_name, "job-renamed");
}

std::string PolicyManifest(const std::string& name,
                           const std::string& spec = "  maxRuntime: 72h\n") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: " +
         name + "\nspec:\n" + spec;
}

TEST_F(ManifestLoaderTest, PoliciesLoadBesideObjectsInMultiDocumentFiles) {
  Write("a.yaml", Manifest("a", 1) + "---\n" + PolicyManifest("cap") + "---\n" + JobManifest("b"));
  Write("team/p.yaml", PolicyManifest("cap-exp",
                                      "  projectId: other\n  nameGlob: exp-*\n"
                                      "  maxRuntime: 1h\n"));
  const ManifestSet set = Load();
  EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
  EXPECT_EQ(Names(set), std::vector<std::string>{"a"});
  EXPECT_EQ(set.jobs.size(), 1u);
  ASSERT_EQ(set.policies.size(), 2u);
  EXPECT_EQ(set.policies[0].name, "cap");
  EXPECT_EQ(set.policies[0].source.ToString(), "a.yaml:9:1");
  EXPECT_EQ(set.policies[0].ProjectId("p"), "p");
  EXPECT_EQ(set.policies[1].name, "cap-exp");
  EXPECT_EQ(set.policies[1].ProjectId("p"), "other");
  EXPECT_EQ(set.policies[1].name_glob, "exp-*");
}

TEST_F(ManifestLoaderTest, NamesAreUniqueAcrossAllThreeKinds) {
  Write("a.yaml", PolicyManifest("same"));
  Write("b.yaml", Manifest("same", 2) + "---\n" + JobManifest("same"));
  Write("c.yaml", JobManifest("twice") + "---\n" + PolicyManifest("twice"));
  Write("d.yaml", PolicyManifest("again") + "---\n" + PolicyManifest("again"));
  const ManifestSet set = Load();
  ASSERT_EQ(set.errors.size(), 4u);
  EXPECT_EQ(set.errors[0].ToString(),
            "b.yaml:1:1: duplicate metadata.name \"same\" (first defined at a.yaml:1:1)");
  EXPECT_EQ(set.errors[1].ToString(),
            "b.yaml:9:1: duplicate metadata.name \"same\" (first defined at a.yaml:1:1)");
  EXPECT_EQ(set.errors[2].ToString(),
            "c.yaml:8:1: duplicate metadata.name \"twice\" (first defined at c.yaml:1:1)");
  EXPECT_EQ(set.errors[3].ToString(),
            "d.yaml:7:1: duplicate metadata.name \"again\" (first defined at d.yaml:1:1)");
  EXPECT_TRUE(set.objects.empty());
  ASSERT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.jobs[0].name, "twice");
  ASSERT_EQ(set.policies.size(), 2u);
  EXPECT_EQ(set.policies[0].name, "same");
  EXPECT_EQ(set.policies[1].name, "again");
}

TEST_F(ManifestLoaderTest, APolicyWithoutProjectNeedsTheDefault) {
  Write("a.yaml", PolicyManifest("a"));
  Write("b.yaml", PolicyManifest("b", "  projectId: explicit\n  maxRuntime: 1h\n"));
  const ManifestSet set = Load("");
  ASSERT_EQ(set.policies.size(), 1u);
  EXPECT_EQ(set.policies[0].name, "b");
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].ToString(),
            "a.yaml:1:1: spec.projectId is not set and no --project-id default was given");
  EXPECT_EQ(set.errors[0].code, ManifestErrorCode::kMissingProjectId);
}

TEST_F(ManifestLoaderTest, IncrementalReloadSeesPolicyEdits) {
  Write("a.yaml", Manifest("a", 1) + "---\n" + PolicyManifest("cap"));
  ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20, true});
  ASSERT_EQ(loader.Load().policies.at(0).max_runtime, std::chrono::hours(72));
  Write("a.yaml", Manifest("a", 1) + "---\n" + PolicyManifest("cap", "  maxRuntime: 24h\n"));
  const ManifestSet edited = loader.LoadChanged({"a.yaml"});
  ASSERT_EQ(edited.policies.size(), 1u);
  EXPECT_EQ(edited.policies[0].max_runtime, std::chrono::hours(24));
  // An invalid edit drops the policy and reports why; the object beside it stays.
  Write("a.yaml", Manifest("a", 1) + "---\n" + PolicyManifest("cap", "  maxRuntime: 10s\n"));
  const ManifestSet broken = loader.LoadChanged({"a.yaml"});
  EXPECT_TRUE(broken.policies.empty());
  EXPECT_EQ(Names(broken), std::vector<std::string>{"a"});
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].ToString(),
            "a.yaml:15:15: spec.maxRuntime: must be at least 1m, got \"10s\"");
  fs::remove(root_ / "a.yaml");
  EXPECT_TRUE(loader.LoadChanged({"a.yaml"}).policies.empty());
}

}  // namespace
}  // namespace mactl
