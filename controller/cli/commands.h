#pragma once

// The one-shot subcommands: validate (offline lint), plan (one observing pass, no
// changes) and get (a running daemon's /status as a table).

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "controller/base/clock.h"
#include "controller/cli/flags.h"
#include "controller/cloud/cloud_client.h"
#include "controller/cloud/training_job_client.h"

namespace mactl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitChangesPending = 2;

// 0 valid, 1 invalid: every error printed as file:line:column: reason.
int RunValidate(const Flags& flags, std::ostream& out);

// Both kinds in one table: TrainingJobVersion objects over the v1 calls (client), TrainingJob
// objects over the v2 calls (job_client), each with the decision `run` would take. 0 nothing
// to do, 2 changes pending (a stop or terminate would be sent), 1 error (invalid manifests or
// failed observations). Then, with TrainingJobPolicy manifests, one policy pass under
// --policy-max-stops: the jobs each policy would stop now (2 when there are any, or when the
// guard holds) and when each policy's next job falls due. Never acts.
int RunPlan(const Flags& flags, CloudClient& client, TrainingJobClient& job_client,
            const Clock& clock, std::ostream& out);

// kubectl-get-style table of /status: the objects, then the policies, then invalid manifests.
std::string RenderStatusTable(const nlohmann::json& status);
// The TrainingJobPolicy rows of /status (NAME, KIND, PROJECT, LIMIT, PHASE, MATCHED, OVER,
// STOPS, NEXT DUE) after a blank line; "" when it lists none.
std::string RenderPolicyTable(const nlohmann::json& status);
// The line `get` prints above the table with --leader-elect: the leader's identity and this
// replica's; "" when /status has no "leaderElection".
std::string RenderLeaderLine(const nlohmann::json& status);
// Pages through /status (500 objects a request); NAME and -l become its filters. 0, or 1 when
// the daemon is unreachable, refuses the query, answers nonsense, or NAME is not there.
int RunGet(const Flags& flags, std::ostream& out, std::ostream& err);

}  // namespace mactl
