#pragma once
// The batched look a TrainingJobPolicy pass takes (README, "Runtime limits"): for one project,
// every v1 job's latest version (list pages of 1000) and every non-terminal v2 job (search
// pages of 50 over ActiveJobPhases()), turned into PolicyCandidates. A policy over 10,000 jobs
// costs these pages, never a call per job; only a job about to be stopped is looked at again
// exactly (LookUpPolicyCandidate) first.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/cloud/cloud_client.h"
#include "controller/cloud/training_job_client.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/policy_rule.h"

namespace mactl {

struct PolicyListRequest {
  std::string project_id;
  bool versions = false;       // list the project's v1 jobs
  bool training_jobs = false;  // search the project's non-terminal v2 jobs
};

struct PolicyListing {
  std::vector<PolicyCandidate> jobs;  // v1 jobs first (by job id), then v2 (as searched)
  std::size_t list_pages = 0;         // v1 ListJobs calls made
  std::size_t search_pages = 0;       // v2 search calls made
};

// The snapshot's policies as a pass applies them: each with its spec.projectId, else the
// snapshot's default project (--project-id). In manifest order, which evaluation indexes by.
std::vector<ResolvedPolicy> ResolvePolicies(const DesiredSnapshot& snapshot);

// One listing per project the policies name, over the union of their jobKinds: `plan` and
// `run` list a project once however many policies share it.
std::map<std::string, PolicyListRequest> PolicyListRequests(
    const std::vector<ResolvedPolicy>& policies);

// Fails with the first failing call's error: a pass never acts on half a project.
Result<PolicyListing> ListPolicyCandidates(CloudClient& versions, TrainingJobClient& jobs,
                                           const PolicyListRequest& request);

// The job again, exactly, before a stop: v1 GetVersion of the listed latest version, v2
// GetTrainingJob. A v2 job that is gone (400 ModelArts.2775) comes back as that error.
Result<PolicyCandidate> LookUpPolicyCandidate(CloudClient& versions, TrainingJobClient& jobs,
                                              const PolicyCandidate& listed);

}  // namespace mactl
