#include "api/manifest_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <system_error>
#include <tuple>
#include <vector>

namespace mactl {
namespace {

namespace fs = std::filesystem;

}  // namespace

bool IsManifestFileName(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".yaml") || ends(".yml");
}

// Hidden entries, editor backups and swap files are never manifests.
bool IsSkippedManifestEntry(const std::string& name) {
  if (name.empty() || name.front() == '.') return true;
  if (name.back() == '~') return true;
  if (name.size() > 4 && (name.compare(name.size() - 4, 4, ".swp") == 0 ||
                          name.compare(name.size() - 4, 4, ".tmp") == 0)) {
    return true;
  }
  return false;
}

namespace {

bool IsManifestName(const std::string& name) { return IsManifestFileName(name); }
bool Skipped(const std::string& name) { return IsSkippedManifestEntry(name); }

struct Candidate {
  std::string relative;  // label in positions
  fs::path path;
};

ManifestError FileError(const std::string& relative, std::string reason) {
  return ManifestError{SourcePosition{relative, 1, 1}, std::move(reason)};
}

// Collects manifest files below dir without following symlinks.
void Walk(const fs::path& dir, const std::string& prefix, std::vector<Candidate>& out,
          std::vector<ManifestError>& errors, std::size_t max_files) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) {
    errors.push_back(
        FileError(prefix.empty() ? "." : prefix, "cannot read directory: " + ec.message()));
    return;
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const fs::directory_entry& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (Skipped(name)) continue;
    const std::string relative = prefix.empty() ? name : prefix + "/" + name;
    std::error_code type_ec;
    const fs::file_status status = entry.symlink_status(type_ec);
    if (fs::is_symlink(status)) continue;  // only top-level links are followed
    if (fs::is_directory(status)) {
      Walk(entry.path(), relative, out, errors, max_files);
    } else if (IsManifestName(name) && fs::is_regular_file(status)) {
      if (out.size() >= max_files) {
        errors.push_back(FileError(relative, "more than " + std::to_string(max_files) +
                                                 " manifest files; the rest are ignored"));
        return;
      }
      out.push_back(Candidate{relative, entry.path()});
    }
  }
}

// Every manifest file under root, in path order, at most max_files of them. The top level is
// listed like Walk, except that non-hidden symlinks are followed (ConfigMap volumes).
std::vector<Candidate> FindCandidates(const fs::path& root, std::size_t max_files,
                                      std::vector<ManifestError>& walk_errors) {
  std::vector<Candidate> candidates;
  std::error_code ec;
  std::vector<fs::directory_entry> top;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    top.push_back(*it);
  }
  std::sort(top.begin(), top.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const fs::directory_entry& entry : top) {
    const std::string name = entry.path().filename().string();
    if (Skipped(name)) continue;
    std::error_code status_ec;
    const fs::file_status target = fs::status(entry.path(), status_ec);  // follows links
    if (status_ec || !fs::exists(target)) {
      if (IsManifestName(name)) {
        walk_errors.push_back(FileError(name, "cannot read: dangling symlink or missing file"));
      }
      continue;
    }
    if (fs::is_directory(target)) {
      Walk(entry.path(), name, candidates, walk_errors, max_files);
    } else if (IsManifestName(name) && fs::is_regular_file(target)) {
      candidates.push_back(Candidate{name, entry.path()});
    }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.relative < b.relative; });
  if (candidates.size() > max_files) {
    walk_errors.push_back(FileError(candidates[max_files].relative,
                                    "more than " + std::to_string(max_files) +
                                        " manifest files; this and later files are ignored"));
    candidates.resize(max_files);
  }
  return candidates;
}

// What lstat (or stat, following a link) says of a path the incremental load looks at.
enum class Entry { kMissing, kFile, kDirectory, kSymlink, kOther, kUnreadable };

Entry Inspect(const fs::path& path, bool follow) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) {
    return errno == ENOENT || errno == ENOTDIR ? Entry::kMissing : Entry::kUnreadable;
  }
  if (S_ISLNK(st.st_mode)) return Entry::kSymlink;
  if (S_ISDIR(st.st_mode)) return Entry::kDirectory;
  if (S_ISREG(st.st_mode)) return Entry::kFile;
  return Entry::kOther;
}

// Reads one manifest file (`size` as stat reported it) and decodes it.
DecodeResult ReadAndDecode(const Candidate& candidate, std::uintmax_t size,
                           const DecodeLimits& limits) {
  DecodeResult result;
  if (size > limits.max_file_bytes) {
    result.errors.push_back(
        FileError(candidate.relative,
                  "file is larger than " + std::to_string(limits.max_file_bytes) + " bytes"));
  } else {
    // Read at most one byte past the cap: the file may have grown since it was stat'ed.
    std::ifstream in(candidate.path, std::ios::binary);
    std::string content;
    std::array<char, 64 * 1024> chunk;
    while (in && content.size() <= limits.max_file_bytes) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      content.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad() || !in.is_open()) {
      result.errors.push_back(FileError(candidate.relative, "cannot read file"));
    } else if (content.size() > limits.max_file_bytes) {
      result.errors.push_back(
          FileError(candidate.relative,
                    "file is larger than " + std::to_string(limits.max_file_bytes) + " bytes"));
    } else {
      result = DecodeManifests(content, candidate.relative, limits);
    }
  }
  return result;
}

bool DocumentOrder(const SourcePosition& a, const SourcePosition& b) {
  return std::tie(a.line, a.column) < std::tie(b.line, b.column);
}

// Adds one file's valid documents to `out` (a FileMerge) through `admit` (name uniqueness,
// project id), and the errors of those it does not admit to out.errors. The file's lists of
// each kind are in document order: they are walked together, so that of two documents of
// different kinds with one name the earlier one is the first definition.
template <typename Admit, typename Out>
void MergeFile(const DecodeResult& decoded, const Admit& admit, bool accept_training_jobs,
               Out& out) {
  const std::vector<TrainingJobVersion>& versions = decoded.objects;
  const std::vector<TrainingJob>& jobs = decoded.jobs;
  const std::vector<TrainingJobPolicy>& policies = decoded.policies;
  std::size_t v = 0, j = 0, p = 0;
  // Whether the head of a list comes before the heads of the other two.
  const auto first = [](const SourcePosition* a, const SourcePosition* b, const SourcePosition* c) {
    return a != nullptr && (b == nullptr || DocumentOrder(*a, *b)) &&
           (c == nullptr || DocumentOrder(*a, *c));
  };
  while (v < versions.size() || j < jobs.size() || p < policies.size()) {
    const SourcePosition* vs = v < versions.size() ? &versions[v].source : nullptr;
    const SourcePosition* js = j < jobs.size() ? &jobs[j].source : nullptr;
    const SourcePosition* ps = p < policies.size() ? &policies[p].source : nullptr;
    if (first(vs, js, ps)) {
      const TrainingJobVersion& object = versions[v++];
      if (admit(object.name, object.source, object.project_id, out.errors)) {
        out.versions.push_back(&object);
      }
    } else if (first(ps, vs, js)) {
      const TrainingJobPolicy& policy = policies[p++];
      if (admit(policy.name, policy.source, policy.project_id, out.errors)) {
        out.policies.push_back(&policy);
      }
    } else {
      const TrainingJob& job = jobs[j++];
      if (!accept_training_jobs) {
        out.errors.push_back(
            ManifestError{job.source, "kind TrainingJob is not handled by this command yet"});
      } else if (admit(job.name, job.source, job.project_id, out.errors)) {
        out.jobs.push_back(&job);
      }
    }
  }
}

// The first-definition-wins rule over files merged in path order: admits a name seen for the
// first time whose project is known, and reports why otherwise.
class Admitter {
 public:
  explicit Admitter(const std::string& default_project_id)
      : default_project_id_(default_project_id) {}
  bool operator()(const std::string& name, const SourcePosition& source,
                  const std::string& project_id, std::vector<ManifestError>& errors) const {
    const auto [it, inserted] = first_seen_.emplace(name, source);
    if (!inserted) {
      errors.push_back(ManifestError{source, "duplicate metadata.name \"" + name +
                                                 "\" (first defined at " + it->second.ToString() +
                                                 ")"});
      return false;
    }
    if (project_id.empty() && default_project_id_.empty()) {
      errors.push_back(
          ManifestError{source, "spec.projectId is not set and no --project-id default was given",
                        ManifestErrorCode::kMissingProjectId});
      first_seen_.erase(it);
      return false;
    }
    return true;
  }

 private:
  const std::string& default_project_id_;
  mutable std::map<std::string, SourcePosition> first_seen_;
};

// Calls `fn` with each name of `decoded` the merge checks for uniqueness; stops at the first
// call that returns true and says whether one did.
template <typename Fn>
bool AnyName(const DecodeResult& decoded, bool accept_training_jobs, const Fn& fn) {
  for (const TrainingJobVersion& object : decoded.objects) {
    if (fn(object.name)) return true;
  }
  for (const TrainingJobPolicy& policy : decoded.policies) {
    if (fn(policy.name)) return true;
  }
  if (accept_training_jobs) {
    for (const TrainingJob& job : decoded.jobs) {
      if (fn(job.name)) return true;
    }
  }
  return false;
}

std::size_t NameHash(const std::string& name) { return std::hash<std::string>{}(name); }

}  // namespace

ManifestLoader::ManifestLoader(std::filesystem::path root, LoadOptions options)
    : root_(std::move(root)), options_(std::move(options)) {}

ManifestSet ManifestLoader::Load() {
  std::vector<ManifestError> walk_errors;
  WalkTree(walk_errors);
  return Merge(std::move(walk_errors));
}

std::optional<ManifestSet> ManifestLoader::LoadIfChanged() {
  std::vector<ManifestError> walk_errors;
  if (WalkTree(walk_errors) == Walked::kUnchanged) return std::nullopt;
  return Merge(std::move(walk_errors));
}

ManifestLoader::Walked ManifestLoader::WalkTree(std::vector<ManifestError>& walk_errors) {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) {
    walk_errors.push_back(FileError(root_.string(),
                                    "manifest directory does not exist or is "
                                    "not a directory"));
    cache_.clear();
    total_bytes_ = 0;
    incremental_ok_ = false;
    last_walk_errors_.reset();
    return Walked::kChanged;
  }

  std::vector<Candidate> candidates = FindCandidates(root_, options_.max_files, walk_errors);

  std::map<std::string, CachedFile> next_cache;
  std::size_t total_bytes = 0;
  bool decoded_any = false;
  for (const Candidate& candidate : candidates) {
    struct stat st {};
    if (::stat(candidate.path.c_str(), &st) != 0) {
      walk_errors.push_back(FileError(candidate.relative, "cannot read: file vanished"));
      continue;
    }
    const FileStamp stamp{
        static_cast<std::uintmax_t>(st.st_size),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
        static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)};
    total_bytes += stamp.size;
    if (total_bytes > options_.max_total_bytes) {
      walk_errors.push_back(FileError(
          candidate.relative, "manifests exceed " + std::to_string(options_.max_total_bytes) +
                                  " bytes in total; this and later files are ignored"));
      break;
    }
    const auto cached = cache_.find(candidate.relative);
    if (cached != cache_.end() && cached->second.stamp == stamp) {
      next_cache.insert(cache_.extract(cached));  // moved: a file's objects are never copied
    } else {
      next_cache.emplace(candidate.relative,
                         CachedFile{stamp, std::make_shared<const DecodeResult>(ReadAndDecode(
                                               candidate, stamp.size, options_.limits))});
      decoded_any = true;
    }
  }
  // What is left in cache_ was not found again.
  const bool changed = decoded_any || !cache_.empty() || last_walk_errors_ != walk_errors;
  cache_ = std::move(next_cache);
  total_bytes_ = 0;
  for (const auto& [relative, file] : cache_) total_bytes_ += file.stamp.size;
  incremental_ok_ = walk_errors.empty();
  last_walk_errors_ = walk_errors;
  return changed ? Walked::kChanged : Walked::kUnchanged;
}

ManifestSet ManifestLoader::LoadChanged(const std::vector<std::string>& files) {
  std::error_code ec;
  if (!incremental_ok_ || !fs::is_directory(root_, ec)) return Load();
  std::map<std::string, Replaced> replaced;  // as the last set returned had them
  for (const std::string& relative : files) {
    const auto cached = cache_.find(relative);
    if (cached == cache_.end()) {
      replaced.try_emplace(relative);
    } else {
      replaced.try_emplace(relative, Replaced{cached->second.decoded, cached->second.merged});
    }
    if (Refresh(relative) == Refreshed::kNeedsFullLoad) return Load();
  }
  // A limit reached is reported by the walk, in path order.
  if (cache_.size() >= options_.max_files || total_bytes_ > options_.max_total_bytes) {
    return Load();
  }
  last_walk_errors_.emplace();  // the set returned holds no walk error
  if (std::optional<ManifestSet> set = MergeReplaced(replaced)) return std::move(*set);
  return Merge({});
}

// Whether `relative` is a manifest file Load would read, judged as Walk and FindCandidates
// judge it: skipped names anywhere on the way, symlinks followed at the top level only.
ManifestLoader::Refreshed ManifestLoader::Refresh(const std::string& relative) {
  const fs::path path(relative);
  std::vector<std::string> parts;
  for (const fs::path& part : path) parts.push_back(part.string());
  if (parts.empty() || path.is_absolute()) return Refreshed::kNeedsFullLoad;
  bool candidate = IsManifestName(parts.back());
  for (const std::string& part : parts) {
    if (part == "." || part == "..") return Refreshed::kNeedsFullLoad;
    candidate = candidate && !Skipped(part);
  }
  fs::path at = root_;
  for (std::size_t i = 0; candidate && i < parts.size(); ++i) {
    at /= parts[i];
    const bool last = i + 1 == parts.size();
    const Entry entry = Inspect(at, false);
    // A top-level symlink (a ConfigMap's files, a linked directory) is left to the walk,
    // which also reports a dangling one; anything unexpected too.
    if (entry == Entry::kUnreadable || (i == 0 && entry == Entry::kSymlink) ||
        (last && entry == Entry::kDirectory)) {
      return Refreshed::kNeedsFullLoad;
    }
    candidate = entry == (last ? Entry::kFile : Entry::kDirectory);
  }
  const auto cached = cache_.find(relative);
  struct stat st {};
  if (!candidate || ::stat((root_ / path).c_str(), &st) != 0) {
    if (cached != cache_.end()) {
      total_bytes_ -= cached->second.stamp.size;
      cache_.erase(cached);
    }
    return Refreshed::kDone;
  }
  const FileStamp stamp{
      static_cast<std::uintmax_t>(st.st_size),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)};
  // Read again even when the stamp is unchanged: the event says the file was written, and a
  // rewrite of the same size within one mtime tick keeps its stamp.
  if (cached != cache_.end()) total_bytes_ -= cached->second.stamp.size;
  total_bytes_ += stamp.size;
  cache_[relative] =
      CachedFile{stamp, std::make_shared<const DecodeResult>(ReadAndDecode(
                            Candidate{relative, root_ / path}, stamp.size, options_.limits))};
  return Refreshed::kDone;
}

ManifestSet ManifestLoader::Merge(std::vector<ManifestError> walk_errors) {
  names_.clear();
  const Admitter admit(options_.default_project_id);
  for (auto& [relative, file] : cache_) {
    file.merged = FileMerge{};
    MergeFile(*file.decoded, admit, options_.accept_training_jobs, file.merged);
    IndexNames(*file.decoded, +1);
  }
  return Assemble(std::move(walk_errors));
}

void ManifestLoader::IndexNames(const DecodeResult& decoded, int sign) {
  AnyName(decoded, options_.accept_training_jobs, [&](const std::string& name) {
    if (sign > 0) {
      ++names_[NameHash(name)];
    } else if (const auto it = names_.find(NameHash(name));
               it != names_.end() && --it->second == 0) {
      names_.erase(it);
    }
    return false;
  });
}

std::optional<ManifestSet> ManifestLoader::MergeReplaced(
    const std::map<std::string, Replaced>& replaced) {
  for (const auto& [relative, old] : replaced) {
    if (old.decoded != nullptr) IndexNames(*old.decoded, -1);
  }
  // names_ now counts only the other files' definitions.
  const auto elsewhere = [&](const std::string& name) { return names_.contains(NameHash(name)); };
  const bool accept_jobs = options_.accept_training_jobs;
  bool alone = true;
  for (const auto& [relative, old] : replaced) {
    const auto now = cache_.find(relative);
    alone = alone && !(old.decoded != nullptr && AnyName(*old.decoded, accept_jobs, elsewhere)) &&
            !(now != cache_.end() && AnyName(*now->second.decoded, accept_jobs, elsewhere));
  }
  for (const auto& [relative, old] : replaced) {
    if (const auto now = cache_.find(relative); now != cache_.end()) {
      IndexNames(*now->second.decoded, +1);
    }
  }
  if (!alone) return std::nullopt;
  // No other file defines their names: merging them among themselves, in path order, is what
  // Merge would do, and every other file's share stays what it was.
  const Admitter admit(options_.default_project_id);
  ManifestDelta delta;
  delta.since = generation_;
  for (const auto& [relative, old] : replaced) {
    const FileMerge& before = old.merged;
    delta.versions_before.insert(delta.versions_before.end(), before.versions.begin(),
                                 before.versions.end());
    delta.jobs_before.insert(delta.jobs_before.end(), before.jobs.begin(), before.jobs.end());
    if (old.decoded != nullptr) delta.before_files.push_back(old.decoded);
    const auto now = cache_.find(relative);
    if (now == cache_.end()) continue;
    FileMerge& after = now->second.merged;
    after = FileMerge{};
    MergeFile(*now->second.decoded, admit, accept_jobs, after);
    delta.versions_after.insert(delta.versions_after.end(), after.versions.begin(),
                                after.versions.end());
    delta.jobs_after.insert(delta.jobs_after.end(), after.jobs.begin(), after.jobs.end());
  }
  ManifestSet set = Assemble({});
  set.delta = std::move(delta);
  return set;
}

ManifestSet ManifestLoader::Assemble(std::vector<ManifestError> errors) {
  ManifestSet set;
  set.files = cache_.size();
  set.errors = std::move(errors);
  // Sized once: growing a vector of 100k objects by doubling held up to three times their
  // bytes at its last reallocation (docs/benchmarks.md, "Where the memory goes").
  std::size_t versions_total = 0;
  std::size_t jobs_total = 0;
  std::size_t policies_total = 0;
  for (const auto& [relative, file] : cache_) {
    versions_total += file.merged.versions.size();
    jobs_total += file.merged.jobs.size();
    policies_total += file.merged.policies.size();
  }
  set.objects.reserve(versions_total);
  set.jobs.reserve(jobs_total);
  set.policies.reserve(policies_total);
  for (const auto& [relative, file] : cache_) {
    const std::shared_ptr<const void> owner = file.decoded;
    set.errors.insert(set.errors.end(), file.decoded->errors.begin(), file.decoded->errors.end());
    set.errors.insert(set.errors.end(), file.merged.errors.begin(), file.merged.errors.end());
    for (const TrainingJobVersion* object : file.merged.versions)
      set.objects.Append(owner, *object);
    for (const TrainingJob* job : file.merged.jobs) set.jobs.Append(owner, *job);
    for (const TrainingJobPolicy* policy : file.merged.policies) set.policies.push_back(*policy);
  }
  std::stable_sort(set.errors.begin(), set.errors.end(),
                   [](const ManifestError& a, const ManifestError& b) {
                     return std::tie(a.position.file, a.position.line, a.position.column) <
                            std::tie(b.position.file, b.position.line, b.position.column);
                   });
  set.generation = ++generation_;
  return set;
}

}  // namespace mactl
