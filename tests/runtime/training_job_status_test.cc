// /status and `get` for kind TrainingJob: the kind, the job (by id, or the id a name resolved
// to), the observed phase, beside a version.

#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "controller/cli/commands.h"
#include "controller/runtime/status_json.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";

TEST(TrainingJobStatus, ObjectsCarryTheirKindJobAndObservedPhase) {
  testing::FakeClock clock;
  TrainingJobVersion version;
  version.name = "v1-object";
  version.job_id = 10;
  version.version_id = 11;
  TrainingJob by_name;
  by_name.name = "by-name";
  by_name.training_job_name = "llama-sft";
  by_name.source = SourcePosition{"jobs.yaml", 5, 1};
  TrainingJob unseen;
  unseen.name = "unseen";
  unseen.training_job_id = kId;
  unseen.desired_state = DesiredState::kRunning;
  DesiredSnapshot desired = BuildDesiredSnapshot({version}, {}, "p");
  AddTrainingJobs(desired, {by_name, unseen});

  TrainingJobState state;
  state.phase = Phase::kStopping;
  state.resolved_id = kId;
  TrainingJobInfo job;
  job.id = kId;
  job.name = "llama-sft";
  job.phase = "Terminating";
  job.secondary_phase = "Terminating";
  state.job = job;
  state.observed_at = clock.WallNow();
  state.observed_source = "search";
  state.attempts = 1;
  state.ready.Set(false, "TerminateRequested", "terminate accepted", clock.WallNow());
  const std::unordered_map<std::string, TrainingJobState> job_states = {
      {"p/name:llama-sft", state}};

  const nlohmann::json status = StatusJson(desired, {}, job_states, true, clock.WallNow());
  const nlohmann::json& objects = status.at("objects");
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects[0].at("kind"), "TrainingJobVersion");
  const nlohmann::json& named = objects[1];
  EXPECT_EQ(named.at("kind"), "TrainingJob");
  EXPECT_EQ(named.at("name"), "by-name");
  EXPECT_EQ(named.at("file"), "jobs.yaml");
  EXPECT_EQ(named.at("projectId"), "p");
  EXPECT_EQ(named.at("trainingJobName"), "llama-sft");
  EXPECT_EQ(named.at("trainingJobId"), kId);  // the id the name resolved to
  EXPECT_EQ(named.at("phase"), "Stopping");
  EXPECT_EQ(named.at("observed").at("phase"), "Terminating");
  EXPECT_EQ(named.at("observed").at("source"), "search");
  EXPECT_EQ(named.at("conditions")[0].at("reason"), "TerminateRequested");
  const nlohmann::json& not_yet = objects[2];
  EXPECT_EQ(not_yet.at("trainingJobId"), kId);
  EXPECT_TRUE(not_yet.at("trainingJobName").is_null());
  EXPECT_EQ(not_yet.at("phase"), "Pending");
  EXPECT_TRUE(not_yet.at("observed").is_null());

  // `get` shows both kinds in one table with a KIND column.
  const std::string table = RenderStatusTable(status);
  EXPECT_NE(table.find("KIND"), std::string::npos) << table;
  EXPECT_NE(table.find("TrainingJobVersion"), std::string::npos) << table;
  EXPECT_NE(table.find(std::string("\nby-name     TrainingJob ")), std::string::npos) << table;
  EXPECT_NE(table.find("Terminating"), std::string::npos) << table;
  // A daemon from before TrainingJob sends no kind: its objects are versions.
  nlohmann::json old = status;
  old["objects"] = nlohmann::json::array({objects[0]});
  old["objects"][0].erase("kind");
  EXPECT_NE(RenderStatusTable(old).find("TrainingJobVersion"), std::string::npos);
}

}  // namespace
}  // namespace mactl
