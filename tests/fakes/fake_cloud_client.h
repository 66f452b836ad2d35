#pragma once

// An in-memory CloudClient: versions with statuses, call counters, and scripted errors;
// and ListPageGate, which holds a list refresh at one page while a test looks.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "controller/cloud/cloud_client.h"
#include "controller/cloud/job_status.h"
#include "fakes/scripted_operations.h"

namespace mactl::testing {

class FakeCloudClient final : public CloudClient {
 public:
  // Sets (or creates) a version's status.
  void SetStatus(const VersionRef& ref, int status) {
    std::lock_guard lock(mu_);
    versions_[ref] = status;
  }
  // Sets a version's run duration (ms), reported by the detail call and the list.
  void SetDuration(const VersionRef& ref, std::int64_t duration_ms) {
    std::lock_guard lock(mu_);
    durations_[ref] = duration_ms;
  }
  int StatusOf(const VersionRef& ref) const {
    std::lock_guard lock(mu_);
    return versions_.at(ref);
  }
  // The next calls of an operation fail with these errors, in order.
  void FailNext(const std::string& operation, Error error) {
    std::lock_guard lock(mu_);
    scripted_.FailNext(operation, std::move(error));
  }
  // Runs just before a stop is handled (e.g. the job completes meanwhile).
  void BeforeStop(std::function<void(const VersionRef&)> hook) {
    std::lock_guard lock(mu_);
    before_stop_ = std::move(hook);
  }

  // Runs before each list page is handled, outside the fake's lock (e.g. to hold the
  // page until a test releases it).
  void BeforeList(std::function<void(int page)> hook) {
    std::lock_guard lock(mu_);
    before_list_ = std::move(hook);
  }

  int Calls(const std::string& operation) const {
    std::lock_guard lock(mu_);
    return scripted_.Calls(operation);
  }
  std::vector<VersionRef> Stops() const {
    std::lock_guard lock(mu_);
    return stops_;
  }

  Result<JobListPage> ListJobs(const std::string& project_id, int page, int per_page) override {
    std::function<void(int)> hook;
    {
      std::lock_guard lock(mu_);
      hook = before_list_;
    }
    if (hook) hook(page);
    std::lock_guard lock(mu_);
    if (auto e = scripted_.Call("list")) return *e;
    // Latest version per job in this project.
    std::map<std::int64_t, std::pair<std::int64_t, int>> latest;
    for (const auto& [ref, status] : versions_) {
      if (ref.project_id != project_id) continue;
      auto& row = latest[ref.job_id];
      if (ref.version_id >= row.first) row = {ref.version_id, status};
    }
    JobListPage out;
    out.job_total_count = static_cast<std::int64_t>(latest.size());
    std::size_t index = 0;
    const auto first = static_cast<std::size_t>((page - 1) * per_page);
    for (const auto& [job, row] : latest) {
      if (index >= first && index < first + static_cast<std::size_t>(per_page)) {
        JobSummary s;
        s.job_id = job;
        s.version_id = row.first;
        s.status = row.second;
        s.duration_ms = DurationOf(VersionRef{project_id, job, row.first});
        out.jobs.push_back(s);
      }
      ++index;
    }
    return out;
  }

  Result<VersionDetail> GetVersion(const VersionRef& ref) override {
    std::lock_guard lock(mu_);
    if (auto e = scripted_.Call("get_version")) return *e;
    const auto it = versions_.find(ref);
    if (it == versions_.end()) {
      return MakeError(ErrorClass::kTerminal, "ModelArts.2775", "training job not found", 400);
    }
    VersionDetail d;
    d.job_id = ref.job_id;
    d.version_id = ref.version_id;
    d.status = it->second;
    d.duration_ms = DurationOf(ref);
    return d;
  }

  Result<VersionListPage> ListVersions(const std::string&, std::int64_t, int, int) override {
    std::lock_guard lock(mu_);
    if (auto e = scripted_.Call("list_versions")) return *e;
    return VersionListPage{};
  }

  Status StopVersion(const VersionRef& ref) override {
    std::function<void(const VersionRef&)> hook;
    {
      std::lock_guard lock(mu_);
      hook = before_stop_;
    }
    if (hook) hook(ref);
    std::lock_guard lock(mu_);
    stops_.push_back(ref);
    if (auto e = scripted_.Call("stop")) return *e;
    const auto it = versions_.find(ref);
    if (it == versions_.end()) {
      return MakeError(ErrorClass::kTerminal, "ModelArts.2775", "training job not found", 400);
    }
    if (ClassifyJobStatus(it->second) != StatusClass::kActive) {
      return MakeError(ErrorClass::kNotAllowed, "ModelArts.2796", "job cannot be terminated", 409);
    }
    it->second = static_cast<int>(JobStatus::kKilling);
    return OkStatus();
  }

 private:
  std::int64_t DurationOf(const VersionRef& ref) const {  // mu_ held
    const auto it = durations_.find(ref);
    return it == durations_.end() ? 0 : it->second;
  }

  mutable std::mutex mu_;
  std::map<VersionRef, int> versions_;                  // guarded by mu_
  std::map<VersionRef, std::int64_t> durations_;        // guarded by mu_
  ScriptedOperations scripted_;                         // guarded by mu_
  std::vector<VersionRef> stops_;                       // guarded by mu_
  std::function<void(const VersionRef&)> before_stop_;  // guarded by mu_
  std::function<void(int)> before_list_;                // guarded by mu_
};

// Holds the list of `client` at `page` until Release(), so a test can act while a refresh
// is in flight. on_page, if given, runs first for every page (e.g. to spend fake time).
// Installs the client's BeforeList hook; the destructor releases and removes it, so the
// thread that lists must be joined before the gate goes out of scope.
class ListPageGate {
 public:
  explicit ListPageGate(FakeCloudClient& client, int page = 1,
                        std::function<void(int)> on_page = {})
      : client_(client), page_(page) {
    client_.BeforeList([this, on_page = std::move(on_page)](int p) {
      if (on_page) on_page(p);
      if (p != page_) return;
      std::unique_lock lock(mu_);
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    });
  }
  ~ListPageGate() {
    Release();
    client_.BeforeList({});
  }
  ListPageGate(const ListPageGate&) = delete;
  ListPageGate& operator=(const ListPageGate&) = delete;

  // Returns once a list has reached the page and is held there.
  void WaitUntilHeld() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return held_; });
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    changed_.notify_all();
  }

 private:
  FakeCloudClient& client_;
  const int page_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool held_ = false;      // guarded by mu_
  bool released_ = false;  // guarded by mu_
};

}  // namespace mactl::testing
