// validate over every kind: each error printed with its position, and a summary that counts
// valid objects, valid policies and invalid documents (not errors: one document may have
// several).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "controller/cli/commands.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;

const std::string kVersion =
    "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: v\n"
    "spec:\n  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n";
const std::string kPolicy =
    "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: cap\n"
    "spec:\n  nameGlob: exp-*\n  maxRuntime: 72h\n";
// One document, three errors.
const std::string kBrokenPolicy =
    "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: Bad\n"
    "spec:\n  jobKinds: []\n  nameGlob: \"exp-[\"\n";

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mactl-validate-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    flags_.manifests = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }
  int Validate() {
    std::ostringstream out;
    const int code = RunValidate(flags_, out);
    out_ = out.str();
    return code;
  }

  fs::path dir_;
  Flags flags_;
  std::string out_;
};

TEST_F(ValidateTest, CountsPoliciesBesideObjects) {
  flags_.project_id = "p";
  Write("a.yaml", kVersion + "---\n" + kPolicy);
  EXPECT_EQ(Validate(), 0) << out_;
  EXPECT_EQ(out_, "1 file(s), 1 valid object(s), 1 valid policy, 0 invalid document(s)\n");
}

TEST_F(ValidateTest, CountsInvalidDocumentsNotErrors) {
  Write("a.yaml", kVersion + "---\n" + kBrokenPolicy);
  Write("b.yaml", "kind: [\n");
  EXPECT_EQ(Validate(), 1) << out_;
  EXPECT_NE(out_.find("a.yaml:13:9: metadata.name: must be a DNS-1123 label"), std::string::npos)
      << out_;
  EXPECT_NE(out_.find("a.yaml:15:13: spec.jobKinds: must name at least one kind"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("a.yaml:16:13: spec.nameGlob: not a valid glob: unclosed '['"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("a.yaml:15:3: missing required field spec.maxRuntime"), std::string::npos)
      << out_;
  EXPECT_NE(out_.find("2 file(s), 1 valid object(s), 0 valid policies, 2 invalid document(s)\n"),
            std::string::npos)
      << out_;
  // Offline, a missing spec.projectId is only a note: run needs --project-id.
  EXPECT_NE(out_.find("1 manifest(s) set no spec.projectId: run needs --project-id"),
            std::string::npos)
      << out_;
}

TEST_F(ValidateTest, ADuplicateNameAcrossKindsIsOneInvalidDocument) {
  Write("a.yaml", kPolicy + "---\n" +
                      "apiVersion: modelarts-controller.io/v1\nkind: TrainingJob\nmetadata:\n"
                      "  name: cap\nspec:\n  trainingJobName: x\n  desiredState: Stopped\n");
  EXPECT_EQ(Validate(), 1) << out_;
  EXPECT_NE(out_.find("a.yaml:8:1: duplicate metadata.name \"cap\" (first defined at a.yaml:1:1)"),
            std::string::npos)
      << out_;
  EXPECT_NE(out_.find("0 valid object(s), 1 valid policy, 1 invalid document(s)"),
            std::string::npos)
      << out_;
}

}  // namespace
}  // namespace mactl
