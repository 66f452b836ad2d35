#include "controller/core/policy_lister.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <utility>

#include "controller/cloud/training_job_search.h"
#include "controller/core/batch_rule.h"
#include "controller/core/training_job_observer.h"

namespace mactl {
namespace {

// The API caps `page` at 65535.
constexpr std::size_t kLastListPage = 65535;

PolicyCandidate FromSummary(const std::string& project_id, const JobSummary& job) {
  PolicyCandidate c;
  c.kind = PolicyJobKind::kTrainingJobVersion;
  c.project_id = project_id;
  c.id = std::to_string(job.job_id);
  c.version_id = job.version_id;
  c.name = job.job_name;
  c.status = job.status;
  c.duration_ms = job.duration_ms;
  return c;
}

PolicyCandidate FromJob(const std::string& project_id, TrainingJobInfo job) {
  PolicyCandidate c;
  c.kind = PolicyJobKind::kTrainingJob;
  c.project_id = project_id;
  c.id = std::move(job.id);
  c.name = std::move(job.name);
  c.phase = std::move(job.phase);
  c.secondary_phase = std::move(job.secondary_phase);
  c.duration_ms = job.duration_ms;
  return c;
}

// Every job's latest version, pages of kMaxPerPage. The pages end as the observer's list
// refresh ends (controller/core/observer.cc, ListAll): at the first short page, at the job
// count the first page announced, at a page that shows no job not seen before (a server
// repeating itself), and at the API's last page; whatever job_total_count claims.
Status ListVersions(CloudClient& client, const std::string& project_id, PolicyListing& out) {
  std::map<std::int64_t, JobSummary> jobs;  // by job id: each job once, in id order
  std::int64_t total = 0;
  std::size_t pages_announced = 0;
  std::size_t seen = 0;
  for (std::size_t page = 1; page <= kLastListPage; ++page) {
    Result<JobListPage> result = client.ListJobs(project_id, static_cast<int>(page), kMaxPerPage);
    ++out.list_pages;
    if (!result) return result.error();
    if (page == 1) {
      total = result->job_total_count;
      pages_announced = CountedListPages(total, kMaxPerPage);
    }
    const std::size_t known = jobs.size();
    for (const JobSummary& job : result->jobs) jobs[job.job_id] = job;
    seen += result->jobs.size();
    if (result->jobs.size() < static_cast<std::size_t>(kMaxPerPage) || page >= pages_announced ||
        seen >= static_cast<std::size_t>(std::max<std::int64_t>(total, 0)) ||
        jobs.size() == known) {
      break;
    }
  }
  for (const auto& [id, job] : jobs) out.jobs.push_back(FromSummary(project_id, job));
  return OkStatus();
}

Status SearchJobs(TrainingJobClient& client, const std::string& project_id, PolicyListing& out) {
  TrainingJobSearch search;
  search.phases = ActiveJobPhases();
  Result<SearchResult> found = SearchAllTrainingJobs(client, project_id, search);
  if (!found) return found.error();
  out.search_pages = static_cast<std::size_t>(found->pages);
  for (TrainingJobInfo& job : found.value().jobs) {
    out.jobs.push_back(FromJob(project_id, std::move(job)));
  }
  return OkStatus();
}

}  // namespace

Result<PolicyListing> ListPolicyCandidates(CloudClient& versions, TrainingJobClient& jobs,
                                           const PolicyListRequest& request) {
  PolicyListing listing;
  if (request.versions) {
    if (Status listed = ListVersions(versions, request.project_id, listing); !listed) {
      return listed.error();
    }
  }
  if (request.training_jobs) {
    if (Status searched = SearchJobs(jobs, request.project_id, listing); !searched) {
      return searched.error();
    }
  }
  return listing;
}

Result<PolicyCandidate> LookUpPolicyCandidate(CloudClient& versions, TrainingJobClient& jobs,
                                              const PolicyCandidate& listed) {
  if (listed.kind == PolicyJobKind::kTrainingJob) {
    Result<TrainingJobInfo> job = jobs.GetTrainingJob(listed.project_id, listed.id);
    if (!job) return job.error();
    return FromJob(listed.project_id, std::move(job).value());
  }
  std::int64_t job_id = 0;
  const char* const end = listed.id.data() + listed.id.size();
  const auto [at, problem] = std::from_chars(listed.id.data(), end, job_id);
  if (problem != std::errc() || at != end || listed.id.empty()) {
    return MakeError(ErrorClass::kTerminal, "Policy.BadJobId",
                     "listed v1 job id \"" + listed.id + "\" is not a number");
  }
  Result<VersionDetail> detail =
      versions.GetVersion(VersionRef{listed.project_id, job_id, listed.version_id});
  if (!detail) return detail.error();
  PolicyCandidate fresh = listed;
  fresh.status = detail->status;
  fresh.duration_ms = detail->duration_ms;
  if (!detail->job_name.empty()) fresh.name = detail->job_name;
  return fresh;
}

std::vector<ResolvedPolicy> ResolvePolicies(const DesiredSnapshot& snapshot) {
  std::vector<ResolvedPolicy> policies;
  policies.reserve(snapshot.policies.size());
  for (const TrainingJobPolicy& p : snapshot.policies) {
    policies.push_back(ResolvedPolicy{p, p.ProjectId(snapshot.default_project_id)});
  }
  return policies;
}

std::map<std::string, PolicyListRequest> PolicyListRequests(
    const std::vector<ResolvedPolicy>& policies) {
  std::map<std::string, PolicyListRequest> requests;
  for (const ResolvedPolicy& p : policies) {
    PolicyListRequest& request = requests[p.project_id];
    request.project_id = p.project_id;
    request.versions = request.versions || p.policy.versions;
    request.training_jobs = request.training_jobs || p.policy.training_jobs;
  }
  return requests;
}

}  // namespace mactl
