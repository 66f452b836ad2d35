#include "controller/cli/commands.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iterator>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "api/duration.h"
#include "api/manifest_loader.h"
#include "controller/base/sanitize.h"
#include "controller/cloud/job_status.h"
#include "controller/cloud/run_duration.h"
#include "controller/core/decision.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/observer.h"
#include "controller/core/policy_exclusions.h"
#include "controller/core/policy_lister.h"
#include "controller/core/policy_rule.h"
#include "controller/core/training_job_decision.h"
#include "controller/core/training_job_observer.h"
#include "controller/runtime/status_json.h"

namespace mactl {
namespace {

using nlohmann::json;

// A fixed-width text table: columns sized to their widest cell.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out << line << "\n";
  }
  return out.str();
}

ManifestSet Load(const Flags& flags, const std::string& default_project,
                 bool accept_training_jobs) {
  LoadOptions options;
  options.default_project_id = default_project;
  options.accept_training_jobs = accept_training_jobs;
  ManifestLoader loader(flags.manifests, options);
  return loader.Load();
}

void PrintErrors(const std::vector<ManifestError>& errors, std::ostream& out) {
  for (const ManifestError& e : errors) out << e.ToString() << "\n";
}

// A document with three errors is one invalid document.
std::size_t InvalidDocuments(const std::vector<ManifestError>& errors) {
  std::set<std::tuple<std::string, int, int>> documents;
  for (const ManifestError& e : errors) {
    const SourcePosition& d = e.Document();
    documents.emplace(d.file, d.line, d.column);
  }
  return documents.size();
}

std::string Str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// plan's output: one row per object of either kind, and what the pass found.
struct PlanTable {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "PROJECT", "JOB", "VERSION", "DESIRED", "OBSERVED", "ACTION", "REASON"}};
  bool pending = false;  // some object would be stopped or terminated
  bool failed = false;   // an invalid manifest or a failed observation
};

// When spec.maxRuntime falls due, for the REASON cell of an object under its limit: `run`
// schedules its look for that moment (README, "Runtime limits"). A job that is not running
// (queued) adds no run time until it runs, so its moment is the earliest one.
std::string DueText(std::chrono::milliseconds limit, std::chrono::milliseconds due_in, bool running,
                    WallTime now) {
  const auto ahead = std::chrono::duration_cast<WallTime::duration>(due_in);
  const WallTime at = ahead > WallTime::max() - now ? WallTime::max() : now + ahead;
  if (running) {
    return "; limit " + FormatDuration(limit) + " reached in " + FormatDuration(due_in) + " (at " +
           Iso8601(at) + ")";
  }
  return "; limit " + FormatDuration(limit) + " reached after " + FormatDuration(due_in) +
         " more of running (at " + Iso8601(at) + " at the earliest)";
}

// The facts `run` gives Decide on its first look (controller/core/reconciler.cc).
DecisionContext PlanContext(const ManagedVersion& managed, const Observation& observed) {
  DecisionContext context;
  context.paused = managed.paused;
  context.conflict = managed.conflict;
  context.max_runtime = managed.max_runtime;
  const RunDuration run = CheckRunDuration(observed.duration_ms);
  context.run_duration = run.value;
  context.run_duration_problem = run.problem;
  return context;
}

void PlanVersions(const DesiredSnapshot& snapshot, const std::string& default_project,
                  CloudClient& client, const Clock& clock, SteadyTime start, PlanTable& table) {
  Observer observer(client, clock);
  std::map<std::string, std::size_t> per_project;
  for (const auto& [key, managed] : snapshot.versions) ++per_project[managed.ref.project_id];
  observer.SetManagedCounts(per_project);
  for (const TrainingJobVersion& object : snapshot.objects) {
    const VersionRef ref = object.Ref(default_project);
    const ManagedVersion* managed = snapshot.Find(ref.Key());
    std::vector<std::string> row = {object.name,
                                    std::string(kKind),
                                    ref.project_id,
                                    std::to_string(ref.job_id),
                                    std::to_string(ref.version_id),
                                    std::string(DesiredStateName(object.desired_state))};
    Result<Observation> observed = observer.Observe({ref, start, true});
    if (!observed) {
      table.failed = true;
      row.insert(row.end(), {"error", "none", observed.error().ToString()});
    } else {
      const Decision d =
          Decide(managed->desired, observed->status, PlanContext(*managed, *observed));
      table.pending = table.pending || d.action == Action::kStop;
      std::string reason = d.message;
      if (d.due_in && managed->max_runtime) {
        const bool running = observed->status == static_cast<int>(JobStatus::kRunning);
        reason += DueText(*managed->max_runtime, *d.due_in, running, clock.WallNow());
      }
      row.insert(row.end(), {std::string(JobStatusName(observed->status)),
                             std::string(ActionName(d.action)), std::move(reason)});
    }
    table.rows.push_back(std::move(row));
  }
}

// What plan shows as a TrainingJob's observed state: the phase of the job decided about, or
// for a name that resolved to no job or to several, how many active jobs carry it.
std::string ObservedJobText(const std::vector<TrainingJobInfo>& jobs, const TrainingJobRef& ref,
                            const TrainingJobDecision& d) {
  for (const TrainingJobInfo& job : jobs) {
    if (job.id == d.job_id) return job.phase;
  }
  if (!ref.training_job_id.empty()) return "-";
  const std::size_t active = MatchJobName(ref.training_job_name, jobs).active.size();
  return active == 0 ? "none active" : std::to_string(active) + " active";
}

struct PlannedJob {
  TrainingJobDecision decision;
  std::string observed;  // the OBSERVED cell
};

// The decision `run` takes on its first look at the job: the project's batched search, a
// detail call for an id the search does not list, then the pure decision.
Result<PlannedJob> PlanTrainingJob(const ManagedTrainingJob& managed, TrainingJobObserver& observer,
                                   SteadyTime start, WallTime now) {
  TrainingJobObserveRequest request;
  request.ref = managed.ref;
  request.not_before = start;
  request.recheck_if_absent = managed.ref.training_job_id;
  Result<TrainingJobObservation> observed = observer.Observe(request);
  if (!observed) return observed.error();
  TrainingJobDecisionContext context;
  context.paused = managed.paused;
  context.conflict = managed.conflict;
  context.max_runtime = managed.max_runtime;
  TrainingJobDecision d;
  if (!managed.ref.training_job_id.empty()) {
    if (observed->jobs.empty()) {
      return MakeError(ErrorClass::kRetryable, "Observe.NoJob",
                       "the job was neither listed nor looked up");
    }
    d = DecideTrainingJob(managed.desired, observed->jobs.front(), context);
  } else {
    d = DecideTrainingJobByName(managed.desired, managed.ref.training_job_name, observed->jobs,
                                context);
  }
  std::string text = ObservedJobText(observed->jobs, managed.ref, d);
  if (d.due_in && managed.max_runtime) {
    d.message += DueText(*managed.max_runtime, *d.due_in, text == "Running", now);
  }
  return PlannedJob{std::move(d), std::move(text)};
}

void PlanTrainingJobs(const DesiredSnapshot& snapshot, const std::string& default_project,
                      TrainingJobClient& client, const Clock& clock, SteadyTime start,
                      PlanTable& table) {
  TrainingJobObserver observer(client, clock);
  // As on the daemon's first pass, every job is due now, so a project shares one search.
  std::map<std::string, std::size_t> per_project;
  for (const auto& [key, managed] : snapshot.training_jobs) ++per_project[managed.ref.project_id];
  observer.SetManagedCounts(per_project);
  for (const TrainingJob& object : snapshot.job_objects) {
    const TrainingJobRef ref = object.Ref(default_project);
    const ManagedTrainingJob* managed = snapshot.FindTrainingJob(ref.Key());
    std::vector<std::string> row = {
        object.name,
        std::string(kTrainingJobKind),
        ref.project_id,
        ref.training_job_id.empty() ? "name:" + ref.training_job_name : ref.training_job_id,
        "-",
        std::string(DesiredStateName(object.desired_state))};
    const auto planned = PlanTrainingJob(*managed, observer, start, clock.WallNow());
    if (!planned) {
      table.failed = true;
      row.insert(row.end(), {"error", "none", planned.error().ToString()});
    } else {
      const TrainingJobDecision& d = planned->decision;
      table.pending = table.pending || d.action == JobAction::kTerminate;
      row.insert(row.end(), {planned->observed, std::string(JobActionName(d.action)), d.message});
    }
    table.rows.push_back(std::move(row));
  }
}

// plan's second table: the jobs the policies would stop now, and one line per policy.
struct PolicyPlan {
  std::vector<std::vector<std::string>> rows = {
      {"POLICY", "KIND", "PROJECT", "JOB", "NAME", "RUN", "LIMIT", "ACTION"}};
  std::vector<std::string> lines;  // per policy: counts, next due, guard
  bool pending = false;            // a job would be stopped, or the guard holds
  bool failed = false;             // a project could not be listed
};

// One batched listing per project, as run's pass takes it; the jobs of every project that
// could be listed, and an error line for each that could not.
std::vector<PolicyCandidate> ListPolicyJobs(const std::vector<ResolvedPolicy>& policies,
                                            CloudClient& client, TrainingJobClient& job_client,
                                            PolicyPlan& plan) {
  std::vector<PolicyCandidate> jobs;
  for (const auto& [project, request] : PolicyListRequests(policies)) {
    Result<PolicyListing> listing = ListPolicyCandidates(client, job_client, request);
    if (!listing) {
      plan.failed = true;
      plan.lines.push_back("project " + project + ": cannot list its jobs for the policies: " +
                           listing.error().ToString());
      continue;
    }
    std::move(listing->jobs.begin(), listing->jobs.end(), std::back_inserter(jobs));
  }
  return jobs;
}

std::string PolicyAction(const PolicyMatch& m, const PolicyReport& report) {
  if (m.stop) return m.job.kind == PolicyJobKind::kTrainingJob ? "terminate" : "stop";
  return "none (" + (report.reason.empty() ? std::string("held") : report.reason) + ")";
}

std::vector<std::string> PolicyRow(const PolicyMatch& m, const ResolvedPolicy& policy,
                                   const PolicyReport& report) {
  std::string job = m.job.id;
  if (m.job.kind == PolicyJobKind::kTrainingJobVersion) {
    job += " (version " + std::to_string(m.job.version_id) + ")";
  }
  return {policy.policy.name,
          std::string(PolicyJobKindName(m.job.kind)),
          m.job.project_id,
          job,
          m.job.name,
          FormatDuration(std::chrono::floor<std::chrono::seconds>(
              std::chrono::milliseconds(m.job.duration_ms))),
          FormatDuration(policy.policy.max_runtime),
          PolicyAction(m, report)};
}

// One line per policy: what it matched, whether the guard or the pause holds its stops, and
// when its next job reaches the limit.
std::string PolicyLine(const ResolvedPolicy& policy, const PolicyReport& report,
                       const PolicyEvaluation& evaluation, std::size_t max_stops, WallTime now) {
  std::string line = "policy " + policy.policy.name + ": " + std::to_string(report.matched) +
                     " job(s) matched, " + std::to_string(report.over_limit) + " over maxRuntime " +
                     FormatDuration(policy.policy.max_runtime);
  if (report.reason == kPolicyLimitExceeded) {
    line += "; " + std::string(kPolicyLimitExceeded) + ": the policies would stop " +
            std::to_string(evaluation.stops_wanted) + " job(s) at once, more than " +
            "--policy-max-stops " + std::to_string(max_stops) + "; nothing would be stopped";
  } else if (report.reason == "Paused") {
    line += "; paused: reports only, stops nothing";
  }
  if (report.next_due_in) {
    // Whole seconds, rounded up: plan never says a job falls due earlier than it does.
    const auto due_in = std::chrono::ceil<std::chrono::seconds>(*report.next_due_in);
    const auto ahead = std::chrono::duration_cast<WallTime::duration>(due_in);
    const WallTime at = ahead > WallTime::max() - now ? WallTime::max() : now + ahead;
    line += "; next due in " + FormatDuration(due_in) + " (at " + Iso8601(at) + ")";
  } else {
    line += "; nothing running under the limit falls due";
  }
  return line;
}

// After the objects, one pass per policy as `run` takes it, but stopping nothing: every job
// each policy would stop now, and per policy when the next one falls due.
PolicyPlan PlanPolicies(const DesiredSnapshot& snapshot, const Flags& flags, CloudClient& client,
                        TrainingJobClient& job_client, WallTime now) {
  PolicyPlan plan;
  const std::vector<ResolvedPolicy> policies = ResolvePolicies(snapshot);
  const std::vector<PolicyCandidate> jobs = ListPolicyJobs(policies, client, job_client, plan);
  // A pass never acts on half a project set: with a listing missing, the guard cannot count.
  if (plan.failed) return plan;
  PolicyRuleOptions options;
  options.max_stops = static_cast<std::size_t>(std::max(flags.policy_max_stops, 0));
  options.dry_run = false;
  const PolicyEvaluation evaluation =
      EvaluatePolicies(policies, jobs, ExclusionsOf(snapshot), options);
  for (const PolicyMatch& m : evaluation.matches) {
    if (m.verdict != PolicyVerdict::kOverLimit) continue;
    plan.rows.push_back(PolicyRow(m, policies[m.policy], evaluation.policies[m.policy]));
    plan.pending = plan.pending || m.stop;
  }
  plan.pending = plan.pending || evaluation.limit_exceeded;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    plan.lines.push_back(
        PolicyLine(policies[i], evaluation.policies[i], evaluation, options.max_stops, now));
  }
  return plan;
}

}  // namespace

int RunValidate(const Flags& flags, std::ostream& out) {
  // Offline: a manifest without spec.projectId is valid when --project-id will supply it.
  const bool have_default = !flags.project_id.empty();
  const ManifestSet set =
      Load(flags, have_default ? flags.project_id : "unset-project", /*accept_training_jobs=*/true);
  PrintErrors(set.errors, out);
  std::size_t relying = 0;
  for (const TrainingJobVersion& o : set.objects) relying += o.project_id.empty() ? 1u : 0u;
  for (const TrainingJob& o : set.jobs) relying += o.project_id.empty() ? 1u : 0u;
  for (const TrainingJobPolicy& p : set.policies) relying += p.project_id.empty() ? 1u : 0u;
  out << set.files << " file(s), " << set.objects.size() + set.jobs.size() << " valid object(s), "
      << set.policies.size() << " valid polic" << (set.policies.size() == 1 ? "y" : "ies") << ", "
      << InvalidDocuments(set.errors) << " invalid document(s)\n";
  if (relying > 0 && !have_default) {
    out << relying << " manifest(s) set no spec.projectId: run needs --project-id\n";
  }
  return set.errors.empty() ? kExitOk : kExitError;
}

int RunPlan(const Flags& flags, CloudClient& client, TrainingJobClient& job_client,
            const Clock& clock, std::ostream& out) {
  const ManifestSet set = Load(flags, flags.project_id, /*accept_training_jobs=*/true);
  PrintErrors(set.errors, out);
  DesiredSnapshot snapshot = BuildDesiredSnapshot(set.objects, set.errors, flags.project_id);
  AddTrainingJobs(snapshot, set.jobs);
  snapshot.policies = set.policies;
  PlanTable table;
  table.failed = !set.errors.empty();
  const SteadyTime start = clock.Now();
  PlanVersions(snapshot, flags.project_id, client, clock, start, table);
  PlanTrainingJobs(snapshot, flags.project_id, job_client, clock, start, table);
  out << Table(table.rows);
  if (!snapshot.policies.empty()) {
    const PolicyPlan policies = PlanPolicies(snapshot, flags, client, job_client, clock.WallNow());
    out << "\n" << Table(policies.rows);
    for (const std::string& line : policies.lines) out << line << "\n";
    table.failed = table.failed || policies.failed;
    table.pending = table.pending || policies.pending;
  }
  if (table.failed) return kExitError;
  return table.pending ? kExitChangesPending : kExitOk;
}

std::string RenderStatusTable(const json& status) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "KIND", "PROJECT", "JOB", "VERSION",
                                                 "DESIRED", "OBSERVED", "PHASE", "READY", "REASON",
                                                 "ATTEMPTS", "NEXT"}};
  for (const json& o : status.value("objects", json::array())) {
    // A daemon from before TrainingJob sends no kind.
    const std::string kind = o.contains("kind") ? Str(o, "kind") : std::string(kKind);
    const bool job = kind == kTrainingJobKind;
    std::string observed = "-";
    if (o.contains("observed") && o["observed"].is_object()) {
      observed = Str(o["observed"], job ? "phase" : "statusName");
    }
    std::string job_column = Str(o, "jobId");
    if (job) {
      job_column = o.contains("trainingJobId") && o["trainingJobId"].is_string()
                       ? Str(o, "trainingJobId")
                       : "name:" + Str(o, "trainingJobName");
    }
    std::string ready = "-", reason = "-";
    for (const json& c : o.value("conditions", json::array())) {
      if (c.value("type", "") == "Ready") {
        ready = Str(c, "status");
        reason = Str(c, "reason");
      }
    }
    rows.push_back({Str(o, "name"), kind, Str(o, "projectId"), job_column, Str(o, "versionId"),
                    Str(o, "desiredState") + (o.value("paused", false) ? " (paused)" : ""),
                    observed, Str(o, "phase"), ready, reason, Str(o, "attempts"),
                    Str(o, "nextAttempt")});
  }
  std::string out = Table(rows) + RenderPolicyTable(status);
  const json errors = status.value("manifestErrors", json::array());
  if (!errors.empty()) {
    out += "\nINVALID MANIFESTS\n";
    for (const json& e : errors) {
      out += Str(e, "file") + ":" + Str(e, "line") + ":" + Str(e, "column") + ": " +
             Str(e, "error") + "\n";
    }
  }
  return out;
}

std::string RenderPolicyTable(const json& status) {
  const json policies = status.value("policies", json::array());
  if (!policies.is_array() || policies.empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "PROJECT", "LIMIT", "PHASE", "MATCHED", "OVER", "STOPS", "NEXT DUE"}};
  for (const json& p : policies) {
    if (!p.is_object()) continue;
    rows.push_back({Str(p, "name"), Str(p, "kind"), Str(p, "projectId"), Str(p, "maxRuntime"),
                    Str(p, "phase") + (p.value("paused", false) ? " (paused)" : ""),
                    Str(p, "matched"), Str(p, "overLimit"), Str(p, "stops"), Str(p, "nextDueAt")});
  }
  return "\n" + Table(rows);
}

std::string RenderLeaderLine(const json& status) {
  const auto it = status.find("leaderElection");
  if (it == status.end() || !it->is_object()) return "";
  const auto text = [&](const char* name) {
    const auto field = it->find(name);
    const std::string value =
        field != it->end() && field->is_string() ? field->get<std::string>() : std::string();
    return value.empty() ? std::string("(unknown)") : SanitizeForLog(value, 200);
  };
  return "LEADER: " + text("leader") + "   THIS REPLICA: " + text("identity") + " (" +
         text("role") + ")\n";
}

}  // namespace mactl
