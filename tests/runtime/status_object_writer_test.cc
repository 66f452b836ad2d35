// The streamed /status writes each object with JsonWriter: the same bytes as dumping
// VersionObjectJson / JobObjectJson, for every shape an object's entry can take.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "controller/runtime/json_writer.h"
#include "controller/runtime/status_json.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Dumped(const json& value) {
  return value.dump(2, ' ', false, json::error_handler_t::replace);
}

TrainingJobVersion Version(const std::string& name, std::int64_t job, DesiredState desired) {
  TrainingJobVersion o;
  o.name = name;
  o.job_id = job;
  o.version_id = 3;
  o.desired_state = desired;
  o.source = SourcePosition{"dir/jobs\xff.yaml", 12, 1};
  return o;
}

// Every optional part filled in, with a message that is not UTF-8 and one with a newline.
VersionState FullVersionState(WallTime t) {
  VersionState s;
  s.phase = Phase::kStopping;
  s.observed_status = 8;
  s.observed_at = t + milliseconds(1500);
  s.observed_source = "list";
  s.observed_run_duration = milliseconds(90000);
  s.max_runtime_due = t + seconds(30);
  s.ready.Set(false, "StopRequested", "stop \"accepted\"\n\xc3", t + seconds(2));
  s.synced.Set(true, "Synced", "ok", t);
  s.attempts = 4;
  s.last_error = std::make_shared<const Error>(
      MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable\t\x01", 503));
  s.next_attempt = t + seconds(12);
  s.next_reason = "poll";
  s.stop_accepted_at = t + seconds(2);
  return s;
}

TEST(StatusObjectWriter, VersionsMatchTheirDumpedJson) {
  testing::FakeClock clock;
  const WallTime t = clock.WallNow();
  TrainingJobVersion limited = Version("limited", 1, DesiredState::kRunning);
  limited.max_runtime = milliseconds(3600000);
  TrainingJobVersion paused = Version("paused", 2, DesiredState::kStopped);
  paused.paused = true;
  paused.project_id = "other";
  const std::vector<TrainingJobVersion> objects = {limited, paused,
                                                   Version("left", 3, DesiredState::kStopped),
                                                   Version("right", 3, DesiredState::kRunning)};
  const DesiredSnapshot desired = BuildDesiredSnapshot(objects, {}, "p");
  const VersionState unobserved = [] {
    VersionState s;
    s.attempts = 1;
    return s;
  }();
  const VersionState full = FullVersionState(t);
  for (const TrainingJobVersion& object : desired.objects) {
    for (const VersionState* state :
         {static_cast<const VersionState*>(nullptr), &unobserved, &full}) {
      std::string out;
      JsonWriter w(out);
      WriteVersionObject(w, object, desired, state);
      EXPECT_EQ(out, Dumped(VersionObjectJson(object, desired, state))) << object.name;
    }
  }
}

TrainingJobState FullJobState(WallTime t) {
  TrainingJobState s;
  s.phase = Phase::kStopping;
  s.resolved_id = "resolved-id";
  TrainingJobInfo job;
  job.id = "resolved-id";
  job.name = "llama\xe2\x82";
  job.phase = "Terminating";
  job.secondary_phase = "Terminating";
  job.duration_ms = 42000;
  s.job = job;
  s.observed_at = t;
  s.observed_source = "search";
  s.max_runtime_due = t + seconds(5);
  s.ready.Set(false, "TerminateRequested", "terminate accepted", t);
  s.attempts = 2;
  s.last_error = std::make_shared<const Error>(
      MakeError(ErrorClass::kTerminal, "ModelArts.2796", "conflict", 409));
  s.next_attempt = t + seconds(10);
  s.next_reason = "poll";
  s.terminate_accepted_at = t;
  return s;
}

TEST(StatusObjectWriter, TrainingJobsMatchTheirDumpedJson) {
  testing::FakeClock clock;
  TrainingJob by_id;
  by_id.name = "by-id";
  by_id.training_job_id = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";
  by_id.max_runtime = milliseconds(60000);
  TrainingJob by_name;
  by_name.name = "by-name";
  by_name.training_job_name = "llama";
  by_name.paused = true;
  TrainingJob twin = by_name;  // the same job desired Running: a conflict
  twin.name = "twin";
  twin.desired_state = DesiredState::kRunning;
  DesiredSnapshot desired = BuildDesiredSnapshot({}, {}, "p");
  AddTrainingJobs(desired, {by_id, by_name, twin});
  const TrainingJobState unobserved;
  const TrainingJobState full = FullJobState(clock.WallNow());
  for (const TrainingJob& object : desired.job_objects) {
    for (const TrainingJobState* state :
         {static_cast<const TrainingJobState*>(nullptr), &unobserved, &full}) {
      std::string out;
      JsonWriter w(out);
      WriteJobObject(w, object, desired, state);
      EXPECT_EQ(out, Dumped(JobObjectJson(object, desired, state))) << object.name;
    }
  }
}

}  // namespace
}  // namespace mactl
