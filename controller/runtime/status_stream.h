#pragma once

// /status written piece by piece (README, "/status query parameters"): the document is never
// held whole, so 100,000 objects cost a bounded buffer, and the first bytes leave at once.
// Without a query it is byte for byte StatusBody(StatusJson(...)).

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/base/clock.h"
#include "controller/core/desired_snapshot.h"
#include "controller/core/training_job_reconciler.h"
#include "controller/core/version_state.h"
#include "controller/runtime/policy_status.h"
#include "controller/runtime/status_query.h"

namespace mactl {

// One object's state by key, copied under the reconciler's lock for that lookup only (as
// Reconciler::State does), so no lock is held while the socket is written.
struct StatusStateLookup {
  std::function<std::optional<VersionState>(const std::string& key)> version;
  std::function<std::optional<TrainingJobState>(const std::string& key)> job;
  // The policy enforcer's statuses (PolicyEnforcer::Statuses); none when empty.
  std::function<std::vector<PolicyStatus>()> policies;
};

struct StatusHead {
  bool ready = false;
  WallTime generated_at;
  std::optional<nlohmann::json> leader_election;  // with --leader-elect
};

class StatusStream {
 public:
  // Objects (and manifest errors) handled per Next(): bounds the time and memory of one chunk.
  static constexpr std::size_t kBatch = 256;

  // `desired` is kept for the stream's life: every page is read from one stable snapshot.
  StatusStream(std::shared_ptr<const DesiredSnapshot> desired, StatusStateLookup lookup,
               StatusQuery query, StatusHead head);

  // Appends the next part of the document to `out`; false once the document is complete.
  bool Next(std::string& out);

 private:
  enum class Stage { kHead, kErrors, kObjects, kPolicies, kTail, kDone };
  struct Entry {
    bool job;
    std::size_t index;
  };

  std::size_t ObjectCount() const;
  Entry At(std::size_t position) const;
  const std::string& NameOf(Entry e) const;
  void Order();
  void WriteHead(std::string& out);
  void WriteErrors(std::string& out);
  void WriteObjects(std::string& out);
  void StartPolicies(std::string& out);
  void WritePolicies(std::string& out);
  void WriteTail(std::string& out) const;
  // The rendered object when it passes the filters, else null.
  std::optional<nlohmann::json> Render(Entry e, bool render) const;

  const std::shared_ptr<const DesiredSnapshot> desired_;
  const StatusStateLookup lookup_;
  const StatusQuery query_;
  const StatusHead head_;
  Stage stage_ = Stage::kHead;
  std::vector<Entry> by_name_;          // paged only: every object, by name
  std::size_t position_ = 0;            // next error, then next object (in by_name_ when paged)
  std::size_t written_ = 0;             // in the current array
  std::string last_name_;               // of the last object written
  bool more_ = false;                   // paged: an object past the page matches too
  std::vector<PolicyStatus> policies_;  // the policies that pass the filters
};

}  // namespace mactl
