// The simulator's own status table, checked against the API reference's status names and the
// stop rules written in sim/job_statuses.cc (not against the controller's classification).

#include "sim/job_statuses.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mactl::sim {
namespace {

TEST(SimJobStatuses, NamesEveryDocumentedCode) {
  const char* const kNames[] = {"JOBSTAT_UNKNOWN",
                                "JOBSTAT_INIT",
                                "JOBSTAT_IMAGE_CREATING",
                                "JOBSTAT_IMAGE_FAILED",
                                "JOBSTAT_SUBMIT_TRYING",
                                "JOBSTAT_SUBMIT_FAILED",
                                "JOBSTAT_DELETE_FAILED",
                                "JOBSTAT_WAITING",
                                "JOBSTAT_RUNNING",
                                "JOBSTAT_KILLING",
                                "JOBSTAT_COMPLETED",
                                "JOBSTAT_FAILED",
                                "JOBSTAT_KILLED",
                                "JOBSTAT_CANCELED",
                                "JOBSTAT_LOST",
                                "JOBSTAT_SCALING",
                                "JOBSTAT_SUBMIT_MODEL_FAILED",
                                "JOBSTAT_DEPLOY_SERVICE_FAILED",
                                "JOBSTAT_CHECK_INIT",
                                "JOBSTAT_CHECK_RUNNING",
                                "JOBSTAT_CHECK_RUNNING_COMPLETED",
                                "JOBSTAT_CHECK_FAILED",
                                "MOUNT_FAILED"};
  for (int code = 0; code <= kMaxStatusCode; ++code) {
    EXPECT_TRUE(IsDocumentedStatus(code));
    EXPECT_EQ(StatusName(code), kNames[code]) << code;
    EXPECT_EQ(FactsOf(code).code, code);
  }
  for (int code : {-1, 23, 99}) {
    EXPECT_FALSE(IsDocumentedStatus(code));
    EXPECT_EQ(StatusName(code), "UNRECOGNISED");
    EXPECT_FALSE(AcceptsStop(code) || IsBeingKilled(code) || IsTerminal(code) || HasStarted(code));
  }
}

TEST(SimJobStatuses, StopIsAcceptedWhileTheJobMayStillBeWorking) {
  // Running (v1 SDK reference), creating and pending (v2 terminate), and, left open by the
  // references, scaling and under review.
  const std::set<int> accepts = {1, 2, 4, 7, 8, 15, 18, 19};
  for (int code = 0; code <= kMaxStatusCode; ++code) {
    EXPECT_EQ(AcceptsStop(code), accepts.count(code) == 1) << StatusName(code);
  }
}

TEST(SimJobStatuses, EachCodeIsInExactlyOneState) {
  for (int code = 0; code <= kMaxStatusCode; ++code) {
    const int states = static_cast<int>(AcceptsStop(code)) + static_cast<int>(IsBeingKilled(code)) +
                       static_cast<int>(IsTerminal(code));
    // 0 JOBSTAT_UNKNOWN is in none: never stopped, never finished.
    EXPECT_EQ(states, code == kStatusUnknown ? 0 : 1) << StatusName(code);
  }
  EXPECT_TRUE(IsBeingKilled(kStatusKilling));
  for (int code : {kStatusCompleted, kStatusFailed, kStatusKilled, 13, 14, 22}) {
    EXPECT_TRUE(IsTerminal(code)) << StatusName(code);
  }
}

TEST(SimJobStatuses, OnlyStatusesBeforeTheRunHaveNoStartTime) {
  const std::set<int> not_started = {0, 1, 2, 3, 4, 5, 7};
  for (int code = 0; code <= kMaxStatusCode; ++code) {
    EXPECT_EQ(HasStarted(code), not_started.count(code) == 0) << StatusName(code);
  }
}

}  // namespace
}  // namespace mactl::sim
