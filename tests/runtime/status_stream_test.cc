// /status streamed: without a query the same bytes as the whole document; filters, paging by
// name with a continue token, and bounded parts.

#include "controller/runtime/status_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/runtime/status_json.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TrainingJobVersion Version(const std::string& name, std::int64_t job, DesiredState desired) {
  TrainingJobVersion o;
  o.name = name;
  o.job_id = job;
  o.version_id = 1;
  o.desired_state = desired;
  o.source = SourcePosition{"jobs.yaml", static_cast<int>(job), 1};
  return o;
}

TrainingJob Job(const std::string& name, const std::string& job_name) {
  TrainingJob o;
  o.name = name;
  o.training_job_name = job_name;
  o.source = SourcePosition{"v2.yaml", 3, 1};
  return o;
}

// Versions in manifest order (not by name), one conflicting pair, two TrainingJobs (one
// failing, one not reconciled yet), and two invalid documents, one with a file name that is
// not UTF-8 and one with a newline in its reason.
class StatusStreamTest : public ::testing::Test {
 protected:
  StatusStreamTest() {
    DesiredSnapshot desired = BuildDesiredSnapshot(
        {Version("zeta", 1, DesiredState::kStopped), Version("alpha", 2, DesiredState::kRunning),
         Version("left", 3, DesiredState::kStopped), Version("right", 3, DesiredState::kRunning),
         Version("mid", 4, DesiredState::kStopped)},
        {ManifestError{SourcePosition{"bad\xff.yaml", 4, 7}, "spec.jobId: required"},
         ManifestError{SourcePosition{"b.yaml", 1, 1}, "kind: unknown\nsecond line"}},
        "p");
    AddTrainingJobs(desired, {Job("job-b", "llama"), Job("job-a", "bert")});
    desired_ = std::make_shared<const DesiredSnapshot>(std::move(desired));
    VersionState stopping;
    stopping.phase = Phase::kStopping;
    stopping.observed_status = 8;
    stopping.observed_at = clock_.WallNow();
    stopping.observed_source = "list";
    stopping.ready.Set(false, "StopRequested", "stop accepted", clock_.WallNow());
    stopping.attempts = 2;
    stopping.last_error = MakeError(ErrorClass::kRetryable, "HTTP.503", "unavailable", 503);
    states_.emplace("p/1/1", stopping);
    VersionState failing;
    failing.phase = Phase::kError;
    states_.emplace("p/4/1", failing);
    VersionState conflict;
    conflict.phase = Phase::kConverged;
    states_.emplace("p/3/1", conflict);
    TrainingJobState job;
    job.phase = Phase::kError;
    job_states_.emplace("p/name:llama", job);
    clock_.Advance(seconds(90));
  }

  StatusStateLookup Lookup() const {
    return {[this](const std::string& key) -> std::optional<VersionState> {
              const auto it = states_.find(key);
              if (it == states_.end()) return std::nullopt;
              return it->second;
            },
            [this](const std::string& key) -> std::optional<TrainingJobState> {
              const auto it = job_states_.find(key);
              if (it == job_states_.end()) return std::nullopt;
              return it->second;
            },
            {}};
  }

  // The streamed document, and how many parts it came in.
  std::string Stream(const QueryParams& params, std::optional<json> leader = std::nullopt,
                     std::size_t* parts = nullptr) const {
    Result<StatusQuery> query = ParseStatusQuery(params);
    EXPECT_TRUE(query) << query.error().ToString();
    StatusStream stream(desired_, Lookup(), query.value(),
                        StatusHead{true, clock_.WallNow(), std::move(leader)});
    std::string out;
    std::size_t n = 0;
    while (stream.Next(out)) ++n;
    if (parts != nullptr) *parts = n;
    return out;
  }

  std::vector<std::string> Names(const json& doc) const {
    std::vector<std::string> names;
    for (const json& o : doc.at("objects")) names.push_back(o.at("name"));
    return names;
  }

  json Parsed(const QueryParams& params) const { return json::parse(Stream(params)); }

  testing::FakeClock clock_;
  std::shared_ptr<const DesiredSnapshot> desired_;
  std::unordered_map<std::string, VersionState> states_;
  std::unordered_map<std::string, TrainingJobState> job_states_;
};

TEST_F(StatusStreamTest, WithoutAQueryItIsTheWholeDocumentByteForByte) {
  const std::string whole =
      StatusBody(StatusJson(*desired_, states_, job_states_, true, clock_.WallNow()));
  EXPECT_EQ(Stream({}), whole);

  json with_leader = StatusJson(*desired_, states_, job_states_, true, clock_.WallNow());
  const json leader{{"identity", "a:1"}, {"role", "leader"}, {"leader", "a:1"}};
  with_leader["leaderElection"] = leader;
  EXPECT_EQ(Stream({}, leader), StatusBody(with_leader));
}

TEST_F(StatusStreamTest, AnEmptySnapshotIsTheEmptyDocument) {
  StatusStream stream(std::make_shared<const DesiredSnapshot>(), Lookup(), StatusQuery{},
                      StatusHead{false, clock_.WallNow(), std::nullopt});
  std::string out;
  while (stream.Next(out)) {
  }
  EXPECT_EQ(out, StatusBody(StatusJson(DesiredSnapshot{}, {}, false, clock_.WallNow())));
}

TEST_F(StatusStreamTest, FiltersByPhaseKindAndExactName) {
  EXPECT_EQ(Names(Parsed({{"phase", "Error"}})), (std::vector<std::string>{"mid", "job-b"}));
  EXPECT_EQ(Names(Parsed({{"phase", "Conflict"}})), (std::vector<std::string>{"left", "right"}));
  EXPECT_EQ(Names(Parsed({{"phase", "Pending"}})), (std::vector<std::string>{"alpha", "job-a"}));
  EXPECT_EQ(Names(Parsed({{"kind", "TrainingJob"}})), (std::vector<std::string>{"job-b", "job-a"}));
  EXPECT_EQ(Names(Parsed({{"kind", "TrainingJob"}, {"phase", "Error"}})),
            (std::vector<std::string>{"job-b"}));
  EXPECT_EQ(Names(Parsed({{"name", "mid"}})), (std::vector<std::string>{"mid"}));
  EXPECT_EQ(Names(Parsed({{"name", "mi"}})), (std::vector<std::string>{}));
  // The manifest errors are not filtered: a caller sees them on the first page.
  EXPECT_EQ(Parsed({{"name", "mi"}}).at("manifestErrors").size(), 2u);
  EXPECT_FALSE(Parsed({{"phase", "Error"}}).contains("continue"));
}

TEST_F(StatusStreamTest, PagesByNameWithAContinueTokenUntilNoneRemain) {
  std::vector<std::string> seen;
  QueryParams params{{"limit", "3"}};
  int pages = 0;
  for (;; ++pages) {
    ASSERT_LT(pages, 10);
    const json page = Parsed(params);
    for (const std::string& name : Names(page)) seen.push_back(name);
    EXPECT_LE(page.at("objects").size(), 3u);
    EXPECT_EQ(page.at("manifestErrors").size(), pages == 0 ? 2u : 0u);
    EXPECT_EQ(page.at("ready"), true);
    if (!page.contains("continue")) break;
    params = {{"limit", "3"}, {"continue", page.at("continue").get<std::string>()}};
  }
  EXPECT_EQ(pages, 2);  // 7 objects: 3 + 3 + 1
  EXPECT_EQ(seen,
            (std::vector<std::string>{"alpha", "job-a", "job-b", "left", "mid", "right", "zeta"}));
}

TEST_F(StatusStreamTest, AFullLastPageSaysNothingRemains) {
  const json page = Parsed({{"limit", "7"}});
  EXPECT_EQ(page.at("objects").size(), 7u);
  EXPECT_FALSE(page.contains("continue"));
  // With a filter, "more" means more matching objects, not more objects.
  const json errors = Parsed({{"limit", "1"}, {"phase", "Error"}});
  EXPECT_EQ(Names(errors), (std::vector<std::string>{"job-b"}));
  ASSERT_TRUE(errors.contains("continue"));
  const json rest =
      Parsed({{"limit", "1"}, {"phase", "Error"}, {"continue", errors.at("continue")}});
  EXPECT_EQ(Names(rest), (std::vector<std::string>{"mid"}));
  EXPECT_FALSE(rest.contains("continue"));
}

TEST_F(StatusStreamTest, AContinueTokenSurvivesItsObjectBeingRemoved) {
  // The token carries a name; the next page starts after it whether or not it still exists.
  const json page = Parsed({{"continue", EncodeContinueToken("kappa")}});
  EXPECT_EQ(Names(page), (std::vector<std::string>{"left", "mid", "right", "zeta"}));
}

// Policies come after the objects, on the first page only; kind=TrainingJobPolicy gives only
// them, another kind none; name and phase filter them as objects.
TEST_F(StatusStreamTest, ListsPoliciesOnTheFirstPageAndFiltersThem) {
  auto desired = std::make_shared<DesiredSnapshot>(*desired_);
  TrainingJobPolicy a;
  a.name = "cap-a";
  a.max_runtime = std::chrono::hours(1);
  TrainingJobPolicy b = a;
  b.name = "cap-b";
  desired->policies = {a, b};
  desired_ = desired;
  PolicyStatus tripped = PendingPolicyStatus(b, "p");
  tripped.phase = "PolicyLimitExceeded";
  StatusStateLookup lookup = Lookup();
  lookup.policies = [tripped] { return std::vector<PolicyStatus>{tripped}; };
  const auto stream = [&](const QueryParams& params) {
    StatusStream s(desired_, lookup, ParseStatusQuery(params).value(),
                   StatusHead{true, clock_.WallNow(), std::nullopt});
    std::string out;
    while (s.Next(out)) {
    }
    return out;
  };
  const auto names = [&](const QueryParams& params) {
    const json doc = json::parse(stream(params));
    std::vector<std::string> out;
    for (const json& p : doc.at("policies")) out.push_back(p.at("name"));
    return out;
  };
  EXPECT_EQ(stream({}), StatusBody(StatusJson(*desired_, states_, job_states_, true,
                                              clock_.WallNow(), {tripped})));
  EXPECT_EQ(names({}), (std::vector<std::string>{"cap-a", "cap-b"}));
  EXPECT_EQ(json::parse(stream({})).at("policies").at(0).at("phase"), "Pending");
  EXPECT_EQ(names({{"kind", "TrainingJobPolicy"}}), (std::vector<std::string>{"cap-a", "cap-b"}));
  EXPECT_EQ(json::parse(stream({{"kind", "TrainingJobPolicy"}})).at("objects").size(), 0u);
  EXPECT_EQ(names({{"kind", "TrainingJob"}}), (std::vector<std::string>{}));
  EXPECT_EQ(names({{"phase", "PolicyLimitExceeded"}}), (std::vector<std::string>{"cap-b"}));
  EXPECT_EQ(names({{"name", "cap-a"}}), (std::vector<std::string>{"cap-a"}));
  const json first = json::parse(stream({{"limit", "2"}}));
  EXPECT_EQ(first.at("policies").size(), 2u);
  EXPECT_EQ(json::parse(stream({{"continue", first.at("continue")}})).at("policies").size(), 0u);
}

TEST(StatusStreamParts, ManyObjectsComeInBoundedParts) {
  std::vector<TrainingJobVersion> objects;
  for (int i = 1; i <= 3000; ++i) {
    objects.push_back(Version("v" + std::to_string(i), i, DesiredState::kStopped));
  }
  auto desired =
      std::make_shared<const DesiredSnapshot>(BuildDesiredSnapshot(std::move(objects), {}, "p"));
  StatusStateLookup none{[](const std::string&) { return std::optional<VersionState>(); },
                         [](const std::string&) { return std::optional<TrainingJobState>(); },
                         {}};
  StatusStream stream(desired, none, StatusQuery{}, StatusHead{});
  std::string part;
  std::size_t parts = 0;
  std::size_t total = 0;
  std::size_t largest = 0;
  while (stream.Next(part)) {
    ++parts;
    total += part.size();
    largest = std::max(largest, part.size());
    part.clear();
  }
  EXPECT_GE(parts, 3000 / StatusStream::kBatch);
  EXPECT_LE(largest, 128u * 1024);
  EXPECT_EQ(total, StatusBody(StatusJson(*desired, {}, false, WallTime{})).size());
}

}  // namespace
}  // namespace mactl
