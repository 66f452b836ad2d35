#pragma once

// Decodes the manifests of every kind (README, "Manifests": TrainingJobVersion, TrainingJob,
// TrainingJobPolicy) from multi-document YAML, with strict validation. Every error carries
// file:line:column and a reason naming the field.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/training_job.h"
#include "api/training_job_policy.h"
#include "api/training_job_version.h"

namespace mactl {

struct DecodeLimits {
  std::size_t max_file_bytes = 4u << 20;
  std::size_t max_documents = 10000;  // per file
  std::size_t max_nodes_per_document = 10000;
  std::size_t max_depth = 64;
  std::size_t max_scalar_bytes = 64u << 10;
  std::size_t max_map_entries = 256;  // labels, annotations
};

struct DecodeResult {
  std::vector<TrainingJobVersion> objects;
  std::vector<ManifestError> errors;
  std::vector<TrainingJob> jobs = {};  // kind TrainingJob; last, so brace-initialised results hold
  std::vector<TrainingJobPolicy> policies = {};  // kind TrainingJobPolicy; last, likewise
};

// `file` labels positions (the path relative to the manifest directory). A document with
// any error yields no object; all of its errors are reported.
DecodeResult DecodeManifests(std::string_view content, const std::string& file,
                             const DecodeLimits& limits = {});

}  // namespace mactl
