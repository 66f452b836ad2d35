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
#include <unordered_map>
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

// What an incremental load (ManifestLoader::LoadChanged) changed since the set it follows:
// the valid objects its re-read files defined before and define now, in manifest order. Every
// other object of the new set is the one the set before held, at the same address, and no
// object outside these lists shares a name with one in them, so a consumer can update what it
// built from the set before instead of rebuilding from every object
// (docs/benchmarks.md, "Edits that touch only their objects").
struct ManifestDelta {
  std::uint64_t since = 0;  // ManifestSet::generation of the set this one follows
  std::vector<const TrainingJobVersion*> versions_before;
  std::vector<const TrainingJobVersion*> versions_after;
  std::vector<const TrainingJob*> jobs_before;
  std::vector<const TrainingJob*> jobs_after;
  // Keeps the objects *_before point to alive (*_after live in the set's lists).
  std::vector<std::shared_ptr<const DecodeResult>> before_files;
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
  // Which set of its loader this is (1, 2, ...; 0 for a set no loader made), and, from
  // LoadChanged when it could tell, what changed since the set before.
  std::uint64_t generation = 0;
  std::optional<ManifestDelta> delta = {};
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
  // What the last set returned took of one file, given the files before it: the objects it
  // admitted (first definition of a name) and the errors the merge added.
  struct FileMerge {
    std::vector<const TrainingJobVersion*> versions;
    std::vector<const TrainingJob*> jobs;
    std::vector<const TrainingJobPolicy*> policies;
    std::vector<ManifestError> errors;
  };
  struct CachedFile {
    FileStamp stamp;
    // Shared with the sets returned, so that each decoded object is held once; never
    // changed, only replaced when the file is read again.
    std::shared_ptr<const DecodeResult> decoded;
    FileMerge merged = {};
  };
  // A file LoadChanged re-reads, as the last set returned had it (null when it was not cached).
  struct Replaced {
    std::shared_ptr<const DecodeResult> decoded;
    FileMerge merged;
  };

  enum class Refreshed { kDone, kNeedsFullLoad };
  enum class Walked { kChanged, kUnchanged };
  // Brings cache_ up to date with the whole tree; whether anything Merge reads changed.
  Walked WalkTree(std::vector<ManifestError>& walk_errors);
  // Brings cache_ up to date for one file named by LoadChanged.
  Refreshed Refresh(const std::string& relative);
  // The set of everything in cache_, after `walk_errors`: first definition of a name wins.
  // Records each file's share in cache_ and indexes every name again.
  ManifestSet Merge(std::vector<ManifestError> walk_errors);
  // Like Merge({}) after LoadChanged re-read the files of `replaced`, merging only those;
  // nothing when a name they define or defined is also defined by another file.
  std::optional<ManifestSet> MergeReplaced(const std::map<std::string, Replaced>& replaced);
  // The set of the files' shares recorded in cache_, after `errors`.
  ManifestSet Assemble(std::vector<ManifestError> errors);
  // Adds (+1) or removes (-1) the names one file defines to or from names_.
  void IndexNames(const DecodeResult& decoded, int sign);

  // How many definitions of each name (by hash) the files of cache_ hold, of every kind Merge
  // admits: a name of a re-read file that no other file defines cannot change what another
  // file contributes. A hash collision only costs a full merge.
  std::unordered_map<std::size_t, std::uint32_t> names_;
  std::uint64_t generation_ = 0;  // of the set returned last

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
