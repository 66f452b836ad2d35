#pragma once
// The runtime-limit policy manifest, kind TrainingJobPolicy (README, "Runtime limits"): one
// maxRuntime for every job of a project whose kind and name match, including jobs no
// TrainingJob/TrainingJobVersion manifest names.
#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "api/training_job_version.h"

namespace mactl {

inline constexpr std::string_view kTrainingJobPolicyKind = "TrainingJobPolicy";

struct TrainingJobPolicy {
  std::string name;  // metadata.name: unique across every kind
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // spec.projectId as written; empty when the manifest relies on --project-id.
  std::string project_id;
  // spec.jobKinds; both true when the field is absent.
  bool training_jobs = true;  // kind TrainingJob: v2 jobs
  bool versions = true;       // kind TrainingJobVersion: v1 jobs (their latest version)
  std::string name_glob;      // spec.nameGlob (api/name_glob.h); empty matches every job
  std::chrono::milliseconds max_runtime{0};  // spec.maxRuntime, >= 1m
  bool paused = false;                       // modelarts-controller.io/paused: report, never stop
  SourcePosition source;

  std::string ProjectId(std::string_view default_project_id) const {
    return project_id.empty() ? std::string(default_project_id) : project_id;
  }
  bool operator==(const TrainingJobPolicy&) const = default;
};

}  // namespace mactl
