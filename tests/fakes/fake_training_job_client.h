#pragma once

// An in-memory TrainingJobClient: v2 jobs with phases, the search's filters and paging as the
// reference documents them (offset is a page index, or a record offset when asked), call
// counters and scripted errors.

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "controller/cloud/training_job_client.h"
#include "fakes/scripted_operations.h"

namespace mactl::testing {

class FakeTrainingJobClient final : public TrainingJobClient {
 public:
  // Sets (or creates) a job; jobs are searched in the order they were first set.
  void SetJob(const std::string& project_id, TrainingJobInfo job) {
    std::lock_guard lock(mu_);
    auto& jobs = projects_[project_id];
    const auto it = std::find_if(jobs.begin(), jobs.end(),
                                 [&](const TrainingJobInfo& j) { return j.id == job.id; });
    if (it == jobs.end()) {
      jobs.push_back(std::move(job));
    } else {
      *it = std::move(job);
    }
  }
  void SetPhase(const std::string& project_id, const std::string& id, std::string phase,
                std::string secondary = "") {
    std::lock_guard lock(mu_);
    for (TrainingJobInfo& j : projects_[project_id]) {
      if (j.id == id) {
        j.phase = std::move(phase);
        j.secondary_phase = std::move(secondary);
      }
    }
  }
  // The next calls of an operation ("get_job", "search_jobs", "terminate") fail with these.
  void FailNext(const std::string& operation, Error error) {
    std::lock_guard lock(mu_);
    scripted_.FailNext(operation, std::move(error));
  }
  // Read offset as a record offset, as a 2024 version of the reference described it.
  void UseRecordOffsets(bool on) {
    std::lock_guard lock(mu_);
    record_offsets_ = on;
  }
  // Answer every search with its first page, whatever the offset.
  void IgnoreOffset(bool on) {
    std::lock_guard lock(mu_);
    ignore_offset_ = on;
  }

  // Runs before each search page is handled, outside the fake's lock (e.g. to hold a search
  // while a test looks).
  void BeforeSearch(std::function<void(int offset)> hook) {
    std::lock_guard lock(mu_);
    before_search_ = std::move(hook);
  }

  // Runs just before a terminate is handled, outside the fake's lock (e.g. the job completes
  // meanwhile).
  void BeforeTerminate(std::function<void(const std::string& id)> hook) {
    std::lock_guard lock(mu_);
    before_terminate_ = std::move(hook);
  }

  int Calls(const std::string& operation) const {
    std::lock_guard lock(mu_);
    return scripted_.Calls(operation);
  }
  std::vector<std::string> Terminated() const {
    std::lock_guard lock(mu_);
    return terminated_;
  }
  std::vector<int> Offsets() const {
    std::lock_guard lock(mu_);
    return offsets_;
  }

  Result<TrainingJobInfo> GetTrainingJob(const std::string& project_id,
                                         const std::string& id) override {
    std::lock_guard lock(mu_);
    if (auto e = scripted_.Call("get_job")) return *e;
    if (const TrainingJobInfo* job = Find(project_id, id)) return *job;
    return NotFound(id);
  }

  Result<TrainingJobSearchPage> SearchTrainingJobs(const std::string& project_id,
                                                   const TrainingJobSearch& search,
                                                   int offset) override {
    std::function<void(int)> hook;
    {
      std::lock_guard lock(mu_);
      hook = before_search_;
    }
    if (hook) hook(offset);
    std::lock_guard lock(mu_);
    offsets_.push_back(offset);
    if (auto e = scripted_.Call("search_jobs")) return *e;
    std::vector<TrainingJobInfo> matching;
    for (const TrainingJobInfo& j : projects_[project_id]) {
      const bool phase_ok =
          search.phases.empty() ||
          std::find(search.phases.begin(), search.phases.end(), j.phase) != search.phases.end();
      const bool name_ok = j.name.find(search.name_like) != std::string::npos;
      if (phase_ok && name_ok) matching.push_back(j);
    }
    const auto limit = static_cast<std::size_t>(search.limit);
    const std::size_t first = ignore_offset_
                                  ? 0
                                  : (record_offsets_ ? static_cast<std::size_t>(offset)
                                                     : static_cast<std::size_t>(offset) * limit);
    TrainingJobSearchPage page;
    page.total = static_cast<std::int64_t>(projects_[project_id].size());
    page.count = static_cast<std::int64_t>(matching.size());
    for (std::size_t i = first; i < matching.size() && i < first + limit; ++i) {
      page.items.push_back(matching[i]);
    }
    return page;
  }

  Result<TrainingJobInfo> TerminateTrainingJob(const std::string& project_id,
                                               const std::string& id) override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard lock(mu_);
      hook = before_terminate_;
    }
    if (hook) hook(id);
    std::lock_guard lock(mu_);
    if (auto e = scripted_.Call("terminate")) return *e;
    TrainingJobInfo* job = Find(project_id, id);
    if (job == nullptr) return NotFound(id);
    if (job->phase != "Creating" && job->phase != "Pending" && job->phase != "Running") {
      return MakeError(ErrorClass::kNotAllowed, "ModelArts.2796",
                       "the job cannot be terminated in phase " + job->phase, 409);
    }
    terminated_.push_back(id);
    job->phase = "Terminating";
    job->secondary_phase = "Terminating";
    return *job;
  }

 private:
  TrainingJobInfo* Find(const std::string& project_id, const std::string& id) {
    for (TrainingJobInfo& j : projects_[project_id]) {
      if (j.id == id) return &j;
    }
    return nullptr;
  }
  static Error NotFound(const std::string& id) {
    return MakeError(ErrorClass::kTerminal, "ModelArts.2775", "training job " + id + " not found",
                     400);
  }

  mutable std::mutex mu_;
  std::map<std::string, std::vector<TrainingJobInfo>> projects_;
  ScriptedOperations scripted_;
  std::vector<std::string> terminated_;
  std::vector<int> offsets_;
  std::function<void(int)> before_search_;
  std::function<void(const std::string&)> before_terminate_;
  bool record_offsets_ = false;
  bool ignore_offset_ = false;
};

}  // namespace mactl::testing
