// Hostile manifests: inputs an attacker or a broken tool could put in the manifest tree,
// beyond what manifest_decoder_test.cc and manifest_loader_test.cc already cover. Each must
// end as a positioned error (or a skipped entry) in bounded time and memory, never a crash,
// a hang or an object the user did not write. docs/bad-inputs.md lists every row.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>

#include "api/manifest_decoder.h"
#include "api/manifest_loader.h"

namespace mactl {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string Doc(const std::string& spec, const std::string& name = "a",
                const std::string& metadata_extra = "") {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: " +
         name + "\n" + metadata_extra + "spec:\n" + spec;
}

const std::string kSpec = "  jobId: 1\n  versionId: 1\n  desiredState: Stopped\n";

// Decodes with a wall-clock bound: hostile input must never be slow.
DecodeResult TimedDecode(const std::string& yaml, const DecodeLimits& limits = {}) {
  const auto start = std::chrono::steady_clock::now();
  DecodeResult r = DecodeManifests(yaml, "hostile.yaml", limits);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << yaml.substr(0, 80);
  return r;
}

// Every error names the file, has a position and a bounded reason (logs and /status must
// not be flooded by an echo of the input).
void ExpectRejected(const DecodeResult& r, const std::string& reason_part = "") {
  EXPECT_TRUE(r.objects.empty());
  ASSERT_FALSE(r.errors.empty());
  for (const ManifestError& e : r.errors) {
    EXPECT_EQ(e.position.file, "hostile.yaml");
    EXPECT_GE(e.position.line, 1);
    EXPECT_LT(e.reason.size(), 1024u) << e.reason.substr(0, 200);
  }
  if (!reason_part.empty()) {
    bool found = false;
    for (const ManifestError& e : r.errors)
      found = found || e.reason.find(reason_part) != std::string::npos;
    EXPECT_TRUE(found) << r.errors[0].ToString();
  }
}

TEST(HostileManifest, DeepNestingOfEveryShapeIsCutOffAtTheDepthLimit) {
  ExpectRejected(TimedDecode(std::string(100000, '[')));
  ExpectRejected(TimedDecode(std::string(100000, '{')));
  // Deeper than yaml-cpp's own guard: rejected while parsing, naming the depth.
  std::string flow_in_label = "    deep: ";
  for (int i = 0; i < 5000; ++i) flow_in_label += "{a: ";
  flow_in_label += "1";
  for (int i = 0; i < 5000; ++i) flow_in_label += "}";
  ExpectRejected(TimedDecode(Doc(kSpec, "a", "  labels:\n" + flow_in_label + "\n")),
                 "nesting is deeper than 64 levels");
  // Over our limit (64) but under yaml-cpp's: our error, naming the depth.
  std::string nested = "    deep: ";
  for (int i = 0; i < 100; ++i) nested += "{a: ";
  nested += "1";
  for (int i = 0; i < 100; ++i) nested += "}";
  ExpectRejected(TimedDecode(Doc(kSpec, "a", "  labels:\n" + nested + "\n")), "deeper");
  std::string block;
  for (int i = 0; i < 300; ++i) block += std::string(static_cast<std::size_t>(i) * 2, ' ') + "a:\n";
  ExpectRejected(TimedDecode(block), "deeper");
  // Labels are a flat string map: even one level of nesting there is a typed error.
  ExpectRejected(TimedDecode(Doc(kSpec, "a", "  labels:\n    team: {x: y}\n")), "metadata.labels");
}

TEST(HostileManifest, AnchorsAndAliasesAreRefusedWherever) {
  ExpectRejected(TimedDecode(Doc("  jobId: &n 1\n  versionId: *n\n  desiredState: Stopped\n")),
                 "aliases");
  // A merge key pulling part of the spec from an anchored label map.
  ExpectRejected(TimedDecode(Doc("  <<: *l\n  versionId: 1\n  desiredState: Stopped\n", "a",
                                 "  labels: &l {jobId: \"1\"}\n")),
                 "aliases");
  // A self-referencing alias (undefined when used) is a syntax error, not a loop.
  ExpectRejected(TimedDecode("a: &a [*a]\n"));
}

TEST(HostileManifest, BinaryGarbageNeverCrashesNorYieldsAnObject) {
  std::mt19937_64 rng(20261128);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(1, 2048);
  // Random bytes, and random strings over YAML's own punctuation (closer to the parser's
  // edge cases than uniform bytes).
  const std::string punct = "[]{}:-?&*!|>'\"%@`#,\n \t\\";
  std::uniform_int_distribution<std::size_t> pick(0, punct.size() - 1);
  for (int trial = 0; trial < 400; ++trial) {
    std::string input;
    const int n = length(rng);
    for (int i = 0; i < n; ++i) {
      input += trial % 2 == 0 ? static_cast<char>(byte(rng)) : punct[pick(rng)];
    }
    const DecodeResult r = DecodeManifests(input, "hostile.yaml");
    EXPECT_TRUE(r.objects.empty()) << "trial " << trial;
  }
  // A valid document followed by garbage keeps the valid one and rejects the rest.
  const DecodeResult tail = TimedDecode(Doc(kSpec) + "---\n\x01\x02\xff\xfe: [\x80\n");
  EXPECT_EQ(tail.objects.size(), 1u);
  EXPECT_FALSE(tail.errors.empty());
  // UTF-16 text (what some editors save) is not YAML we accept.
  std::string utf16 = "\xff\xfe";
  for (char c : Doc(kSpec)) {
    utf16 += c;
    utf16 += '\0';
  }
  ExpectRejected(TimedDecode(utf16));
}

TEST(HostileManifest, NonUtf8ValuesAreRejectedOrKeptVerbatimNeverMangled) {
  // A name must be DNS-1123, so any byte outside [a-z0-9-] is an error.
  ExpectRejected(TimedDecode(Doc(kSpec, "caf\xe9")), "DNS-1123");
  ExpectRejected(TimedDecode(Doc("  jobId: 1\n  versionId: 1\n  desiredState: Stop\xffped\n")),
                 "spec.desiredState");
}

TEST(HostileManifest, WrongTypesInEveryFieldAreTypedErrors) {
  const std::vector<std::string> bad_ids = {"{a: 1}", "true", "null",  "~",    "\"\"", "[]",
                                            "1e3",    "+5",   "1_000", ".inf", ".nan", "0o10"};
  for (const std::string& v : bad_ids) {
    SCOPED_TRACE(v);
    ExpectRejected(
        TimedDecode(Doc("  jobId: 1\n  versionId: " + v + "\n  desiredState: Stopped\n")),
        "spec.versionId");
  }
  ExpectRejected(TimedDecode(Doc("  jobId: 1\n  versionId: 1\n  desiredState: [Stopped]\n")),
                 "spec.desiredState");
  ExpectRejected(TimedDecode(Doc("  jobId: 1\n  versionId: 1\n  desiredState: 1\n")),
                 "spec.desiredState");
  ExpectRejected(TimedDecode(Doc(kSpec, "[a]")), "metadata.name");
  ExpectRejected(TimedDecode(Doc(kSpec, "a", "  labels: [team]\n")), "metadata.labels");
  ExpectRejected(TimedDecode(Doc(kSpec, "a", "  annotations: x\n")), "metadata.annotations");
  ExpectRejected(TimedDecode("apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\n"
                             "metadata: {name: a}\nspec: [1, 1, Stopped]\n"),
                 "spec");
  ExpectRejected(TimedDecode("just a string\n"));
  ExpectRejected(TimedDecode("42\n"));
}

TEST(HostileManifest, EnormousAndBoundaryNumbers) {
  // The API's ids are Long: the int64 maximum is valid, one more is not.
  const DecodeResult max =
      TimedDecode(Doc("  jobId: 9223372036854775807\n  versionId: 9223372036854775807\n"
                      "  desiredState: Stopped\n"));
  ASSERT_EQ(max.objects.size(), 1u) << (max.errors.empty() ? "" : max.errors[0].ToString());
  EXPECT_EQ(max.objects[0].job_id, INT64_MAX);
  ExpectRejected(TimedDecode(Doc("  jobId: 9223372036854775808\n  versionId: 1\n"
                                 "  desiredState: Stopped\n")),
                 "out of range");
  ExpectRejected(TimedDecode(Doc("  jobId: -9223372036854775808\n  versionId: 1\n"
                                 "  desiredState: Stopped\n")),
                 "spec.jobId");
  ExpectRejected(TimedDecode(Doc("  jobId: " + std::string(5000, '9') +
                                 "\n  versionId: 1\n  desiredState: Stopped\n")),
                 "spec.jobId");
}

TEST(HostileManifest, VeryLongNamesAndValuesAreBounded) {
  const DecodeResult ok = TimedDecode(Doc(kSpec, std::string(63, 'a')));
  EXPECT_EQ(ok.objects.size(), 1u);
  ExpectRejected(TimedDecode(Doc(kSpec, std::string(1u << 20, 'a'))));
  // A 1 MiB label value is over the scalar limit (64 KiB by default).
  ExpectRejected(
      TimedDecode(Doc(kSpec, "a", "  labels:\n    team: " + std::string(1u << 20, 'x') + "\n")));
  // More labels than max_map_entries.
  std::string labels = "  labels:\n";
  for (int i = 0; i < 1000; ++i) labels += "    k" + std::to_string(i) + ": v\n";
  ExpectRejected(TimedDecode(Doc(kSpec, "a", labels)), "metadata.labels");
  // A very long key is reported without echoing all of it.
  ExpectRejected(TimedDecode(Doc(kSpec + "  " + std::string(60000, 'k') + ": 1\n")));
}

std::string PolicyDoc(const std::string& spec) {
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobPolicy\nmetadata:\n  name: p\n"
         "spec:\n" +
         spec;
}

// kind TrainingJobPolicy: hostile globs, kinds and limits end as one positioned error each
// (or, for a glob that is only slow to match elsewhere, as a valid policy whose matching
// is bounded: api_name_glob_test).
TEST(HostileManifest, HostilePolicyFieldsAreBoundedErrors) {
  const std::string limit = "  maxRuntime: 1h\n";
  // A glob that makes a backtracking matcher take exponential time is valid here.
  DecodeResult r = TimedDecode(PolicyDoc("  nameGlob: \"*a*a*a*a*a*a*a*a*a*a*a*b\"\n" + limit));
  ASSERT_EQ(r.policies.size(), 1u) << (r.errors.empty() ? "" : r.errors[0].ToString());
  // Globs too long, with control bytes (ESC, NUL-free), or over the scalar limit.
  ExpectRejected(TimedDecode(PolicyDoc("  nameGlob: \"" + std::string(300, '*') + "\"\n" + limit)),
                 "longer than 256 bytes");
  r = TimedDecode(PolicyDoc("  nameGlob: \"exp-\\e[31m*\"\n" + limit));
  ExpectRejected(r, "control character");
  EXPECT_TRUE(r.policies.empty());
  EXPECT_EQ(r.errors[0].reason.find('\x1b'), std::string::npos) << r.errors[0].reason;
  ExpectRejected(TimedDecode(PolicyDoc("  nameGlob: " + std::string(1 << 20, 'a') + "\n" + limit)));
  ExpectRejected(TimedDecode(PolicyDoc("  nameGlob: \"[\xff-\x80]\"\n" + limit)));
  // Thousands of jobKinds entries: one error, not one per entry.
  std::string kinds = "  jobKinds: [";
  for (int i = 0; i < 5000; ++i) kinds += i == 0 ? "TrainingJob" : ", TrainingJob";
  r = TimedDecode(PolicyDoc(kinds + "]\n" + limit));
  ExpectRejected(r, "spec.jobKinds[1]: TrainingJob is listed twice");
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(r.policies.empty());
  // Limits that are not durations, out of range, or of the wrong type.
  for (const char* value : {"99999999999999h", "1e9h", "true", "0", "-72h", "{h: 72}", "[72h]"}) {
    SCOPED_TRACE(value);
    r = TimedDecode(PolicyDoc(std::string("  maxRuntime: ") + value + "\n"));
    ExpectRejected(r, "spec.maxRuntime");
    EXPECT_TRUE(r.policies.empty());
  }
  // A policy kind's fields never leak into the other kinds, nor theirs into it.
  ExpectRejected(TimedDecode(PolicyDoc(limit + "  desiredState: Stopped\n")), "unknown field");
  ExpectRejected(TimedDecode(Doc(kSpec + "  nameGlob: \"*\"\n")), "unknown field");
}

TEST(HostileManifest, ManyDocumentsAreCapped) {
  DecodeLimits limits;
  limits.max_documents = 100;
  std::string many;
  for (int i = 0; i < 150; ++i) many += "---\n" + Doc(kSpec, "a" + std::to_string(i));
  const DecodeResult r = TimedDecode(many, limits);
  EXPECT_EQ(r.objects.size(), 100u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].reason.find("more than 100 documents"), std::string::npos);
}

class HostileTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mactl-hostile-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_, fs::perms::all, ec);
    for (auto it = fs::recursive_directory_iterator(root_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_symlink()) fs::permissions(it->path(), fs::perms::owner_all, ec);
    }
    fs::remove_all(root_);
  }
  void Write(const std::string& relative, const std::string& content) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content;
  }
  // Loads on another thread so a hang is a failure, not a stuck test binary.
  ManifestSet LoadWithin(std::chrono::seconds limit) {
    auto future = std::async(std::launch::async, [this] {
      ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20});
      return loader.Load();
    });
    if (future.wait_for(limit) != std::future_status::ready) {
      ADD_FAILURE() << "Load() did not return within " << limit.count() << " s";
      // Unblock a reader stuck on a FIFO so the future can be joined.
      for (const auto& entry : fs::recursive_directory_iterator(root_)) {
        if (entry.is_fifo()) close(open(entry.path().c_str(), O_WRONLY | O_NONBLOCK));
      }
    }
    return future.get();
  }
  static bool HasErrorFor(const ManifestSet& set, const std::string& file) {
    for (const ManifestError& e : set.errors) {
      if (e.position.file == file) return true;
    }
    return false;
  }
  fs::path root_;
};

TEST_F(HostileTreeTest, HugeFileIsRefusedUnreadAndItsNeighboursStillLoad) {
  Write("good.yaml", Doc(kSpec, "good"));
  {
    std::ofstream big(root_ / "big.yaml");
    const std::string line = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 5 * 1024; ++i) big << line;  // 5 MiB, over the 4 MiB default
  }
  const auto start = std::chrono::steady_clock::now();
  const ManifestSet set = LoadWithin(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_EQ(set.objects.size(), 1u);
  EXPECT_EQ(set.objects[0].name, "good");
  ASSERT_TRUE(HasErrorFor(set, "big.yaml"));
  EXPECT_NE(set.errors[0].reason.find("larger than"), std::string::npos);
}

TEST_F(HostileTreeTest, SymlinkLoopsAtTheTopLevelAreErrorsNotHangs) {
  Write("good.yaml", Doc(kSpec, "good"));
  fs::create_symlink("b.yaml", root_ / "a.yaml");
  fs::create_symlink("a.yaml", root_ / "b.yaml");
  fs::create_symlink("self.yaml", root_ / "self.yaml");
  fs::create_directory_symlink("loop2", root_ / "loop1");
  fs::create_directory_symlink("loop1", root_ / "loop2");
  Write("sub/x.yaml", Doc(kSpec, "x"));
  fs::create_directory_symlink("..", root_ / "sub" / "up");  // below the top: not followed
  const ManifestSet set = LoadWithin(10s);
  EXPECT_TRUE(HasErrorFor(set, "a.yaml"));
  EXPECT_TRUE(HasErrorFor(set, "b.yaml"));
  EXPECT_TRUE(HasErrorFor(set, "self.yaml"));
  ASSERT_EQ(set.objects.size(), 2u);
  EXPECT_EQ(set.objects[0].name, "good");
  EXPECT_EQ(set.objects[1].name, "x");
}

TEST_F(HostileTreeTest, SpecialFilesWithManifestNamesAreSkippedNeverRead) {
  Write("good.yaml", Doc(kSpec, "good"));
  ASSERT_EQ(mkfifo((root_ / "fifo.yaml").c_str(), 0644), 0);  // opening it would block
  fs::create_symlink("/dev/zero", root_ / "zero.yaml");       // reading it never ends
  fs::create_symlink("/dev/urandom", root_ / "random.yml");
  Write("dir.yaml/inner.yaml", Doc(kSpec, "inner"));  // a directory named like a manifest
  const ManifestSet set = LoadWithin(10s);
  ASSERT_EQ(set.objects.size(), 2u);
  EXPECT_EQ(set.objects[0].name, "inner");
  EXPECT_EQ(set.objects[1].name, "good");
  EXPECT_EQ(set.files, 2u);
}

TEST_F(HostileTreeTest, UnreadableFileAndDirectoryAreErrorsAndTheRestLoads) {
  Write("good.yaml", Doc(kSpec, "good"));
  Write("secret.yaml", Doc(kSpec, "secret"));
  Write("closed/c.yaml", Doc(kSpec, "c"));
  fs::permissions(root_, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(root_ / "good.yaml", fs::perms::owner_all | fs::perms::others_read);
  fs::permissions(root_ / "secret.yaml", fs::perms::none);
  fs::permissions(root_ / "closed", fs::perms::none);
  const auto check = [this] {
    ManifestLoader loader(root_, LoadOptions{"p", {}, 100000, 256u << 20});
    const ManifestSet set = loader.Load();
    return set.objects.size() == 1 && set.objects[0].name == "good" &&
           HasErrorFor(set, "secret.yaml") && HasErrorFor(set, "closed");
  };
  if (geteuid() != 0) {
    EXPECT_TRUE(check());
    return;
  }
  // Root reads files whatever their mode: load as "nobody" in a child process.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    _exit(check() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: wrong result, 2: could not drop privileges";
}

TEST_F(HostileTreeTest, VeryLongAndNonUtf8FileNamesAreLoaded) {
  const std::string long_name = std::string(250, 'n') + ".yaml";  // NAME_MAX is 255
  Write(long_name, Doc(kSpec, "long"));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "d/";
  Write(deep + "deep.yaml", Doc(kSpec, "deep"));
  Write("caf\xe9.yaml", Doc(kSpec, "latin1"));
  const ManifestSet set = LoadWithin(10s);
  EXPECT_TRUE(set.errors.empty()) << set.errors[0].ToString();
  ASSERT_EQ(set.objects.size(), 3u);
  for (const TrainingJobVersion& o : set.objects) {
    if (o.name == "latin1") {
      EXPECT_EQ(o.source.file, "caf\xe9.yaml");  // raw bytes, as on disk
    }
  }
}

}  // namespace
}  // namespace mactl
