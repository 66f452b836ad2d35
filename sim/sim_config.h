#pragma once

// modelarts-sim's command line, parsed into a value, plus the start-up steps that turn it
// into simulator contents. Kept out of main so it is tested.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/base/clock.h"
#include "sim/fault_injector.h"
#include "sim/sim_auth.h"
#include "sim/sim_state.h"
#include "sim/v2_jobs.h"

namespace mactl::sim {

inline constexpr const char* kDefaultProjectId = "0123456789abcdef0123456789abcdef";
// The --project-id project's name, for IAM scopes by name (OTC names projects by region).
inline constexpr const char* kDefaultProjectName = "eu-de";

struct SimConfig {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;
  std::string port_file;  // empty: none
  std::string seed_file;  // empty: none
  int generate = 0;
  int generate_training_jobs = 0;  // v2 jobs named gen2-0001... in --project-id
  std::string project_id = kDefaultProjectId;
  std::string project_name = kDefaultProjectName;
  std::uint64_t random_seed = 1;
  std::optional<std::string> token;  // --token
  std::string token_file;            // --token-file, read at start
  std::vector<IamUser> iam_users;    // --iam-user NAME:PASSWORD:DOMAIN (repeatable)
  std::string iam_users_file;        // --iam-users-file, one NAME:PASSWORD:DOMAIN a line
  Duration iam_token_ttl = std::chrono::hours(24);
  std::vector<AccessKeyPair> access_keys;  // --aksk AK:SK (repeatable)
  std::string aksk_file;                   // --aksk-file, one AK:SK a line
  std::string tls_cert_file;               // --tls-cert; with --tls-key: HTTPS
  std::string tls_key_file;
  Duration kill_delay = std::chrono::seconds(3);
  // --stop-lag: how long an accepted stop leaves the old status showing (the real API is
  // asynchronous); 0 = KILLING at once.
  Duration stop_lag = Duration::zero();
  std::vector<FaultRule> faults;
  std::string log_level = "info";
  bool help = false;
};

// args excludes argv[0]. Accepts "--flag value" and "--flag=value". The error is one line.
Result<SimConfig> ParseSimFlags(const std::vector<std::string>& args);
std::string SimUsage();

// The token to require: --token, or the first line of --token-file (trailing whitespace
// removed; an empty file is an error), or nullopt when neither is set.
Result<std::optional<std::string>> ResolveToken(const SimConfig& config);

// Everything the simulator checks credentials with: ResolveToken, plus the IAM users and
// access keys from flags and files (read at start). File errors name the file and line,
// never a line's content.
Result<SimAuthConfig> ResolveAuthConfig(const SimConfig& config);

// Creates the --project-id project, then adds the seed file's jobs and --generate N jobs
// (ids after the project's highest).
Status PopulateState(SimState& state, const SimConfig& config);

// Adds the seed file's v2 jobs and --generate-training-jobs N v2 jobs (in --project-id).
Status PopulateTrainingJobs(V2JobStore& store, const SimConfig& config);

// Writes the port as text to path through a temporary file and rename, so a reader never
// sees a partial file.
Status WritePortFile(const std::string& path, int port);

}  // namespace mactl::sim
