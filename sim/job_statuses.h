#pragma once

// The ModelArts v1 training-job status codes as the simulator serves them: the number, the
// name the API reference's "Job Statuses" table gives, and how the simulated service treats
// a version in that status. Written from the API and SDK references, not from the
// controller's reading of them: the simulator is the controller's test peer, so it must not
// share the controller's idea of which statuses a stop applies to (docs/testing.md).

#include <string_view>

namespace mactl::sim {

// The codes the simulator's own state machine moves versions through.
inline constexpr int kStatusUnknown = 0;
inline constexpr int kStatusWaiting = 7;
inline constexpr int kStatusRunning = 8;
inline constexpr int kStatusKilling = 9;
inline constexpr int kStatusCompleted = 10;
inline constexpr int kStatusFailed = 11;
inline constexpr int kStatusKilled = 12;

// The highest code either reference lists (22, MOUNT_FAILED, is only in the SDK reference's
// table, not in the API reference's).
inline constexpr int kMaxStatusCode = 22;

struct StatusFacts {
  int code;
  std::string_view name;  // as documented, e.g. "JOBSTAT_RUNNING"
  bool started;           // the version has begun to run: it has a start_time
  bool accepts_stop;      // POST .../stop moves it to KILLING
  bool being_killed;      // a stop is under way
  bool terminal;          // finished; the status will not change again
};

// The facts of `code`; for a code outside 0–22 every flag is false and the name is
// "UNRECOGNISED".
const StatusFacts& FactsOf(int code);

bool IsDocumentedStatus(int code);
std::string_view StatusName(int code);
bool AcceptsStop(int code);
bool IsBeingKilled(int code);
bool IsTerminal(int code);
bool HasStarted(int code);

}  // namespace mactl::sim
