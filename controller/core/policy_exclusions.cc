#include "controller/core/policy_exclusions.h"

#include <string>

namespace mactl {

PolicyExclusions ExclusionsOf(const DesiredSnapshot& snapshot) {
  PolicyExclusions exclusions;
  // The managed units carry each manifest's reference with the default project filled in;
  // every valid object belongs to exactly one of them.
  for (const auto& [key, managed] : snapshot.versions) {
    exclusions.v1_jobs.insert(managed.ref.project_id + "/" + std::to_string(managed.ref.job_id));
  }
  for (const auto& [key, managed] : snapshot.training_jobs) {
    const TrainingJobRef& ref = managed.ref;
    if (!ref.training_job_id.empty()) {
      exclusions.v2_ids.insert(ref.project_id + "/" + ref.training_job_id);
    } else {
      exclusions.v2_names.insert(ref.project_id + "/" + ref.training_job_name);
    }
  }
  return exclusions;
}

}  // namespace mactl
