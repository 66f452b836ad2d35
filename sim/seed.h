#pragma once

// Initial simulator contents: a seed file, or N generated jobs.
//
// Seed format:
//   {"projects":[{"project_id":"...","jobs":[{"job_id":10,"job_name":"bert-finetune",
//     "job_desc":"...","workspace_id":"0",
//     "versions":[{"version_id":9,"status":10},{"version_id":10,"status":8}]}]}]}
// job_desc, workspace_id and a version's version_name and duration_ms (run time already had, in
// ms, at most a year) are optional; unknown fields are errors
// (they are almost always typos). A project may also hold v2 jobs (sim/v2_wire.h):
//   "training_jobs":[{"id":"2c7f7a0e-...","name":"llama-sft","phase":"Running"}]
// and then needs no "jobs".

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"
#include "sim/sim_state.h"
#include "sim/v2_jobs.h"

namespace mactl::sim {

struct ProjectSeed {
  std::string project_id;
  std::vector<JobSeed> jobs;
  std::vector<V2JobSeed> training_jobs;
};

struct SeedData {
  std::vector<ProjectSeed> projects;
};

// Errors say where: "seed: projects[0].jobs[2].versions[0].status: must be an integer in [0, 22]".
Result<SeedData> ParseSeed(std::string_view json_text);
Result<SeedData> LoadSeedFile(const std::string& path);

// n jobs (ids from first_job_id) named "gen-0001"..., 1–3 versions each, older versions
// finished, the latest mostly RUNNING with some WAITING, COMPLETED, FAILED and KILLING.
// Deterministic for a given random_seed.
std::vector<JobSeed> GenerateJobs(int n, std::int64_t first_job_id, std::uint64_t random_seed);

// Adds every job of the seed to the state; stops at the first error.
Status ApplySeed(SimState& state, const SeedData& seed);
// Adds every v2 job of the seed to the store; stops at the first error.
Status ApplyTrainingJobSeed(V2JobStore& store, const SeedData& seed);

}  // namespace mactl::sim
