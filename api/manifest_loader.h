#pragma once

// Reads every manifest under a directory into valid objects and positioned errors.
// Hidden entries are skipped; non-hidden symlinks are followed at the top level only
// (a Kubernetes ConfigMap volume), so symlink loops cannot happen.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/manifest_decoder.h"
#include "api/shared_list.h"
#include "api/training_job.h"
#include "api/training_job_policy.h"
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

// The objects are shared with the loader's per-file cache, not copied (api/shared_list.h).
struct ManifestSet {
  SharedList<TrainingJobVersion> objects;  // valid, unique by name, in (path, document) order
  std::vector<ManifestError> errors;       // every invalid document
  std::size_t files = 0;                   // manifest files read
  // Kind TrainingJob, like objects (names are unique across every kind); last, so that
  // brace-initialised sets of versions keep their meaning.
  SharedList<TrainingJob> jobs = {};
  // Kind TrainingJobPolicy, like objects (names are unique across all three kinds); last too.
  std::vector<TrainingJobPolicy> policies = {};
};

// Whether the loader skips an entry of this name (hidden, editor backups and swap files).
bool IsSkippedManifestEntry(const std::string& name);
// Whether a file of this name is a manifest (`.yaml`, `.yml`).
bool IsManifestFileName(const std::string& name);

// Caches per-file results keyed by (path, size, mtime, inode), so a rescan re-parses only
// what changed. Not thread-safe: call from one thread.
class ManifestLoader {
 public:
  ManifestLoader(std::filesystem::path root, LoadOptions options);
  // Walks the whole tree.
  ManifestSet Load();
  // Walks the whole tree like Load, but returns nothing when Load would return what the
  // previous Load or LoadChanged returned: the same files with the same stamps and the same
  // walk errors. The periodic rescan of a large unchanged tree then costs a walk and a stat
  // per file instead of a copy of every object (docs/benchmarks.md, "Where the memory goes").
  std::optional<ManifestSet> LoadIfChanged();
  // Re-reads only the named files (paths relative to the root, as inotify named them) and
  // returns what Load would return now, without walking the tree. Falls back to Load when
  // it cannot tell cheaply: before the first Load, after a Load that met a directory it could
  // not read or a limit, for a name reached through a symlink or naming a directory.
  ManifestSet LoadChanged(const std::vector<std::string>& files);

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
    // Shared with the sets returned, so that each decoded object is held once; never
    // changed, only replaced when the file is read again.
    std::shared_ptr<const DecodeResult> decoded;
  };

  enum class Refreshed { kDone, kNeedsFullLoad };
  enum class Walked { kChanged, kUnchanged };
  // Brings cache_ up to date with the whole tree; whether anything Merge reads changed.
  Walked WalkTree(std::vector<ManifestError>& walk_errors);
  // Brings cache_ up to date for one file named by LoadChanged.
  Refreshed Refresh(const std::string& relative);
  // The set of everything in cache_, after `walk_errors`: first definition of a name wins.
  ManifestSet Merge(std::vector<ManifestError> walk_errors) const;

  const std::filesystem::path root_;
  const LoadOptions options_;
  std::map<std::string, CachedFile> cache_;  // by path relative to root
  std::uintmax_t total_bytes_ = 0;           // of the files in cache_
  bool incremental_ok_ = false;              // the last Load met no error of the walk
  // The walk errors of the set returned last; unset before a set was returned or after the
  // directory was missing, so that the next walk counts as a change.
  std::optional<std::vector<ManifestError>> last_walk_errors_;
};

}  // namespace mactl
