// plan, validate and get as a user and a CI job run them.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

int RunCli(const TempDir& dir, const std::vector<std::string>& args, std::string* out,
           const std::string& name) {
  Process p(MACTL_CONTROLLER_BIN, args, dir.path(), name, {"OS_TOKEN=" + kToken});
  const int code = p.Wait();
  if (out != nullptr) *out = p.Stdout() + p.Stderr();
  return code;
}

TEST(Cli, PlanExitCodesSayWhetherChangesArePending) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped") + "---\n" +
                                      Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  const std::vector<std::string> plan = {"plan",       "--manifests",  manifests.string(),
                                         "--endpoint", sim.endpoint(), "--project-id",
                                         kProject};
  std::string out;
  EXPECT_EQ(RunCli(dir, plan, &out, "plan1"), 2) << out;
  EXPECT_NE(out.find("bert-finetune-v10"), std::string::npos);
  EXPECT_NE(out.find("stop"), std::string::npos);
  EXPECT_EQ(sim.StopCalls(10, 10), 0);  // plan never acts

  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  EXPECT_EQ(RunCli(dir, plan, &out, "plan2"), 0) << out;

  std::vector<std::string> unreachable = plan;
  unreachable[4] = "http://127.0.0.1:1";
  EXPECT_EQ(RunCli(dir, unreachable, &out, "plan3"), 1) << out;
}

TEST(Cli, ValidateReportsEveryErrorWithItsPosition) {
  TempDir dir;
  const fs::path tree = dir.path() / "tree";
  WriteFile(tree / "ok.yaml", Manifest("fine", 1, 1, "Stopped"));
  WriteFile(tree / "team/bad.yaml", Manifest("bad", 1, 1, "Stopped") + "  extra: 1\n");
  WriteFile(tree / "syntax.yml", "apiVersion: [\n");
  std::string out;
  EXPECT_EQ(RunCli(dir, {"validate", "--manifests", tree.string()}, &out, "v1"), 1);
  EXPECT_NE(out.find("team/bad.yaml:9:3: spec.extra: unknown field"), std::string::npos) << out;
  EXPECT_NE(out.find("syntax.yml:"), std::string::npos) << out;
  EXPECT_NE(out.find("1 valid object(s), 2 invalid document(s)"), std::string::npos) << out;

  fs::remove(tree / "team/bad.yaml");
  fs::remove(tree / "syntax.yml");
  EXPECT_EQ(RunCli(dir, {"validate", "--manifests", tree.string()}, &out, "v2"), 0) << out;
}

TEST(Cli, GetPrintsATableOrFailsWhenUnreachable) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("yolo-eval-v1") == "Converged"; }));
  std::string out;
  EXPECT_EQ(
      RunCli(dir, {"get", "--server", "http://127.0.0.1:" + std::to_string(controller.port())},
             &out, "get1"),
      0);
  EXPECT_NE(out.find("NAME"), std::string::npos);
  EXPECT_NE(out.find("yolo-eval-v1"), std::string::npos);
  EXPECT_NE(out.find("Converged"), std::string::npos) << out;
  EXPECT_EQ(RunCli(dir, {"get", "--server", "http://127.0.0.1:1"}, &out, "get2"), 1);
}

}  // namespace
}  // namespace mactl::integration
