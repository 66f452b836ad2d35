#include "controller/runtime/status_json.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

TrainingJobVersion Object(const std::string& name, std::int64_t job, DesiredState desired,
                          int line) {
  TrainingJobVersion o;
  o.name = name;
  o.job_id = job;
  o.version_id = 1;
  o.desired_state = desired;
  o.source = SourcePosition{"jobs.yaml", line, 1};
  return o;
}

// Three versions: one reconciled (stopping), one not looked at yet, and one named by two
// manifests that disagree; and one invalid document whose file name is not UTF-8.
class StatusJsonTest : public ::testing::Test {
 protected:
  StatusJsonTest() {
    std::vector<TrainingJobVersion> objects = {
        Object("stopping", 1, DesiredState::kStopped, 1),
        Object("pending", 2, DesiredState::kRunning, 10),
        Object("left", 3, DesiredState::kStopped, 20),
        Object("right", 3, DesiredState::kRunning, 30),
    };
    objects[1].paused = true;
    objects[1].project_id = "other";
    desired_ = BuildDesiredSnapshot(
        std::move(objects),
        {ManifestError{SourcePosition{"bad\xff.yaml", 4, 7}, "spec.jobId: required"}}, "p");
    const WallTime t0 = clock_.WallNow();
    VersionState stopping;
    stopping.phase = Phase::kStopping;
    stopping.observed_status = 8;
    stopping.observed_at = t0 + milliseconds(1750);  // fractions are cut, not rounded
    stopping.observed_source = "list";
    stopping.ready.Set(false, "StopRequested", "stop accepted", t0 + seconds(2));
    stopping.attempts = 2;
    stopping.last_error = MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable", 503);
    stopping.stop_accepted_at = t0 + seconds(2);
    stopping.next_attempt = t0 + seconds(12);
    stopping.next_reason = "poll";
    states_.emplace("p/1/1", stopping);
    VersionState conflict;
    conflict.phase = Phase::kConverged;  // shown as Conflict
    conflict.attempts = 1;
    states_.emplace("p/3/1", conflict);
    clock_.Advance(seconds(90));
  }

  FakeClock clock_;
  DesiredSnapshot desired_;
  std::unordered_map<std::string, VersionState> states_;
};

TEST_F(StatusJsonTest, RendersTheDocumentByteForByte) {
  const std::string body = StatusBody(StatusJson(desired_, states_, false, clock_.WallNow()));
  EXPECT_EQ(body, R"json({
  "generatedAt": "2024-10-04T00:01:30Z",
  "manifestErrors": [
    {
      "column": 7,
      "error": "spec.jobId: required",
      "file": "bad)json"
                  "\xef\xbf\xbd"  // U+FFFD in place of the byte 0xff
                  R"json(.yaml",
      "line": 4
    }
  ],
  "objects": [
    {
      "attempts": 2,
      "conditions": [
        {
          "lastTransitionTime": "2024-10-04T00:00:02Z",
          "message": "stop accepted",
          "reason": "StopRequested",
          "status": "False",
          "type": "Ready"
        },
        {
          "lastTransitionTime": null,
          "message": "not reconciled yet",
          "reason": "Pending",
          "status": "False",
          "type": "Synced"
        }
      ],
      "conflict": false,
      "desiredState": "Stopped",
      "file": "jobs.yaml",
      "jobId": 1,
      "kind": "TrainingJobVersion",
      "lastError": "HTTP.503: unavailable",
      "line": 1,
      "name": "stopping",
      "nextAttempt": "2024-10-04T00:00:12Z",
      "nextAttemptReason": "poll",
      "observed": {
        "observedAt": "2024-10-04T00:00:01Z",
        "source": "list",
        "statusCode": 8,
        "statusName": "JOBSTAT_RUNNING"
      },
      "paused": false,
      "phase": "Stopping",
      "projectId": "p",
      "stopRequestedAt": "2024-10-04T00:00:02Z",
      "versionId": 1
    },
    {
      "attempts": 0,
      "conditions": [],
      "conflict": false,
      "desiredState": "Running",
      "file": "jobs.yaml",
      "jobId": 2,
      "kind": "TrainingJobVersion",
      "lastError": null,
      "line": 10,
      "name": "pending",
      "nextAttempt": null,
      "observed": null,
      "paused": true,
      "phase": "Pending",
      "projectId": "other",
      "versionId": 1
    },
    {
      "attempts": 1,
      "conditions": [
        {
          "lastTransitionTime": null,
          "message": "not observed yet",
          "reason": "Pending",
          "status": "False",
          "type": "Ready"
        },
        {
          "lastTransitionTime": null,
          "message": "not reconciled yet",
          "reason": "Pending",
          "status": "False",
          "type": "Synced"
        }
      ],
      "conflict": true,
      "desiredState": "Stopped",
      "file": "jobs.yaml",
      "jobId": 3,
      "kind": "TrainingJobVersion",
      "lastError": null,
      "line": 20,
      "name": "left",
      "nextAttempt": null,
      "nextAttemptReason": "",
      "observed": null,
      "paused": false,
      "phase": "Conflict",
      "projectId": "p",
      "stopRequestedAt": null,
      "versionId": 1
    },
    {
      "attempts": 1,
      "conditions": [
        {
          "lastTransitionTime": null,
          "message": "not observed yet",
          "reason": "Pending",
          "status": "False",
          "type": "Ready"
        },
        {
          "lastTransitionTime": null,
          "message": "not reconciled yet",
          "reason": "Pending",
          "status": "False",
          "type": "Synced"
        }
      ],
      "conflict": true,
      "desiredState": "Running",
      "file": "jobs.yaml",
      "jobId": 3,
      "kind": "TrainingJobVersion",
      "lastError": null,
      "line": 30,
      "name": "right",
      "nextAttempt": null,
      "nextAttemptReason": "",
      "observed": null,
      "paused": false,
      "phase": "Conflict",
      "projectId": "p",
      "stopRequestedAt": null,
      "versionId": 1
    }
  ],
  "policies": [],
  "ready": false
})json");
}

TEST_F(StatusJsonTest, EmptyStateIsAnEmptyDocument) {
  EXPECT_EQ(StatusBody(StatusJson(DesiredSnapshot{}, {}, true, clock_.WallNow())),
            "{\n  \"generatedAt\": \"2024-10-04T00:01:30Z\",\n  \"manifestErrors\": [],\n"
            "  \"objects\": [],\n  \"policies\": [],\n  \"ready\": true\n}");
}

// A policy the enforcer has evaluated: every field of the contract's shape, one match under the
// limit (due later) and one stopped.
TEST_F(StatusJsonTest, RendersAPolicyWithItsMatchesByteForByte) {
  TrainingJobPolicy policy;
  policy.name = "cap-exp";
  policy.versions = false;
  policy.name_glob = "exp-*";
  policy.max_runtime = std::chrono::hours(72);
  policy.source = SourcePosition{"p.yaml", 3, 1};
  PolicyStatus status = PendingPolicyStatus(policy, "p");
  status.phase = "Enforcing";
  status.reason = "";
  status.message = "2 jobs match, 1 over the limit of 72h";
  status.matched = 2;
  status.over_limit = 1;
  status.stops = 1;
  status.last_pass_at = clock_.WallNow();
  status.next_due_at = clock_.WallNow() + std::chrono::hours(1);
  PolicyCandidate under;
  under.project_id = "p";
  under.id = "00000000-0000-4000-8000-000000000002";
  under.name = "exp-2";
  under.phase = "Running";
  under.duration_ms = 255600000;
  PolicyCandidate over = under;
  over.id = "00000000-0000-4000-8000-000000000001";
  over.name = "exp-1";
  over.duration_ms = 260000000;
  status.matches = {
      {under, PolicyVerdict::kUnderLimit, status.next_due_at, false, "due in 1h"},
      {over, PolicyVerdict::kOverLimit, std::nullopt, true, "stopped by this policy"}};
  DesiredSnapshot desired;
  desired.default_project_id = "p";
  desired.policies = {policy};
  EXPECT_EQ(StatusBody(PolicyJson(status)), R"json({
  "column": 1,
  "file": "p.yaml",
  "jobKinds": [
    "TrainingJob"
  ],
  "kind": "TrainingJobPolicy",
  "lastPassAt": "2024-10-04T00:01:30Z",
  "line": 3,
  "matched": 2,
  "matches": [
    {
      "dueAt": "2024-10-04T01:01:30Z",
      "durationMs": 255600000,
      "id": "00000000-0000-4000-8000-000000000002",
      "kind": "TrainingJob",
      "message": "due in 1h",
      "name": "exp-2",
      "projectId": "p",
      "stopped": false,
      "verdict": "UnderLimit",
      "versionId": 0
    },
    {
      "dueAt": null,
      "durationMs": 260000000,
      "id": "00000000-0000-4000-8000-000000000001",
      "kind": "TrainingJob",
      "message": "stopped by this policy",
      "name": "exp-1",
      "projectId": "p",
      "stopped": true,
      "verdict": "OverLimit",
      "versionId": 0
    }
  ],
  "maxRuntime": "72h",
  "message": "2 jobs match, 1 over the limit of 72h",
  "name": "cap-exp",
  "nameGlob": "exp-*",
  "nextDueAt": "2024-10-04T01:01:30Z",
  "overLimit": 1,
  "paused": false,
  "phase": "Enforcing",
  "projectId": "p",
  "reason": "",
  "stops": 1
})json");

  // In the document: the enforcer's status for this manifest; an edited manifest is Pending
  // until a pass has evaluated it.
  const nlohmann::json doc = StatusJson(desired, {}, {}, true, clock_.WallNow(), {status});
  EXPECT_EQ(doc.at("policies").at(0).at("phase"), "Enforcing");
  desired.policies[0].max_runtime = std::chrono::hours(24);
  const nlohmann::json edited = StatusJson(desired, {}, {}, true, clock_.WallNow(), {status});
  EXPECT_EQ(edited.at("policies").at(0).at("phase"), "Pending");
  EXPECT_EQ(edited.at("policies").at(0).at("lastPassAt"), nullptr);
  EXPECT_EQ(edited.at("policies").at(0).at("matches").size(), 0u);
}

TEST(Iso8601Test, IsUtcWholeSecondsWhateverTheLocalZone) {
  const char* saved = getenv("TZ");
  const std::string previous = saved != nullptr ? saved : "";
  setenv("TZ", "IST-5:30", 1);  // POSIX form: needs no tzdata
  tzset();
  const WallTime t = WallTime(seconds(1764415899)) + milliseconds(999);
  const std::string formatted = Iso8601(t);
  if (saved != nullptr) {
    setenv("TZ", previous.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  EXPECT_EQ(formatted, "2025-11-29T11:31:39Z");
  EXPECT_EQ(Iso8601(WallTime{}), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace mactl
