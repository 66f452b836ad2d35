#include "controller/core/decision.h"

#include <gtest/gtest.h>

#include "controller/cloud/job_status.h"

namespace mactl {
namespace {

struct Row {
  int status;
  Action stopped_action;  // desired Stopped, fresh context
  Phase stopped_phase;
  NextCheck stopped_next;
  Phase running_phase;  // desired Running
};

// The whole 0–22 table, plus codes the API does not document.
constexpr Row kTable[] = {
    {0, Action::kNone, Phase::kPending, NextCheck::kPoll, Phase::kPending},       // UNKNOWN
    {1, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},    // INIT
    {2, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},    // IMAGE_CREATING
    {3, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},   // IMAGE_FAILED
    {4, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},    // SUBMIT_TRYING
    {5, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},   // SUBMIT_FAILED
    {6, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},   // DELETE_FAILED
    {7, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},    // WAITING
    {8, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},    // RUNNING
    {9, Action::kNone, Phase::kStopping, NextCheck::kPoll, Phase::kDrifted},      // KILLING
    {10, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // COMPLETED
    {11, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // FAILED
    {12, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // KILLED
    {13, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // CANCELED
    {14, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // LOST
    {15, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},   // SCALING
    {16, Action::kNone, Phase::kConverged, NextCheck::kResync,
     Phase::kDrifted},  // SUBMIT_MODEL_FAILED
    {17, Action::kNone, Phase::kConverged, NextCheck::kResync,
     Phase::kDrifted},  // DEPLOY_SERVICE_FAILED
    {18, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},  // CHECK_INIT
    {19, Action::kStop, Phase::kStopping, NextCheck::kPoll, Phase::kConverged},  // CHECK_RUNNING
    {20, Action::kNone, Phase::kConverged, NextCheck::kResync,
     Phase::kDrifted},  // CHECK_RUNNING_COMPLETED
    {21, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // CHECK_FAILED
    {22, Action::kNone, Phase::kConverged, NextCheck::kResync, Phase::kDrifted},  // MOUNT_FAILED
    {23, Action::kNone, Phase::kPending, NextCheck::kPoll, Phase::kPending},      // undocumented
    {-1, Action::kNone, Phase::kPending, NextCheck::kPoll, Phase::kPending},      // undocumented
    {1000, Action::kNone, Phase::kPending, NextCheck::kPoll, Phase::kPending},    // undocumented
};

TEST(DecisionTable, DesiredStoppedCoversEveryStatus) {
  for (const Row& row : kTable) {
    SCOPED_TRACE("status " + std::to_string(row.status) + " " +
                 std::string(JobStatusName(row.status)));
    const Decision d = Decide(DesiredState::kStopped, row.status, {});
    EXPECT_EQ(d.action, row.stopped_action);
    EXPECT_EQ(d.phase, row.stopped_phase);
    EXPECT_EQ(d.next, row.stopped_next);
    EXPECT_FALSE(d.message.empty());
  }
}

TEST(DecisionTable, DesiredRunningNeverActs) {
  for (const Row& row : kTable) {
    SCOPED_TRACE("status " + std::to_string(row.status));
    const Decision d = Decide(DesiredState::kRunning, row.status, {});
    EXPECT_EQ(d.action, Action::kNone);
    EXPECT_EQ(d.phase, row.running_phase);
  }
}

TEST(DecisionTable, KillingIsNeverStoppedAgain) {
  const Decision d = Decide(DesiredState::kStopped, 9, {});
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.reason, "Killing");
}

TEST(DecisionTable, AcceptedStopIsNotRepeatedWhileTheApiCatchesUp) {
  DecisionContext ctx;
  ctx.stop_accepted = true;
  for (const Row& row : kTable) {
    const Decision d = Decide(DesiredState::kStopped, row.status, ctx);
    EXPECT_EQ(d.action, Action::kNone) << row.status;
  }
  EXPECT_EQ(Decide(DesiredState::kStopped, 8, ctx).reason, "StopRequested");
  EXPECT_EQ(Decide(DesiredState::kStopped, 8, ctx).phase, Phase::kStopping);
}

TEST(DecisionTable, RefusedStopWaitsWithBackoffWhileTheStatusIsUnchanged) {
  DecisionContext ctx;
  ctx.stop_refused_at_status = 8;
  const Decision same = Decide(DesiredState::kStopped, 8, ctx);
  EXPECT_EQ(same.action, Action::kNone);
  EXPECT_EQ(same.phase, Phase::kError);
  EXPECT_EQ(same.next, NextCheck::kBackoff);
  EXPECT_EQ(same.reason, "StopRefused");
  // A different status is a new situation: act on it.
  EXPECT_EQ(Decide(DesiredState::kStopped, 7, ctx).action, Action::kStop);
  EXPECT_EQ(Decide(DesiredState::kStopped, 10, ctx).phase, Phase::kConverged);
}

TEST(DecisionTable, PausedObservesAndReportsWhatItWouldDo) {
  DecisionContext ctx;
  ctx.paused = true;
  const Decision d = Decide(DesiredState::kStopped, 8, ctx);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.phase, Phase::kPaused);
  EXPECT_EQ(d.reason, "Paused");
  EXPECT_NE(d.message.find("would stop"), std::string::npos);
  EXPECT_EQ(Decide(DesiredState::kStopped, 10, ctx).phase, Phase::kPaused);
}

TEST(DecisionTable, ConflictNeverActsEvenWhenPaused) {
  DecisionContext ctx;
  ctx.conflict = true;
  ctx.paused = true;
  const Decision d = Decide(DesiredState::kStopped, 8, ctx);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.phase, Phase::kConflict);
  EXPECT_EQ(d.reason, "Conflict");
}

TEST(DecisionTable, DryRunReportsTheStopItWouldSendAndNeverActs) {
  DecisionContext ctx;
  ctx.dry_run = true;
  for (const Row& row : kTable) {
    SCOPED_TRACE("status " + std::to_string(row.status));
    const Decision d = Decide(DesiredState::kStopped, row.status, ctx);
    EXPECT_EQ(d.action, Action::kNone);
    if (row.stopped_action == Action::kStop) {
      EXPECT_EQ(d.phase, Phase::kPending);
      EXPECT_EQ(d.next, NextCheck::kResync);
      EXPECT_EQ(d.reason, "DryRun");
      EXPECT_EQ(d.message.rfind("dry run: would stop; ", 0), 0u) << d.message;
      EXPECT_FALSE(d.synced);
    } else {  // nothing to stop: dry run changes nothing
      EXPECT_EQ(d.phase, row.stopped_phase);
      EXPECT_EQ(d.next, row.stopped_next);
    }
  }
}

TEST(DecisionTable, PauseAndConflictOutrankDryRun) {
  DecisionContext ctx;
  ctx.dry_run = true;
  ctx.paused = true;
  EXPECT_EQ(Decide(DesiredState::kStopped, 8, ctx).reason, "Paused");
  ctx.conflict = true;
  EXPECT_EQ(Decide(DesiredState::kStopped, 8, ctx).reason, "Conflict");
}

TEST(DecisionTable, SyncedOnlyWhenTheControllerDidItsPart) {
  EXPECT_TRUE(Decide(DesiredState::kStopped, 8, {}).synced);   // stopping
  EXPECT_TRUE(Decide(DesiredState::kStopped, 10, {}).synced);  // converged
  EXPECT_TRUE(Decide(DesiredState::kRunning, 10, {}).synced);  // drift is only reported
  DecisionContext refused;
  refused.stop_refused_at_status = 8;
  EXPECT_FALSE(Decide(DesiredState::kStopped, 8, refused).synced);
  DecisionContext paused;
  paused.paused = true;
  EXPECT_FALSE(Decide(DesiredState::kStopped, 10, paused).synced);
  DecisionContext conflict;
  conflict.conflict = true;
  EXPECT_FALSE(Decide(DesiredState::kStopped, 10, conflict).synced);
}

struct StopRow {
  StopOutcome outcome;
  int observed;
  Phase phase;
  NextCheck next;
  std::string_view reason;
  bool synced;
  std::string_view message;
};

constexpr StopRow kStopTable[] = {
    {StopOutcome::kAccepted, 8, Phase::kStopping, NextCheck::kPoll, "StopRequested", true,
     "stop accepted while version was JOBSTAT_RUNNING(8); waiting for it to finish"},
    {StopOutcome::kAccepted, 7, Phase::kStopping, NextCheck::kPoll, "StopRequested", true,
     "stop accepted while version was JOBSTAT_WAITING(7); waiting for it to finish"},
    // 409 ModelArts.2796: re-observe at once and exactly; Decide then holds further stops
    // while the status is the one the stop was refused at.
    {StopOutcome::kRefused, 8, Phase::kStopping, NextCheck::kNow, "StopRefused", false,
     "re-observing after a refused stop"},
};

TEST(DecisionTable, AfterStop) {
  for (const StopRow& row : kStopTable) {
    SCOPED_TRACE(std::string(row.reason) + " at " + std::to_string(row.observed));
    const Decision d = DecideAfterStop(row.outcome, row.observed);
    EXPECT_EQ(d.action, Action::kNone);  // a stop is sent at most once per reconcile
    EXPECT_EQ(d.phase, row.phase);
    EXPECT_EQ(d.next, row.next);
    EXPECT_EQ(d.reason, row.reason);
    EXPECT_EQ(d.synced, row.synced);
    EXPECT_EQ(d.message, row.message);
  }
}

TEST(DecisionTable, NamesAreStable) {
  EXPECT_EQ(PhaseName(Phase::kConverged), "Converged");
  EXPECT_EQ(PhaseName(Phase::kStopping), "Stopping");
  EXPECT_EQ(ActionName(Action::kStop), "stop");
  EXPECT_EQ(JobStatusName(22), "MOUNT_FAILED");
  EXPECT_EQ(JobStatusName(23), "UNRECOGNISED");
}

}  // namespace
}  // namespace mactl

namespace mactl {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

struct LimitRow {
  const char* what;
  int status;
  std::optional<milliseconds> run;  // nullopt: the API's duration was unusable
  bool stop_accepted;
  Action action;
  Phase phase;
  NextCheck next;
  std::string_view reason;
  std::optional<milliseconds> due_in;
};

// Desired Running with maxRuntime 60m: every row of README "Runtime limits".
TEST(DecisionTable, MaxRuntimeRows) {
  const milliseconds limit = minutes(60);
  const LimitRow rows[] = {
      {"running, under", 8, minutes(59), false, Action::kNone, Phase::kConverged,
       NextCheck::kResync, "Converged", minutes(1)},
      {"queued, nothing run yet", 7, milliseconds(0), false, Action::kNone, Phase::kConverged,
       NextCheck::kResync, "Converged", limit},
      {"running, 1 ms under", 8, limit - milliseconds(1), false, Action::kNone, Phase::kConverged,
       NextCheck::kResync, "Converged", milliseconds(1)},
      {"running, at", 8, limit, false, Action::kStop, Phase::kStopping, NextCheck::kPoll,
       kMaxRuntimeExceeded, std::nullopt},
      {"running, over", 8, minutes(600), false, Action::kStop, Phase::kStopping, NextCheck::kPoll,
       kMaxRuntimeExceeded, std::nullopt},
      {"running, duration unknown", 8, std::nullopt, false, Action::kNone, Phase::kConverged,
       NextCheck::kResync, "RunDurationUnknown", std::nullopt},
      {"over, stop already accepted", 8, minutes(61), true, Action::kNone, Phase::kStopping,
       NextCheck::kPoll, "StopRequested", std::nullopt},
      {"killing after the limit", 9, minutes(61), false, Action::kNone, Phase::kStopping,
       NextCheck::kPoll, kMaxRuntimeExceeded, std::nullopt},
      {"killing after our stop, duration unknown", 9, std::nullopt, true, Action::kNone,
       Phase::kStopping, NextCheck::kPoll, kMaxRuntimeExceeded, std::nullopt},
      {"killing under the limit: someone else stops it", 9, minutes(5), false, Action::kNone,
       Phase::kDrifted, NextCheck::kPoll, "Drifted", std::nullopt},
      {"killed after the limit (also after a restart)", 12, minutes(60), false, Action::kNone,
       Phase::kConverged, NextCheck::kResync, kMaxRuntimeExceeded, std::nullopt},
      {"completed under the limit", 10, minutes(5), false, Action::kNone, Phase::kDrifted,
       NextCheck::kResync, "Drifted", std::nullopt},
      {"unknown status", 23, minutes(61), false, Action::kNone, Phase::kPending, NextCheck::kPoll,
       "StatusUnknown", std::nullopt},
  };
  for (const LimitRow& row : rows) {
    SCOPED_TRACE(row.what);
    DecisionContext ctx;
    ctx.max_runtime = limit;
    ctx.run_duration = row.run;
    ctx.run_duration_problem = "negative run duration";
    ctx.stop_accepted = row.stop_accepted;
    const Decision d = Decide(DesiredState::kRunning, row.status, ctx);
    EXPECT_EQ(d.action, row.action);
    EXPECT_EQ(d.phase, row.phase);
    EXPECT_EQ(d.next, row.next);
    EXPECT_EQ(d.reason, row.reason);
    EXPECT_EQ(d.due_in, row.due_in);
    EXPECT_FALSE(d.message.empty());
  }
}

TEST(DecisionTable, MaxRuntimeMessagesAndGuards) {
  DecisionContext ctx;
  ctx.max_runtime = minutes(60);
  ctx.run_duration = minutes(90);
  EXPECT_EQ(Decide(DesiredState::kRunning, 8, ctx).message,
            "version is JOBSTAT_RUNNING (8) and has run 1h30m of maxRuntime 1h; stopping it");
  // A refused stop waits for a change like any other.
  ctx.stop_refused_at_status = 8;
  EXPECT_EQ(Decide(DesiredState::kRunning, 8, ctx).reason, "StopRefused");
  ctx.stop_refused_at_status.reset();
  // Pause, conflict and dry run report the stop they hold back.
  ctx.paused = true;
  const Decision paused = Decide(DesiredState::kRunning, 8, ctx);
  EXPECT_EQ(paused.action, Action::kNone);
  EXPECT_NE(paused.message.find("would stop"), std::string::npos);
  ctx.paused = false;
  ctx.dry_run = true;
  EXPECT_EQ(Decide(DesiredState::kRunning, 8, ctx).reason, "DryRun");
  ctx.dry_run = false;
  // The unknown duration says why.
  ctx.run_duration.reset();
  ctx.run_duration_problem = "the API reported a negative run duration (-5 ms)";
  const Decision unknown = Decide(DesiredState::kRunning, 8, ctx);
  EXPECT_FALSE(unknown.synced);
  EXPECT_NE(unknown.message.find("negative run duration (-5 ms)"), std::string::npos);
  // Without a limit, Running never acts and has no due time.
  EXPECT_FALSE(Decide(DesiredState::kRunning, 8, {}).due_in);
}

}  // namespace
}  // namespace mactl
