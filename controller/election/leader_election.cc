#include "controller/election/leader_election.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "controller/base/log.h"
#include "controller/base/sanitize.h"

namespace mactl {
namespace {

using std::chrono::milliseconds;

std::string LeaseHex(std::int64_t lease_id) {
  char text[32];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(lease_id));
  return text;
}

Error Refused(std::string message) {
  return MakeError(ErrorClass::kRetryable, "Election.NotLeader", std::move(message));
}

}  // namespace

const char* ElectionRoleName(ElectionRole role) {
  switch (role) {
    case ElectionRole::kIdle:
      return "idle";
    case ElectionRole::kFollower:
      return "follower";
    case ElectionRole::kLeader:
      return "leader";
    case ElectionRole::kLost:
      return "lost";
    case ElectionRole::kResigned:
      return "resigned";
  }
  return "unknown";
}

milliseconds DefaultEtcdRequestTimeout(std::chrono::seconds lease_ttl) {
  return std::min(milliseconds(2000), std::chrono::duration_cast<milliseconds>(lease_ttl) / 5);
}

Status ValidateLeaderElectionOptions(const LeaderElectionOptions& options) {
  const auto invalid = [](std::string message) {
    return MakeError(ErrorClass::kTerminal, "Config.Election", std::move(message));
  };
  const std::string& prefix = options.prefix;
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() == '/') {
    return invalid("election prefix must start with '/' and not end with one");
  }
  if (options.identity.empty() || options.identity.size() > 200 ||
      SanitizeForLog(options.identity, 400) != options.identity) {
    return invalid("election identity must be 1-200 printable bytes");
  }
  if (options.lease_ttl < std::chrono::seconds(2) || options.lease_ttl > std::chrono::hours(1)) {
    return invalid("leader election lease must be between 2s and 1h");
  }
  const milliseconds margin = options.request_timeout + LeaderElection::kMarginSlack;
  const milliseconds window = options.lease_ttl - margin;
  if (options.request_timeout.count() <= 0 ||
      window <= std::chrono::duration_cast<milliseconds>(options.lease_ttl) / 3) {
    return invalid("etcd request timeout leaves no valid lease window longer than a renewal");
  }
  return OkStatus();
}

LeaderElection::LeaderElection(LeaderElectionOptions options, EtcdClient& etcd, const Clock& clock,
                               ElectionObserver& observer)
    : options_(std::move(options)),
      etcd_(etcd),
      clock_(clock),
      observer_(observer),
      margin_(options_.request_timeout + kMarginSlack) {}

milliseconds LeaderElection::RenewInterval() const {
  return std::chrono::duration_cast<milliseconds>(options_.lease_ttl) / 3;
}

// A quarter of the renewal period: with etcd expiring leases within 0.5 s, a follower sees
// the leader's key gone well within the TTL plus one renewal period of the leader's end.
milliseconds LeaderElection::PollInterval() const { return RenewInterval() / 4; }

void LeaderElection::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const std::optional<SteadyTime> next = RunOnce();
    if (!next.has_value()) return;
    clock_.SleepUntil(*next, stop);
  }
}

std::optional<SteadyTime> LeaderElection::RunOnce() {
  bool has_session = false;
  {
    std::lock_guard lock(mu_);
    if (role_ == ElectionRole::kLost || role_ == ElectionRole::kResigned) return std::nullopt;
    has_session = session_.has_value();
  }
  if (!has_session && !StartSession()) return clock_.Now() + PollInterval();
  const auto lost = [this] {
    std::lock_guard lock(mu_);
    return role_ == ElectionRole::kLost;
  };
  if (clock_.Now() >= next_renewal_) Renew();
  if (lost()) return std::nullopt;
  Poll();
  if (lost()) return std::nullopt;
  return std::min(next_renewal_, clock_.Now() + PollInterval());
}

bool LeaderElection::StartSession() {
  const SteadyTime sent = clock_.Now();
  Result<EtcdLease> lease = etcd_.GrantLease(options_.lease_ttl.count());
  if (!lease.ok()) {
    log::Warn("leader election cannot get a lease", {{"error", lease.error().ToString()}});
    return false;
  }
  const std::string key = options_.prefix + "/" + LeaseHex(lease->id);
  Result<EtcdCreateResult> created = etcd_.CreateWithLease(key, options_.identity, lease->id);
  std::int64_t revision = 0;
  if (created.ok() && created->created) revision = created->revision;
  // An earlier attempt whose answer was lost may have created it: ours if it has our lease.
  if (created.ok() && !created->created && created->existing->lease == lease->id) {
    revision = created->existing->create_revision;
  }
  if (revision <= 0) {
    const std::string why =
        created.ok() ? "the key exists with another lease" : created.error().ToString();
    log::Warn("leader election cannot create its key", {{"key", key}, {"error", why}});
    (void)etcd_.RevokeLease(lease->id);
    return false;
  }
  {
    std::lock_guard lock(mu_);
    session_ = Session{lease->id, key, revision};
    renewed_at_ = sent;
  }
  next_renewal_ = sent + RenewInterval();
  log::Info("leader election campaign", {{"key", key},
                                         {"identity", options_.identity},
                                         {"create_revision", std::to_string(revision)}});
  SetRole(ElectionRole::kFollower);
  return true;
}

void LeaderElection::Renew() {
  std::int64_t lease_id = 0;
  {
    std::lock_guard lock(mu_);
    if (!session_.has_value()) return;
    lease_id = session_->lease_id;
  }
  const SteadyTime sent = clock_.Now();
  Result<std::int64_t> ttl = etcd_.KeepAlive(lease_id);
  observer_.OnRenewal(ttl.ok() && ttl.value() > 0);
  if (ttl.ok() && ttl.value() > 0) {
    std::lock_guard lock(mu_);
    renewed_at_ = std::max(renewed_at_, sent);
    next_renewal_ = sent + RenewInterval();
    return;
  }
  // Retry soon; the lease may still have most of its TTL.
  next_renewal_ = clock_.Now() + PollInterval();
  bool expired = ttl.ok();  // etcd says the lease is gone
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    leader = role_ == ElectionRole::kLeader;
    expired = expired || clock_.Now() >= renewed_at_ + options_.lease_ttl;
  }
  const std::string why = ttl.ok()
                              ? "etcd no longer knows the lease"
                              : "renewal failed for the whole lease: " + ttl.error().ToString();
  if (!ttl.ok()) log::Warn("leader election renewal failed", {{"error", ttl.error().ToString()}});
  if (!expired) return;
  if (leader) {
    DeclareLost(why);
  } else {
    DropSession(why);
  }
}

void LeaderElection::Poll() {
  std::optional<Session> session;
  {
    std::lock_guard lock(mu_);
    session = session_;
  }
  if (!session.has_value()) return;
  Result<EtcdRangeResult> range = etcd_.RangePrefix(options_.prefix + "/");
  if (!range.ok()) {
    log::Debug("leader election cannot read the candidates", {{"error", range.error().ToString()}});
    return;
  }
  const std::vector<EtcdKeyValue>& kvs = range->kvs;
  SetLeader(kvs.empty() ? "" : kvs.front().value);
  const auto mine = std::find_if(kvs.begin(), kvs.end(),
                                 [&](const EtcdKeyValue& kv) { return kv.key == session->key; });
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    // CheckBeforeAct on another thread may have ended the campaign meanwhile.
    if (role_ == ElectionRole::kLost || !session_.has_value()) return;
    leader = role_ == ElectionRole::kLeader;
  }
  if (mine == kvs.end() || mine->create_revision != session->create_revision) {
    if (leader) {
      DeclareLost("the election key is gone");
    } else {
      DropSession("the election key is gone");
    }
    return;
  }
  if (mine != kvs.begin()) {
    if (leader) DeclareLost("another key is ahead of this replica's");
    return;
  }
  if (!leader) {
    log::Info("leader election won", {{"key", session->key}, {"identity", options_.identity}});
    SetRole(ElectionRole::kLeader);
  }
}

void LeaderElection::DropSession(const std::string& why) {
  std::int64_t lease_id = 0;
  {
    std::lock_guard lock(mu_);
    if (!session_.has_value()) return;
    lease_id = session_->lease_id;
    session_.reset();
  }
  log::Warn("leader election session ended; campaigning again", {{"reason", why}});
  (void)etcd_.RevokeLease(lease_id);  // best effort: its key must not linger ahead of others
  SetRole(ElectionRole::kIdle);
}

void LeaderElection::DeclareLost(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (role_ != ElectionRole::kLeader) return;
  }
  log::Error("leader election lost", {{"identity", options_.identity}, {"reason", why}});
  SetRole(ElectionRole::kLost);
}

void LeaderElection::SetRole(ElectionRole role) {
  {
    std::lock_guard lock(mu_);
    // Lost is final: the daemon exits and comes back as a new candidate.
    if (role_ == role || role_ == ElectionRole::kLost) return;
    role_ = role;
  }
  observer_.OnRoleChanged(role);
}

void LeaderElection::SetLeader(const std::string& identity) {
  {
    std::lock_guard lock(mu_);
    if (leader_identity_ == identity) return;
    leader_identity_ = identity;
  }
  observer_.OnLeaderChanged(identity);
}

bool LeaderElection::LeaseValidLocked(SteadyTime now) const {
  return role_ == ElectionRole::kLeader && session_.has_value() &&
         now < renewed_at_ + options_.lease_ttl - margin_;
}

Status LeaderElection::CheckBeforeAct() {
  Session session;
  {
    std::lock_guard lock(mu_);
    if (role_ != ElectionRole::kLeader) {
      return Refused(std::string("this replica is not the leader (") + ElectionRoleName(role_) +
                     ")");
    }
    if (!LeaseValidLocked(clock_.Now())) {
      return Refused("the leader's lease is not surely valid: no renewal acknowledged recently");
    }
    session = *session_;
  }
  Result<bool> same = etcd_.CreateRevisionIs(session.key, session.create_revision);
  if (!same.ok()) return Refused("etcd did not confirm the leadership: " + same.error().ToString());
  if (!same.value()) {
    DeclareLost("the election key changed in etcd");
    return Refused("the election key changed in etcd");
  }
  // The transaction took time: the lease must still be valid now, as the action starts.
  std::lock_guard lock(mu_);
  if (!LeaseValidLocked(clock_.Now())) {
    return Refused("the leader's lease ran out while etcd was asked");
  }
  return OkStatus();
}

Status LeaderElection::Resign() {
  std::optional<Session> session;
  {
    std::lock_guard lock(mu_);
    session = std::exchange(session_, std::nullopt);
  }
  if (!session.has_value()) return OkStatus();
  const Status deleted = etcd_.DeleteKey(session->key);
  const Status revoked = etcd_.RevokeLease(session->lease_id);
  log::Info("leader election resigned", {{"key", session->key}, {"identity", options_.identity}});
  bool lost = false;
  {
    std::lock_guard lock(mu_);
    lost = role_ == ElectionRole::kLost;
  }
  if (!lost) SetRole(ElectionRole::kResigned);
  if (!deleted.ok()) return deleted;
  return revoked;
}

ElectionStatus LeaderElection::Snapshot() const {
  std::lock_guard lock(mu_);
  return ElectionStatus{role_, options_.identity, leader_identity_,
                        session_.has_value() ? session_->key : ""};
}

bool LeaderElection::IsLeader() const {
  std::lock_guard lock(mu_);
  return role_ == ElectionRole::kLeader;
}

}  // namespace mactl
