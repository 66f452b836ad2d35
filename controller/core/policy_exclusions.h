#pragma once
// The jobs TrainingJob/TrainingJobVersion manifests name, which no TrainingJobPolicy may touch
// (README, "Runtime limits": a manifest wins over every policy, so a manifest with
// desiredState Running and no maxRuntime is an exception to a project-wide limit).

#include "controller/core/desired_snapshot.h"
#include "controller/core/policy_rule.h"

namespace mactl {

// Every job a valid manifest of the snapshot names, with --project-id filled in: a version's
// whole v1 job (any version of it), a v2 job by id and a v2 job by name. Manifests that are
// paused or conflict still name their job: a policy never acts on it either.
PolicyExclusions ExclusionsOf(const DesiredSnapshot& snapshot);

}  // namespace mactl
