#include "sim/seed.h"

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>

#include "controller/base/random.h"
#include "nlohmann/json.hpp"
#include "sim/job_statuses.h"
#include "sim/v2_wire.h"

namespace mactl::sim {
namespace {

using nlohmann::json;

Error SeedError(const std::string& where, const std::string& why) {
  return MakeError(ErrorClass::kTerminal, "InvalidSeed",
                   "seed: " + where + (where.empty() ? "" : ": ") + why);
}

// Unknown keys are reported rather than ignored.
Status CheckKeys(const json& j, const std::string& where,
                 std::initializer_list<std::string_view> known) {
  if (!j.is_object()) return SeedError(where, "must be an object");
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) return SeedError(where, "unknown field \"" + key + "\"");
  }
  return OkStatus();
}

// A seeded run time of at most a year keeps every time the sim derives from it in range.
constexpr std::int64_t kMaxSeedDurationMs = std::int64_t{366} * 24 * 3600 * 1000;

Result<std::int64_t> RequiredInt(const json& j, const std::string& where, const char* name,
                                 std::int64_t lo, std::int64_t hi) {
  const std::string at = where + "." + name;
  if (!j.contains(name)) return SeedError(at, "is required");
  const json& v = j.at(name);
  if (!v.is_number_integer()) return SeedError(at, "must be an integer");
  const auto value = v.get<std::int64_t>();
  if (value < lo || value > hi) {
    return SeedError(
        at, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

Result<std::string> OptionalString(const json& j, const std::string& where, const char* name) {
  if (!j.contains(name)) return std::string();
  if (!j.at(name).is_string()) return SeedError(where + "." + name, "must be a string");
  return j.at(name).get<std::string>();
}

}  // namespace

Result<SeedData> ParseSeed(std::string_view json_text) {
  const json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return SeedError("", "not valid JSON");
  if (Status s = CheckKeys(root, "(root)", {"projects"}); !s) return s.error();
  if (!root.contains("projects") || !root.at("projects").is_array()) {
    return SeedError("projects", "is required and must be an array");
  }
  constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();
  SeedData out;
  std::set<std::string> project_ids;
  const json& projects = root.at("projects");
  for (std::size_t pi = 0; pi < projects.size(); ++pi) {
    const std::string pw = "projects[" + std::to_string(pi) + "]";
    const json& pj = projects[pi];
    if (Status s = CheckKeys(pj, pw, {"project_id", "jobs", "training_jobs"}); !s) {
      return s.error();
    }
    if (!pj.contains("project_id") || !pj.at("project_id").is_string() ||
        pj.at("project_id").get<std::string>().empty()) {
      return SeedError(pw + ".project_id", "is required and must be a non-empty string");
    }
    ProjectSeed project;
    project.project_id = pj.at("project_id").get<std::string>();
    if (project.project_id.find('/') != std::string::npos) {
      return SeedError(pw + ".project_id", "must not contain '/'");
    }
    if (!project_ids.insert(project.project_id).second) {
      return SeedError(pw + ".project_id", "duplicate project \"" + project.project_id + "\"");
    }
    if (pj.contains("training_jobs")) {
      auto v2 = ParseV2JobSeeds(pj.at("training_jobs"), pw + ".training_jobs");
      if (!v2) return v2.error();
      project.training_jobs = std::move(v2).value();
    }
    // A project of v2 jobs only needs no "jobs".
    if (pj.contains("training_jobs") && !pj.contains("jobs")) {
      out.projects.push_back(std::move(project));
      continue;
    }
    if (!pj.contains("jobs") || !pj.at("jobs").is_array()) {
      return SeedError(pw + ".jobs", "is required and must be an array");
    }
    std::set<std::int64_t> job_ids;
    const json& jobs = pj.at("jobs");
    for (std::size_t ji = 0; ji < jobs.size(); ++ji) {
      const std::string jw = pw + ".jobs[" + std::to_string(ji) + "]";
      const json& jj = jobs[ji];
      if (Status s =
              CheckKeys(jj, jw, {"job_id", "job_name", "job_desc", "workspace_id", "versions"});
          !s) {
        return s.error();
      }
      JobSeed job;
      auto job_id = RequiredInt(jj, jw, "job_id", 1, kMaxId);
      if (!job_id) return job_id.error();
      job.job_id = *job_id;
      if (!job_ids.insert(job.job_id).second) {
        return SeedError(jw + ".job_id", "duplicate job_id " + std::to_string(job.job_id));
      }
      if (!jj.contains("job_name") || !jj.at("job_name").is_string() ||
          jj.at("job_name").get<std::string>().empty()) {
        return SeedError(jw + ".job_name", "is required and must be a non-empty string");
      }
      job.job_name = jj.at("job_name").get<std::string>();
      auto desc = OptionalString(jj, jw, "job_desc");
      if (!desc) return desc.error();
      job.job_desc = *desc;
      auto workspace = OptionalString(jj, jw, "workspace_id");
      if (!workspace) return workspace.error();
      if (!workspace->empty()) job.workspace_id = *workspace;
      if (!jj.contains("versions") || !jj.at("versions").is_array() || jj.at("versions").empty()) {
        return SeedError(jw + ".versions", "is required and must be a non-empty array");
      }
      std::set<std::int64_t> version_ids;
      const json& versions = jj.at("versions");
      for (std::size_t vi = 0; vi < versions.size(); ++vi) {
        const std::string vw = jw + ".versions[" + std::to_string(vi) + "]";
        const json& vj = versions[vi];
        if (Status s = CheckKeys(vj, vw, {"version_id", "status", "version_name", "duration_ms"});
            !s) {
          return s.error();
        }
        VersionSeed version;
        auto version_id = RequiredInt(vj, vw, "version_id", 1, kMaxId);
        if (!version_id) return version_id.error();
        version.version_id = *version_id;
        if (!version_ids.insert(version.version_id).second) {
          return SeedError(vw + ".version_id",
                           "duplicate version_id " + std::to_string(version.version_id));
        }
        auto status = RequiredInt(vj, vw, "status", 0, kMaxStatusCode);
        if (!status) return status.error();
        version.status = static_cast<int>(*status);
        auto name = OptionalString(vj, vw, "version_name");
        if (!name) return name.error();
        version.version_name = *name;
        if (vj.contains("duration_ms")) {
          auto run = RequiredInt(vj, vw, "duration_ms", 0, kMaxSeedDurationMs);
          if (!run) return run.error();
          version.duration_ms = *run;
        }
        job.versions.push_back(std::move(version));
      }
      project.jobs.push_back(std::move(job));
    }
    out.projects.push_back(std::move(project));
  }
  return out;
}

Result<SeedData> LoadSeedFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorClass::kTerminal, "InvalidSeed", "seed: cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto seed = ParseSeed(text.str());
  if (!seed) {
    Error e = seed.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return seed;
}

std::vector<JobSeed> GenerateJobs(int n, std::int64_t first_job_id, std::uint64_t random_seed) {
  SeededRandom random(random_seed);
  // Cumulative weights of the latest version's status: mostly running.
  struct Weighted {
    double upto;
    int status;
  };
  static constexpr Weighted kLatest[] = {{0.60, kStatusRunning},
                                         {0.70, kStatusWaiting},
                                         {0.82, kStatusCompleted},
                                         {0.92, kStatusFailed},
                                         {1.01, kStatusKilling}};
  static constexpr int kOlder[] = {kStatusCompleted, kStatusFailed, kStatusKilled};
  static constexpr const char* kKinds[] = {"bert", "resnet", "gpt", "yolo", "t5", "whisper"};
  std::vector<JobSeed> jobs;
  for (int i = 0; i < n; ++i) {
    JobSeed job;
    job.job_id = first_job_id + i;
    char name[32];
    std::snprintf(name, sizeof(name), "gen-%04d", i + 1);
    job.job_name = name;
    job.job_desc = std::string("generated ") + kKinds[static_cast<std::size_t>(i) % 6] + " job";
    const int versions = 1 + static_cast<int>(random.Uniform01() * 3.0);
    for (int v = 0; v < versions; ++v) {
      VersionSeed version;
      version.version_id = v + 1;
      if (v + 1 < versions) {
        version.status = kOlder[static_cast<std::size_t>(random.Uniform01() * 3.0)];
      } else {
        const double draw = random.Uniform01();
        for (const Weighted& w : kLatest) {
          if (draw < w.upto) {
            version.status = w.status;
            break;
          }
        }
      }
      job.versions.push_back(version);
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Status ApplyTrainingJobSeed(V2JobStore& store, const SeedData& seed) {
  for (const ProjectSeed& project : seed.projects) {
    for (const V2JobSeed& job : project.training_jobs) {
      if (Status s = store.AddJob(project.project_id, job); !s) return s;
    }
  }
  return OkStatus();
}

Status ApplySeed(SimState& state, const SeedData& seed) {
  for (const ProjectSeed& project : seed.projects) {
    state.AddProject(project.project_id);
    for (const JobSeed& job : project.jobs) {
      if (Status s = state.AddJob(project.project_id, job); !s) return s;
    }
  }
  return OkStatus();
}

}  // namespace mactl::sim
