#pragma once

// Reads every manifest under a directory into valid objects and positioned errors.
// Hidden entries are skipped; non-hidden symlinks are followed at the top level only
// (a Kubernetes ConfigMap volume), so symlink loops cannot happen.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "api/manifest_decoder.h"
#include "api/training_job.h"
#include "api/training_job_version.h"

namespace mactl {

struct LoadOptions {
  std::string default_project_id;  // --project-id; empty means none
  DecodeLimits limits;
  std::size_t max_files = 100000;
  std::size_t max_total_bytes = 256u << 20;
  // Whether kind TrainingJob objects are wanted. A caller that cannot handle them (plan, for
  // now) leaves this off, and each such document is reported as an error instead of being
  // dropped silently.
  bool accept_training_jobs = false;
};

struct ManifestSet {
  std::vector<TrainingJobVersion> objects;  // valid, unique by name, in (path, document) order
  std::vector<ManifestError> errors;        // every invalid document
  std::size_t files = 0;                    // manifest files read
  // Kind TrainingJob, like objects (names are unique across both kinds); last, so that
  // brace-initialised sets of versions keep their meaning.
  std::vector<TrainingJob> jobs = {};
};

// Caches per-file results keyed by (path, size, mtime, inode), so a rescan re-parses only
// what changed. Not thread-safe: call from one thread.
class ManifestLoader {
 public:
  ManifestLoader(std::filesystem::path root, LoadOptions options);
  ManifestSet Load();

 private:
  struct FileStamp {
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct CachedFile {
    FileStamp stamp;
    DecodeResult decoded;
  };

  const std::filesystem::path root_;
  const LoadOptions options_;
  std::map<std::string, CachedFile> cache_;  // by path relative to root
};

}  // namespace mactl
