#include "sim/job_statuses.h"

#include <array>
#include <cstddef>

namespace mactl::sim {
namespace {

// What the references settle, and what they leave open:
// - Names and meanings: the API reference's "Job Statuses" table (0–21) and the SDK
//   reference's copy of it, which adds 22 MOUNT_FAILED.
// - Stop: the v1 SDK reference allows stopping a version "only when the job is running"; the
//   v2 terminate action allows creating, pending and running jobs. The simulator accepts a
//   stop in every status in which the job may still be doing work (the union of the two:
//   initialising, image creating, submitting, queuing, running) and also, because the
//   references say nothing either way, while it is scaling or under review. OPEN: whether
//   the real service refuses a stop in any of these but RUNNING.
// - Refusal: stopping a version that is being killed, finished or unknown is answered with
//   409 ModelArts.2796 NotAllowedToTerminate ("check the job status"), the error table's
//   code for this; OPEN: whether v1 answers so (the error table belongs to the newer
//   training service).
// - Terminal: no reference classifies the codes; a status is terminal here when its name says
//   the job ended: completed, failed (image, submission, deletion, run, model submission,
//   service deployment, review, mount), killed, canceled, lost, review completed.
// - 0 JOBSTAT_UNKNOWN: nothing is documented; the simulator neither stops nor ends it.
// - started: the detail call's start_time; statuses before the job runs have none.
constexpr std::array<StatusFacts, kMaxStatusCode + 1> kFacts = {{
    // code, name,                            started, stop,  killing, terminal
    {0, "JOBSTAT_UNKNOWN", false, false, false, false},
    {1, "JOBSTAT_INIT", false, true, false, false},
    {2, "JOBSTAT_IMAGE_CREATING", false, true, false, false},
    {3, "JOBSTAT_IMAGE_FAILED", false, false, false, true},
    {4, "JOBSTAT_SUBMIT_TRYING", false, true, false, false},
    {5, "JOBSTAT_SUBMIT_FAILED", false, false, false, true},
    // A deletion can fail only for a job that existed and ran.
    {6, "JOBSTAT_DELETE_FAILED", true, false, false, true},
    {7, "JOBSTAT_WAITING", false, true, false, false},
    {8, "JOBSTAT_RUNNING", true, true, false, false},
    {9, "JOBSTAT_KILLING", true, false, true, false},
    {10, "JOBSTAT_COMPLETED", true, false, false, true},
    {11, "JOBSTAT_FAILED", true, false, false, true},
    {12, "JOBSTAT_KILLED", true, false, false, true},
    {13, "JOBSTAT_CANCELED", true, false, false, true},
    {14, "JOBSTAT_LOST", true, false, false, true},
    {15, "JOBSTAT_SCALING", true, true, false, false},  // OPEN: stop while scaling
    {16, "JOBSTAT_SUBMIT_MODEL_FAILED", true, false, false, true},
    {17, "JOBSTAT_DEPLOY_SERVICE_FAILED", true, false, false, true},
    {18, "JOBSTAT_CHECK_INIT", true, true, false, false},     // OPEN: stop under review
    {19, "JOBSTAT_CHECK_RUNNING", true, true, false, false},  // OPEN: stop under review
    {20, "JOBSTAT_CHECK_RUNNING_COMPLETED", true, false, false, true},
    {21, "JOBSTAT_CHECK_FAILED", true, false, false, true},
    {22, "MOUNT_FAILED", true, false, false, true},
}};

constexpr StatusFacts kUnrecognised = {-1, "UNRECOGNISED", false, false, false, false};

}  // namespace

bool IsDocumentedStatus(int code) { return code >= 0 && code <= kMaxStatusCode; }

const StatusFacts& FactsOf(int code) {
  return IsDocumentedStatus(code) ? kFacts[static_cast<std::size_t>(code)] : kUnrecognised;
}

std::string_view StatusName(int code) { return FactsOf(code).name; }
bool AcceptsStop(int code) { return FactsOf(code).accepts_stop; }
bool IsBeingKilled(int code) { return FactsOf(code).being_killed; }
bool IsTerminal(int code) { return FactsOf(code).terminal; }
bool HasStarted(int code) { return FactsOf(code).started; }

}  // namespace mactl::sim
