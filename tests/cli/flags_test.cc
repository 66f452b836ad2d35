#include "controller/cli/flags.h"

#include <gtest/gtest.h>

namespace mactl {
namespace {

using namespace std::chrono_literals;

Result<Flags> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "modelarts-controller");
  return ParseFlags(args);
}

TEST(Flags, RunDefaultsFollowTheContract) {
  Result<Flags> f = Parse({"run", "--manifests", "/m", "--endpoint", "https://x"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->listen, "127.0.0.1:8080");
  EXPECT_EQ(f->workers, 4);
  EXPECT_EQ(f->qps, 10);
  EXPECT_EQ(f->burst, 20);
  EXPECT_EQ(f->resync, 5min);
  EXPECT_EQ(f->poll, 10s);
  EXPECT_EQ(f->backoff_base, 1s);
  EXPECT_EQ(f->backoff_max, 5min);
  EXPECT_FALSE(f->dry_run);
  EXPECT_EQ(f->policy_max_stops, 20);
  EXPECT_EQ(f->log_format, "text");
  EXPECT_EQ(f->log_level, "info");
}

TEST(Flags, BothValueFormsAndBooleans) {
  Result<Flags> f = Parse({"run", "--manifests=/m", "--endpoint", "http://x", "--poll=250ms",
                           "--workers", "8", "--dry-run", "--qps", "2.5", "--log-format=json"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->poll, 250ms);
  EXPECT_EQ(f->workers, 8);
  EXPECT_TRUE(f->dry_run);
  EXPECT_EQ(f->qps, 2.5);
  EXPECT_EQ(f->log_format, "json");
}

TEST(Flags, PolicyMaxStopsAppliesToRunAndPlan) {
  Result<Flags> run =
      Parse({"run", "--manifests", "/m", "--endpoint", "http://x", "--policy-max-stops", "0"});
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->policy_max_stops, 0);
  Result<Flags> plan =
      Parse({"plan", "--manifests", "/m", "--endpoint", "http://x", "--policy-max-stops=500"});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->policy_max_stops, 500);
  EXPECT_FALSE(
      Parse({"run", "--manifests", "/m", "--endpoint", "http://x", "--policy-max-stops", "-1"})
          .ok());
}

TEST(Flags, BadInputIsAOneLineError) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"explode"},
      {"run", "--manifests", "/m"},                                     // no endpoint
      {"run", "--endpoint", "x"},                                       // no manifests
      {"run", "--manifests", "/m", "--endpoint", "x", "--poll", "10"},  // no unit
      {"run", "--manifests", "/m", "--endpoint", "x", "--workers", "0"},
      {"run", "--manifests", "/m", "--endpoint", "x", "--qps", "-1"},
      {"run", "--manifests", "/m", "--endpoint", "x", "--nope"},
      {"run", "--manifests", "/m", "--endpoint", "x", "--log-format", "xml"},
      {"run", "--manifests", "/m", "--endpoint", "x", "--backoff-base", "10s", "--backoff-max",
       "1s"},
      {"validate", "--manifests", "/m", "--workers", "3"},  // not a validate flag
      {"get"},
      {"run", "--manifests"},
  };
  for (const auto& args : bad) {
    Result<Flags> f = Parse(args);
    ASSERT_FALSE(f.ok()) << ::testing::PrintToString(args);
    EXPECT_EQ(f.error().message.find('\n'), std::string::npos);
    EXPECT_FALSE(f.error().message.empty());
  }
}

// The project id becomes a path segment of every request: "..", "a/b" or "%2e" would change
// the path, so --project-id follows the rule of spec.projectId.
TEST(Flags, ProjectIdHasTheShapeOfSpecProjectId) {
  for (const std::string& bad :
       std::vector<std::string>{"..", "a/b", "%2e%2e", "", "a b", std::string(65, 'a')}) {
    Result<Flags> f = Parse({"validate", "--manifests", "/m", "--project-id", bad});
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.error().message.find("--project-id"), std::string::npos) << f.error().message;
  }
  for (const std::string good : {"0f1e2d3c4b5a69788796a5b4c3d2e1f0", "proj_1-A", "x"}) {
    Result<Flags> f = Parse({"validate", "--manifests", "/m", "--project-id", good});
    ASSERT_TRUE(f.ok()) << good << ": " << f.error().message;
    EXPECT_EQ(f->project_id, good);
  }
}

TEST(Flags, EchoedArgumentsAreEscapedAndBounded) {
  const std::string hostile = "x\n\x1b[31mred\x07" + std::string(10000, 'a');
  const std::vector<std::vector<std::string>> bad = {
      {hostile},
      {"run", "--manifests", "/m", "--endpoint", "x", hostile},
      {"run", "--manifests", "/m", "--endpoint", "x", "--workers", hostile},
      {"run", "--manifests", "/m", "--endpoint", "x", "--log-format", hostile},
      {"run", "--manifests", "/m", "--endpoint", "x", "--poll", hostile},
  };
  for (const auto& args : bad) {
    Result<Flags> f = Parse(args);
    ASSERT_FALSE(f.ok());
    const std::string& message = f.error().message;
    EXPECT_LT(message.size(), 512u) << message.substr(0, 600);
    for (const char c : message) {
      EXPECT_GE(static_cast<unsigned char>(c), 0x20) << message.substr(0, 600);
    }
  }
}

TEST(Flags, EnvironmentLogLevelIsTheDefault) {
  Result<Flags> f = ParseFlags({"x", "validate", "--manifests", "/m"}, "debug");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->log_level, "debug");
  Result<Flags> g =
      ParseFlags({"x", "validate", "--manifests", "/m", "--log-level", "warn"}, "debug");
  EXPECT_EQ(g->log_level, "warn");
}

TEST(Flags, HelpAndVersion) {
  EXPECT_EQ(Parse({"--help"})->command, "help");
  EXPECT_EQ(Parse({"run", "--help"})->command, "help");
  EXPECT_EQ(Parse({"version"})->command, "version");
  EXPECT_NE(UsageText().find("--backoff-max"), std::string::npos);
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

TEST(Flags, GetTakesOneNameAndASelector) {
  Result<Flags> f =
      Parse({"get", "--server", "http://x", "bert-v10", "-l", "phase=Error,kind=TrainingJob"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->object_name, "bert-v10");
  EXPECT_EQ(f->selector, (std::vector<std::pair<std::string, std::string>>{
                             {"phase", "Error"}, {"kind", "TrainingJob"}}));
  EXPECT_TRUE(Parse({"get", "--server", "http://x", "--selector=phase=Pending"}).ok());
  EXPECT_FALSE(Parse({"get", "--server", "http://x", "a", "b"}).ok());
  for (const std::string bad : {"phase", "phase=", "name=x", "phase=Error,", "=x"}) {
    const Result<Flags> refused = Parse({"get", "--server", "http://x", "-l", bad});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("-l: want phase=PHASE"), std::string::npos);
  }
  EXPECT_FALSE(Parse({"plan", "--manifests", "/m", "--endpoint", "http://x", "name"}).ok());
}

}  // namespace
}  // namespace mactl
