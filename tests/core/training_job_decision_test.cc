#include "controller/core/training_job_decision.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controller/cloud/job_phase.h"

namespace mactl {
namespace {

constexpr char kId[] = "cf63aba9-63b1-4219-b717-708a2665100b";
constexpr char kOtherId[] = "2c7f7a0e-5d4b-4a51-9c61-0b8e4f3a7d21";

TrainingJobInfo Job(std::string phase, std::string secondary = "", std::string id = kId,
                    std::string name = "llama-sft") {
  TrainingJobInfo job;
  job.id = std::move(id);
  job.name = std::move(name);
  job.phase = std::move(phase);
  job.secondary_phase = std::move(secondary);
  return job;
}

// What a row must come to: the action, the object's phase, when to look again, the reason.
struct Expect {
  JobAction action;
  Phase phase;
  NextCheck next;
  std::string_view reason;
};

void ExpectRow(const TrainingJobDecision& d, const Expect& e) {
  EXPECT_EQ(d.action, e.action);
  EXPECT_EQ(PhaseName(d.phase), PhaseName(e.phase));
  EXPECT_EQ(static_cast<int>(d.next), static_cast<int>(e.next));
  EXPECT_EQ(d.reason, e.reason) << d.message;
  EXPECT_FALSE(d.message.empty());
}

// What a job of this class comes to, desired Stopped and Running, with no memory.
Expect StoppedRow(JobPhaseClass c) {
  switch (c) {
    case JobPhaseClass::kTerminable:
      return {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"};
    case JobPhaseClass::kTerminating:
      return {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "Terminating"};
    case JobPhaseClass::kTerminal:
      return {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"};
    case JobPhaseClass::kUnknown:
      break;
  }
  return {JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown"};
}

Expect RunningRow(JobPhaseClass c) {
  switch (c) {
    case JobPhaseClass::kTerminable:
      return {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"};
    case JobPhaseClass::kTerminating:
      return {JobAction::kNone, Phase::kDrifted, NextCheck::kPoll, "Drifted"};
    case JobPhaseClass::kTerminal:
      return {JobAction::kNone, Phase::kDrifted, NextCheck::kResync, "Drifted"};
    case JobPhaseClass::kUnknown:
      break;
  }
  return {JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown"};
}

// The documented phase table, row by row (docs/modelarts-v2-api.md, "Phases").
TEST(TrainingJobDecisionTest, EveryDocumentedPhaseDesiredStopped) {
  const TrainingJobDecisionContext none;
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Creating"), none),
            {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Pending"), none),
            {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Running"), none),
            {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Terminating"), none),
            {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "Terminating"});
  for (const char* ended : {"Completed", "Failed", "Terminated", "Abnormal"}) {
    SCOPED_TRACE(ended);
    ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job(ended), none),
              {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
  }
  const TrainingJobDecision d = DecideTrainingJob(DesiredState::kStopped, Job("Running"), none);
  EXPECT_EQ(d.job_id, kId);
  EXPECT_TRUE(d.synced);
  EXPECT_EQ(d.message, "job is Running; terminating it");
}

TEST(TrainingJobDecisionTest, EveryDocumentedPhaseDesiredRunningIsNeverTerminated) {
  const TrainingJobDecisionContext none;
  for (std::string_view phase : kDocumentedJobPhases) {
    SCOPED_TRACE(std::string(phase));
    const TrainingJobDecision d =
        DecideTrainingJob(DesiredState::kRunning, Job(std::string(phase)), none);
    EXPECT_EQ(d.action, JobAction::kNone);
    ExpectRow(d, RunningRow(ClassifyJobPhase(phase)));
  }
  EXPECT_EQ(DecideTrainingJob(DesiredState::kRunning, Job("Failed"), none).message,
            "desired Running but job is Failed; the controller cannot restart it");
}

// Every documented phase against every documented secondary phase, none, and an undocumented
// one, for both desired states: the row is the one of the pair's class, and a terminate comes
// only from a documented terminable phase.
TEST(TrainingJobDecisionTest, EveryPhaseAndSecondaryPhaseForBothDesiredStates) {
  std::vector<std::string> phases(kDocumentedJobPhases.begin(), kDocumentedJobPhases.end());
  phases.push_back("Hibernating");
  phases.push_back("running");
  std::vector<std::string> secondaries(kDocumentedSecondaryPhases.begin(),
                                       kDocumentedSecondaryPhases.end());
  secondaries.push_back("");
  secondaries.push_back("SomethingNew");
  const TrainingJobDecisionContext none;
  for (const std::string& phase : phases) {
    for (const std::string& secondary : secondaries) {
      SCOPED_TRACE(phase + "/" + secondary);
      const JobPhaseClass c = ClassifyJobPhases(phase, secondary);
      const TrainingJobDecision stopped =
          DecideTrainingJob(DesiredState::kStopped, Job(phase, secondary), none);
      ExpectRow(stopped, StoppedRow(c));
      if (stopped.action == JobAction::kTerminate) {
        EXPECT_TRUE(phase == "Creating" || phase == "Pending" || phase == "Running");
      }
      ExpectRow(DecideTrainingJob(DesiredState::kRunning, Job(phase, secondary), none),
                RunningRow(c));
    }
  }
}

TEST(TrainingJobDecisionTest, UnknownPhaseIsNeverActedOn) {
  const TrainingJobDecision d =
      DecideTrainingJob(DesiredState::kStopped, Job("Hibernating", "Running"), {});
  ExpectRow(d, {JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown"});
  EXPECT_EQ(d.message, "job phase Hibernating (secondary Running) is not known; not acting on it");
}

TEST(TrainingJobDecisionTest, AbnormalWithAFailedStopSaysSo) {
  const TrainingJobDecision d =
      DecideTrainingJob(DesiredState::kStopped, Job("Abnormal", "TerminatedFailed"), {});
  ExpectRow(d, {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
  EXPECT_NE(d.message.find("stopping it failed"), std::string::npos) << d.message;
}

TEST(TrainingJobDecisionTest, TerminateIsSentOnce) {
  TrainingJobDecisionContext accepted;
  accepted.terminate_accepted_for = kId;
  for (const char* phase : {"Creating", "Pending", "Running"}) {
    SCOPED_TRACE(phase);
    ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job(phase), accepted),
              {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "TerminateRequested"});
  }
  // The memory is of one job: another job of the same name is a new decision.
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Running", "", kOtherId), accepted),
            {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  // Once the phase moves on, the phase decides.
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Terminated"), accepted),
            {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
}

TEST(TrainingJobDecisionTest, ARefusedTerminateIsNotRetriedWhileThePhaseIsTheSame) {
  TrainingJobDecisionContext refused;
  refused.terminate_refused = TrainingJobDecisionContext::Refusal{kId, "Running", "Running"};
  const TrainingJobDecision same =
      DecideTrainingJob(DesiredState::kStopped, Job("Running", "Running"), refused);
  ExpectRow(same, {JobAction::kNone, Phase::kError, NextCheck::kBackoff, "TerminateRefused"});
  EXPECT_FALSE(same.synced);
  // A new phase (the job moved on) is a new decision, made on a fresh observation.
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Pending", "Queuing"), refused),
            {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Completed"), refused),
            {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
}

TEST(TrainingJobDecisionTest, AfterATerminate) {
  // 202 with the documented answer: Terminating.
  const TrainingJobDecision accepted =
      DecideAfterTerminate(TerminateOutcome::kAccepted, Job("Terminating", "Terminating"));
  ExpectRow(accepted, {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "TerminateRequested"});
  EXPECT_EQ(accepted.job_id, kId);
  // An answer that already shows an end.
  ExpectRow(DecideAfterTerminate(TerminateOutcome::kAccepted, Job("Terminated")),
            {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
  // 409 2796/2878: observe again, never terminate blindly.
  const TrainingJobDecision refused =
      DecideAfterTerminate(TerminateOutcome::kRefused, Job("Running"));
  ExpectRow(refused, {JobAction::kNone, Phase::kStopping, NextCheck::kNow, "TerminateRefused"});
  EXPECT_FALSE(refused.synced);
}

TEST(TrainingJobDecisionTest, ConflictPauseAndDryRunNeverAct) {
  TrainingJobDecisionContext conflict;
  conflict.conflict = true;
  conflict.paused = true;
  const TrainingJobDecision c = DecideTrainingJob(DesiredState::kStopped, Job("Running"), conflict);
  ExpectRow(c, {JobAction::kNone, Phase::kConflict, NextCheck::kResync, "Conflict"});
  EXPECT_FALSE(c.synced);

  TrainingJobDecisionContext paused;
  paused.paused = true;
  const TrainingJobDecision p = DecideTrainingJob(DesiredState::kStopped, Job("Running"), paused);
  ExpectRow(p, {JobAction::kNone, Phase::kPaused, NextCheck::kResync, "Paused"});
  EXPECT_EQ(p.message, "paused by annotation; would terminate: job is Running; terminating it");

  TrainingJobDecisionContext dry;
  dry.dry_run = true;
  const TrainingJobDecision d = DecideTrainingJob(DesiredState::kStopped, Job("Pending"), dry);
  ExpectRow(d, {JobAction::kNone, Phase::kPending, NextCheck::kResync, "DryRun"});
  EXPECT_FALSE(d.synced);
  // Dry run changes nothing where there is nothing to do.
  ExpectRow(DecideTrainingJob(DesiredState::kStopped, Job("Terminating"), dry),
            {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "Terminating"});
}

TEST(TrainingJobDecisionTest, NameMatchesAreExactAfterTheSubstringSearch) {
  const std::vector<TrainingJobInfo> found = {
      Job("Running", "", kId, "llama-sft"),
      Job("Running", "", "11111111-1111-1111-1111-111111111111", "llama-sft-2"),
      Job("Running", "", "22222222-2222-2222-2222-222222222222", "old-llama-sft"),
      Job("Completed", "", "33333333-3333-3333-3333-333333333333", "llama-sft"),
      Job("Running", "", kId, "llama-sft"),  // the same job again, on the next page
  };
  const NameMatches m = MatchJobName("llama-sft", found);
  ASSERT_EQ(m.active.size(), 1u);
  EXPECT_EQ(m.active[0].id, kId);
  EXPECT_EQ(m.ended, 1u);
  EXPECT_TRUE(MatchJobName("LLAMA-SFT", found).active.empty());
}

TEST(TrainingJobDecisionTest, ByNameNoneActiveIsConvergedOrDrifted) {
  const std::vector<TrainingJobInfo> found = {Job("Terminated"), Job("Running", "", kOtherId, "x")};
  const TrainingJobDecision stopped =
      DecideTrainingJobByName(DesiredState::kStopped, "llama-sft", found, {});
  ExpectRow(stopped, {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
  EXPECT_EQ(stopped.job_id, "");
  EXPECT_EQ(stopped.message, "no active job is named \"llama-sft\" (1 ended); nothing to stop");
  const TrainingJobDecision none =
      DecideTrainingJobByName(DesiredState::kStopped, "llama-sft", {}, {});
  ExpectRow(none, {JobAction::kNone, Phase::kConverged, NextCheck::kResync, "Converged"});
  EXPECT_EQ(none.message, "no active job is named \"llama-sft\"; nothing to stop");
  ExpectRow(DecideTrainingJobByName(DesiredState::kRunning, "llama-sft", found, {}),
            {JobAction::kNone, Phase::kDrifted, NextCheck::kResync, "Drifted"});
}

TEST(TrainingJobDecisionTest, ByNameOneActiveIsActedOn) {
  const std::vector<TrainingJobInfo> found = {Job("Failed", "", kOtherId), Job("Running")};
  const TrainingJobDecision d =
      DecideTrainingJobByName(DesiredState::kStopped, "llama-sft", found, {});
  ExpectRow(d, {JobAction::kTerminate, Phase::kStopping, NextCheck::kPoll, "Stopping"});
  EXPECT_EQ(d.job_id, kId);
  EXPECT_EQ(d.message,
            std::string("job \"llama-sft\" (") + kId + "): job is Running; terminating it");
  // A Terminating or unknown-phase job is the one active job too, and is not terminated.
  ExpectRow(DecideTrainingJobByName(DesiredState::kStopped, "llama-sft", {Job("Terminating")}, {}),
            {JobAction::kNone, Phase::kStopping, NextCheck::kPoll, "Terminating"});
  ExpectRow(DecideTrainingJobByName(DesiredState::kStopped, "llama-sft", {Job("Hibernating")}, {}),
            {JobAction::kNone, Phase::kPending, NextCheck::kPoll, "StatusUnknown"});
}

TEST(TrainingJobDecisionTest, ByNameSeveralActiveIsAmbiguousAndNeverActedOn) {
  for (const char* second : {"Running", "Pending", "Terminating", "Hibernating"}) {
    SCOPED_TRACE(second);
    const std::vector<TrainingJobInfo> found = {Job("Running"), Job(second, "", kOtherId)};
    for (DesiredState desired : {DesiredState::kStopped, DesiredState::kRunning}) {
      const TrainingJobDecision d = DecideTrainingJobByName(desired, "llama-sft", found, {});
      ExpectRow(d, {JobAction::kNone, Phase::kConflict, NextCheck::kResync, "Ambiguous"});
      EXPECT_FALSE(d.synced);
      EXPECT_EQ(d.job_id, "");
      EXPECT_NE(d.message.find(kId), std::string::npos) << d.message;
      EXPECT_NE(d.message.find(kOtherId), std::string::npos) << d.message;
    }
  }
  TrainingJobDecisionContext paused;
  paused.paused = true;
  ExpectRow(DecideTrainingJobByName(DesiredState::kStopped, "llama-sft",
                                    {Job("Running"), Job("Running", "", kOtherId)}, paused),
            {JobAction::kNone, Phase::kPaused, NextCheck::kResync, "Paused"});
}

TEST(TrainingJobDecisionTest, ActionNames) {
  EXPECT_EQ(JobActionName(JobAction::kNone), "none");
  EXPECT_EQ(JobActionName(JobAction::kTerminate), "terminate");
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

struct JobLimitRow {
  const char* what;
  std::string phase;
  std::int64_t duration_ms;
  bool terminate_accepted;
  JobAction action;
  Phase phase_out;
  NextCheck next;
  std::string_view reason;
  std::optional<std::chrono::milliseconds> due_in;
};

// Desired Running with maxRuntime 60m: every row of README "Runtime limits".
TEST(TrainingJobDecisionTest, MaxRuntimeRows) {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  constexpr std::int64_t kMinute = 60'000;
  const JobLimitRow rows[] = {
      {"running, under", "Running", 59 * kMinute, false, JobAction::kNone, Phase::kConverged,
       NextCheck::kResync, "Converged", minutes(1)},
      {"pending, not started", "Pending", 0, false, JobAction::kNone, Phase::kConverged,
       NextCheck::kResync, "Converged", minutes(60)},
      {"running, at", "Running", 60 * kMinute, false, JobAction::kTerminate, Phase::kStopping,
       NextCheck::kPoll, kMaxRuntimeExceeded, std::nullopt},
      {"running, over", "Running", 61 * kMinute, false, JobAction::kTerminate, Phase::kStopping,
       NextCheck::kPoll, kMaxRuntimeExceeded, std::nullopt},
      {"running, implausible duration", "Running", INT64_MAX, false, JobAction::kNone,
       Phase::kConverged, NextCheck::kResync, "RunDurationUnknown", std::nullopt},
      {"over, terminate accepted", "Running", 61 * kMinute, true, JobAction::kNone,
       Phase::kStopping, NextCheck::kPoll, "TerminateRequested", std::nullopt},
      {"terminating after the limit", "Terminating", 61 * kMinute, false, JobAction::kNone,
       Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded, std::nullopt},
      {"terminating under the limit", "Terminating", 5 * kMinute, false, JobAction::kNone,
       Phase::kDrifted, NextCheck::kPoll, "Drifted", std::nullopt},
      {"terminated after the limit (also after a restart)", "Terminated", 60 * kMinute, false,
       JobAction::kNone, Phase::kConverged, NextCheck::kResync, kMaxRuntimeExceeded, std::nullopt},
      {"completed under the limit", "Completed", 5 * kMinute, false, JobAction::kNone,
       Phase::kDrifted, NextCheck::kResync, "Drifted", std::nullopt},
      {"unknown phase", "Hibernating", 61 * kMinute, false, JobAction::kNone, Phase::kPending,
       NextCheck::kPoll, "StatusUnknown", std::nullopt},
  };
  for (const JobLimitRow& row : rows) {
    SCOPED_TRACE(row.what);
    TrainingJobInfo job = Job(row.phase);
    job.duration_ms = row.duration_ms;
    TrainingJobDecisionContext ctx;
    ctx.max_runtime = minutes(60);
    if (row.terminate_accepted) ctx.terminate_accepted_for = job.id;
    const TrainingJobDecision d = DecideTrainingJob(DesiredState::kRunning, job, ctx);
    EXPECT_EQ(d.action, row.action);
    EXPECT_EQ(d.phase, row.phase_out);
    EXPECT_EQ(d.next, row.next);
    EXPECT_EQ(d.reason, row.reason);
    EXPECT_EQ(d.due_in, row.due_in);
    EXPECT_EQ(d.job_id, job.id);
  }
}

TEST(TrainingJobDecisionTest, MaxRuntimeOverruledByPauseAndDryRunAndResolvedByName) {
  TrainingJobInfo job = Job("Running");
  job.duration_ms = 2 * 3'600'000;
  TrainingJobDecisionContext ctx;
  ctx.max_runtime = std::chrono::hours(1);
  EXPECT_EQ(DecideTrainingJob(DesiredState::kRunning, job, ctx).message,
            "job is Running and has run 2h of maxRuntime 1h; terminating it");
  EXPECT_EQ(DecideTrainingJobByName(DesiredState::kRunning, job.name, {job}, ctx).action,
            JobAction::kTerminate);
  ctx.dry_run = true;
  EXPECT_EQ(DecideTrainingJob(DesiredState::kRunning, job, ctx).reason, "DryRun");
  ctx.dry_run = false;
  ctx.paused = true;
  EXPECT_EQ(DecideTrainingJob(DesiredState::kRunning, job, ctx).action, JobAction::kNone);
}

}  // namespace
}  // namespace mactl
