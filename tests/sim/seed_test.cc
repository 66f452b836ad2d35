// Seed files, generated jobs, the simulator's flags and its start-up helpers.

#include "sim/seed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "fakes/fake_clock.h"
#include "sim/job_statuses.h"
#include "sim/sim_config.h"

namespace mactl::sim {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "simseed-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(SeedTest, ParsesProjectsJobsAndVersions) {
  auto seed = ParseSeed(R"({"projects":[{"project_id":"p1","jobs":[
      {"job_id":10,"job_name":"bert","job_desc":"d","versions":[{"version_id":9,"status":10},
                                                                {"version_id":10,"status":8}]},
      {"job_id":11,"job_name":"x","workspace_id":"ws1",
       "versions":[{"version_id":1,"status":7,"version_name":"V007"}]}]},
      {"project_id":"p2","jobs":[]}]})");
  ASSERT_TRUE(seed) << seed.error().ToString();
  ASSERT_EQ(seed->projects.size(), 2u);
  const ProjectSeed& p1 = seed->projects[0];
  EXPECT_EQ(p1.project_id, "p1");
  ASSERT_EQ(p1.jobs.size(), 2u);
  EXPECT_EQ(p1.jobs[0].job_id, 10);
  EXPECT_EQ(p1.jobs[0].job_name, "bert");
  EXPECT_EQ(p1.jobs[0].job_desc, "d");
  EXPECT_EQ(p1.jobs[0].workspace_id, "0");
  ASSERT_EQ(p1.jobs[0].versions.size(), 2u);
  EXPECT_EQ(p1.jobs[0].versions[1].version_id, 10);
  EXPECT_EQ(p1.jobs[0].versions[1].status, 8);
  EXPECT_EQ(p1.jobs[1].workspace_id, "ws1");
  EXPECT_EQ(p1.jobs[1].versions[0].version_name, "V007");
  EXPECT_TRUE(seed->projects[1].jobs.empty());
}

TEST(SeedTest, BadSeedsNameTheOffendingPlace) {
  const std::map<std::string, std::string> cases = {
      {"not json", "not valid JSON"},
      {"[]", "must be an object"},
      {"{}", "projects: is required"},
      {R"({"projects":[],"extra":1})", "unknown field \"extra\""},
      {R"({"projects":[{"jobs":[]}]})", "projects[0].project_id"},
      {R"({"projects":[{"project_id":"a/b","jobs":[]}]})", "must not contain '/'"},
      {R"({"projects":[{"project_id":"p","jobs":[]},{"project_id":"p","jobs":[]}]})",
       "duplicate project"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":0,"job_name":"a",
          "versions":[{"version_id":1,"status":8}]}]}]})",
       "projects[0].jobs[0].job_id: must be an integer in [1"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":"10","job_name":"a",
          "versions":[{"version_id":1,"status":8}]}]}]})",
       "projects[0].jobs[0].job_id: must be an integer"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"versions":[]}]}]})",
       "jobs[0].job_name"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a","versions":[]}]}]})",
       "jobs[0].versions: is required and must be a non-empty array"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a",
          "versions":[{"version_id":1,"status":23}]}]}]})",
       "jobs[0].versions[0].status: must be an integer in [0, 22]"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a",
          "versions":[{"version_id":1,"status":8,"state":"x"}]}]}]})",
       "versions[0]: unknown field \"state\""},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a",
          "versions":[{"version_id":1,"status":8},{"version_id":1,"status":10}]}]}]})",
       "versions[1].version_id: duplicate version_id 1"},
      {R"({"projects":[{"project_id":"p","jobs":[
          {"job_id":1,"job_name":"a","versions":[{"version_id":1,"status":8}]},
          {"job_id":1,"job_name":"b","versions":[{"version_id":1,"status":8}]}]}]})",
       "jobs[1].job_id: duplicate job_id 1"},
      {R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a",
          "versions":[{"version_id":1,"status":8,"duration_ms":-1}]}]}]})",
       "versions[0].duration_ms: must be an integer in [0, "},
      {R"({"projects":[{"project_id":"p","training_jobs":[{"id":
          "cf63aba9-63b1-4219-b717-708a2665100b","name":"a","duration_ms":"1h"}]}]})",
       "training_jobs[0].duration_ms: must be an integer in [0, "},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    auto seed = ParseSeed(text);
    ASSERT_FALSE(seed);
    EXPECT_THAT(seed.error().message, HasSubstr(expected));
    EXPECT_THAT(seed.error().message, HasSubstr("seed"));
    EXPECT_EQ(seed.error().message.find('\n'), std::string::npos);
  }
}

TEST(SeedTest, ElapsedRunTimeIsReadForBothKinds) {
  auto seed = ParseSeed(R"({"projects":[{"project_id":"p","jobs":[{"job_id":1,"job_name":"a",
      "versions":[{"version_id":1,"status":8,"duration_ms":3540000}]}],
      "training_jobs":[{"id":"cf63aba9-63b1-4219-b717-708a2665100b","name":"b",
      "duration_ms":3540000}]}]})");
  ASSERT_TRUE(seed) << seed.error().ToString();
  EXPECT_EQ(seed->projects[0].jobs[0].versions[0].duration_ms, 3540000);
  EXPECT_EQ(seed->projects[0].training_jobs[0].duration_ms, 3540000);
}

TEST(SeedTest, LoadSeedFileReportsUnreadableFilesWithThePath) {
  TempDir dir;
  auto missing = LoadSeedFile((dir.path() / "nope.json").string());
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("nope.json"));
  const std::string bad = dir.Write("bad.json", "{\"projects\": [");
  auto broken = LoadSeedFile(bad);
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message, HasSubstr("bad.json"));
  EXPECT_THAT(broken.error().message, HasSubstr("not valid JSON"));
}

TEST(SeedTest, DemoSeedHasTheDocumentedJobsAndPages) {
  auto seed = LoadSeedFile(std::string(MACTL_SOURCE_DIR) + "/deploy/examples/sim-seed.json");
  ASSERT_TRUE(seed) << seed.error().ToString();
  ASSERT_EQ(seed->projects.size(), 1u);
  EXPECT_EQ(seed->projects[0].project_id, "5f0c3e9a8b7d4e21a6c1d2e3f4a5b6c7");
  testing::FakeClock clock;
  SimState state(clock, 3s);
  ASSERT_TRUE(ApplySeed(state, *seed));
  const std::string p = "5f0c3e9a8b7d4e21a6c1d2e3f4a5b6c7";
  const std::map<std::pair<std::int64_t, std::int64_t>, int> expected = {
      {{10, 9}, 10}, {{10, 10}, 8}, {{11, 1}, 7},  {{12, 1}, 8}, {{12, 2}, 8},
      {{13, 1}, 10}, {{14, 3}, 9},  {{15, 1}, 11}, {{16, 1}, 8}};
  for (const auto& [ids, status] : expected) {
    const auto v = state.GetVersion(p, ids.first, ids.second);
    ASSERT_TRUE(v) << ids.first << "/" << ids.second;
    EXPECT_EQ(v->status, status) << ids.first << "/" << ids.second;
  }
  EXPECT_EQ(state.GetVersion(p, 10, 10)->job_name, "bert-finetune");
  ListQuery all;
  all.per_page = 1000;
  const JobListResult list = state.ListJobs(p, all);
  EXPECT_EQ(list.total, 47);  // more than one default page of 10
  for (int i = 0; i < 40; ++i) {
    const auto v = state.GetVersion(p, 100 + i, 1);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->status, 8);
    char name[16];
    std::snprintf(name, sizeof(name), "sweep-%03d", i);
    EXPECT_EQ(v->job_name, name);
  }
}

TEST(SeedTest, GeneratedJobsAreDeterministicAndMostlyRunning) {
  const auto a = GenerateJobs(200, 1, 42);
  const auto b = GenerateJobs(200, 1, 42);
  const auto c = GenerateJobs(200, 1, 43);
  ASSERT_EQ(a.size(), 200u);
  std::map<int, int> latest;
  bool differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].job_id, static_cast<std::int64_t>(i) + 1);
    ASSERT_GE(a[i].versions.size(), 1u);
    ASSERT_LE(a[i].versions.size(), 3u);
    ASSERT_EQ(a[i].versions.size(), b[i].versions.size());
    EXPECT_EQ(a[i].versions.back().status, b[i].versions.back().status);
    differs = differs || a[i].versions.size() != c[i].versions.size() ||
              a[i].versions.back().status != c[i].versions.back().status;
    ++latest[a[i].versions.back().status];
    for (std::size_t v = 0; v + 1 < a[i].versions.size(); ++v) {
      EXPECT_TRUE(IsTerminal(a[i].versions[v].status));
    }
  }
  EXPECT_TRUE(differs);
  EXPECT_GT(latest[8], 80);  // mostly RUNNING
  for (int status : {7, 9, 10, 11}) EXPECT_GT(latest[status], 0) << status;
  EXPECT_EQ(a[0].job_name, "gen-0001");
}

TEST(SimFlagsTest, DefaultsMatchTheDocumentation) {
  auto c = ParseSimFlags({});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_EQ(c->project_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(c->kill_delay, 3s);
  EXPECT_EQ(c->stop_lag, 0s);
  EXPECT_FALSE(c->token);
  EXPECT_EQ(c->generate, 0);
}

TEST(SimFlagsTest, ParsesEveryFlagInBothForms) {
  auto c = ParseSimFlags({"--listen",
                          "0.0.0.0:8443",
                          "--port-file=/tmp/p",
                          "--seed",
                          "s.json",
                          "--generate=5",
                          "--project-id",
                          "abc",
                          "--random-seed",
                          "9",
                          "--token",
                          "t",
                          "--kill-delay=250ms",
                          "--stop-lag",
                          "2s",
                          "--fault",
                          R"({"operation":"stop","type":"drop"})",
                          "--fault",
                          R"({"rules":[{"type":"latency","ms":5},{"type":"malformed"}]})",
                          "--log-level",
                          "debug"});
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 8443);
  EXPECT_EQ(c->port_file, "/tmp/p");
  EXPECT_EQ(c->seed_file, "s.json");
  EXPECT_EQ(c->generate, 5);
  EXPECT_EQ(c->project_id, "abc");
  EXPECT_EQ(c->random_seed, 9u);
  EXPECT_EQ(c->token, "t");
  EXPECT_EQ(c->kill_delay, 250ms);
  EXPECT_EQ(c->stop_lag, 2s);
  ASSERT_EQ(c->faults.size(), 3u);
  EXPECT_EQ(c->faults[0].type, FaultType::kDrop);
  EXPECT_EQ(c->faults[1].latency_ms, 5);
  EXPECT_EQ(c->log_level, "debug");
  auto v6 = ParseSimFlags({"--listen=[::1]:0"});
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->listen_host, "::1");
}

TEST(SimFlagsTest, BadFlagsAreOneLineErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--nope"},
      {"stray"},
      {"--listen"},
      {"--listen", "8080"},
      {"--listen", "h:70000"},
      {"--generate", "-1"},
      {"--generate", "x"},
      {"--kill-delay", "3"},
      {"--fault", "{"},
      {"--fault", R"({"type":"boom"})"},
      {"--log-level", "verbose"},
      {"--token", "a", "--token-file", "f"},
      {"--project-id", "a/b"},
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    auto c = ParseSimFlags(args);
    ASSERT_FALSE(c);
    EXPECT_FALSE(c.error().message.empty());
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos);
  }
}

TEST(SimFlagsTest, TokenFileIsReadAndTrimmed) {
  TempDir dir;
  SimConfig c;
  c.token_file = dir.Write("token", "abc123\n");
  auto t = ResolveToken(c);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, std::optional<std::string>("abc123"));
  c.token_file = dir.Write("empty", "\n");
  EXPECT_FALSE(ResolveToken(c));
  c.token_file = (dir.path() / "missing").string();
  auto missing = ResolveToken(c);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("cannot read"));
  EXPECT_EQ(*ResolveToken(SimConfig{}), std::nullopt);
}

TEST(SimFlagsTest, PopulateStateAddsSeedThenGeneratedJobsAfterTheHighestId) {
  TempDir dir;
  SimConfig c;
  c.project_id = "p";
  c.seed_file = dir.Write("s.json", R"({"projects":[{"project_id":"p","jobs":[
      {"job_id":50,"job_name":"a","versions":[{"version_id":1,"status":8}]}]}]})");
  c.generate = 3;
  testing::FakeClock clock;
  SimState state(clock, 3s);
  ASSERT_TRUE(PopulateState(state, c));
  EXPECT_TRUE(state.GetVersion("p", 50, 1));
  EXPECT_TRUE(state.GetVersion("p", 51, 1));
  EXPECT_TRUE(state.GetVersion("p", 53, 1));
  EXPECT_EQ(state.MaxJobId("p"), 53);

  SimConfig bad;
  bad.seed_file = dir.Write("bad.json", "{}");
  SimState other(clock, 3s);
  EXPECT_FALSE(PopulateState(other, bad));
  SimConfig empty;
  ASSERT_TRUE(PopulateState(other, empty));
  EXPECT_TRUE(other.HasProject("0123456789abcdef0123456789abcdef"));
}

TEST(SimFlagsTest, PortFileIsWrittenWhole) {
  TempDir dir;
  const std::string path = (dir.path() / "port").string();
  ASSERT_TRUE(WritePortFile(path, 43210));
  std::ifstream in(path);
  int port = 0;
  in >> port;
  EXPECT_EQ(port, 43210);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_FALSE(WritePortFile((dir.path() / "no/such/dir/port").string(), 1));
}

}  // namespace
}  // namespace mactl::sim
