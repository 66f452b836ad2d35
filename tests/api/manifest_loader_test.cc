#include "api/manifest_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

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
    ManifestLoader loader(root_, LoadOptions{project, {}, 100000, 256u << 20});
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

}  // namespace
}  // namespace mactl
