#pragma once

// Leader election on etcd with the rule of etcd's concurrency.Election: each candidate holds
// a session lease and a key <prefix>/<lease id in hex> created with it; the key with the
// lowest create revision leads, and the others wait (polling the prefix) until every key
// ahead of theirs is gone. The leader renews its lease every third of the TTL; before each
// irreversible action it calls CheckBeforeAct (docs/operations.md, "High availability").
//
// Time is read from the injected Clock only, so the rules are unit-tested with a FakeClock
// and a fake EtcdClient.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/election/etcd_client.h"

namespace mactl {

enum class ElectionRole {
  kIdle,      // Run has not yet got a session
  kFollower,  // campaigning: a key exists, another one is ahead
  kLeader,    // this replica leads
  kLost,      // led, then lost the lease or the key: act no more, exit non-zero
  kResigned,  // gave the leadership up on purpose (shutdown)
};

const char* ElectionRoleName(ElectionRole role);

inline constexpr char kDefaultElectionPrefix[] = "/modelarts-controller/leader";

struct LeaderElectionOptions {
  std::string prefix = kDefaultElectionPrefix;  // no trailing '/'
  std::string identity;                         // this replica, stored as its key's value
  std::chrono::seconds lease_ttl{15};
  // The etcd client's bound on one request. The leader's lease counts as valid until
  // (send time of the last acknowledged renewal) + TTL − margin, margin = request_timeout +
  // kMarginSlack: an action checked just inside that window still reaches ModelArts while
  // etcd holds the lease.
  std::chrono::milliseconds request_timeout{2000};
};

// Default request bound for a lease: a fifth of the TTL, at most 2 s, so that one failed
// renewal still leaves time for the next inside the lease.
std::chrono::milliseconds DefaultEtcdRequestTimeout(std::chrono::seconds lease_ttl);

// Checks the options: a prefix that starts with '/' and does not end with one, a printable
// identity of at most 200 bytes, a TTL of 2 s (etcd's minimum) to 1 h, and a request
// timeout that leaves a valid window longer than the renewal period.
Status ValidateLeaderElectionOptions(const LeaderElectionOptions& options);

// What the daemon shows and counts. The observer is called on the election's thread (or a
// CheckBeforeAct caller's) without the election's lock held.
class ElectionObserver {
 public:
  virtual ~ElectionObserver() = default;
  virtual void OnRoleChanged(ElectionRole role) = 0;
  // The identity of the replica that leads changed ("" when none is known).
  virtual void OnLeaderChanged(const std::string& leader_identity) = 0;
  virtual void OnRenewal(bool ok) = 0;
};

struct ElectionStatus {
  ElectionRole role = ElectionRole::kIdle;
  std::string identity;         // this replica's
  std::string leader_identity;  // "" when unknown
  std::string key;              // this replica's election key, "" without a session
};

class LeaderElection {
 public:
  static constexpr std::chrono::milliseconds kMarginSlack{500};

  // The client, clock and observer must outlive this. Options must be valid.
  LeaderElection(LeaderElectionOptions options, EtcdClient& etcd, const Clock& clock,
                 ElectionObserver& observer);

  // The campaign loop: gets a session, waits for leadership, renews the lease, and keeps the
  // leader identity current. Returns when `stop` is requested or leadership is lost
  // (role kLost). Call from one thread.
  void Run(std::stop_token stop);
  // One round of Run: renews when due, reads the candidates. Returns when the next round is
  // due, or nullopt once the campaign is over (lost or resigned). Unit tests drive this.
  std::optional<SteadyTime> RunOnce();

  // Immediately before an irreversible action (a stop): OK only if this replica leads, its
  // lease is valid with margin on the monotonic clock, and etcd confirms, in a linearizable
  // transaction, that its key still exists with the same create revision. A refused check
  // means: do not act. A key found gone or replaced turns the role to kLost.
  Status CheckBeforeAct();

  // Gives leadership up: deletes the key and revokes the lease (best effort, once). Call
  // after Run has returned and in-flight actions have drained.
  Status Resign();

  ElectionStatus Snapshot() const;
  bool IsLeader() const;

  // The renewal period (a third of the TTL) and the poll period (a quarter of that).
  std::chrono::milliseconds RenewInterval() const;
  std::chrono::milliseconds PollInterval() const;

 private:
  struct Session {
    std::int64_t lease_id = 0;
    std::string key;
    std::int64_t create_revision = 0;
  };

  // Grants a lease and creates the key; false (and a later retry) on failure.
  bool StartSession();
  // One keepalive; drops the session or declares the loss when the lease is gone.
  void Renew();
  // Reads the prefix: who leads, and whether this replica now does.
  void Poll();
  // Abandons the session (a follower's lease expired or its key vanished).
  void DropSession(const std::string& why);
  void SetRole(ElectionRole role);  // logs and notifies when it changes
  void SetLeader(const std::string& identity);
  void DeclareLost(const std::string& why);
  // Whether the lease is surely still valid at `now`, with margin. Requires mu_.
  bool LeaseValidLocked(SteadyTime now) const;

  const LeaderElectionOptions options_;
  EtcdClient& etcd_;
  const Clock& clock_;
  ElectionObserver& observer_;
  const std::chrono::milliseconds margin_;

  mutable std::mutex mu_;
  ElectionRole role_ = ElectionRole::kIdle;  // guarded by mu_
  std::optional<Session> session_;           // guarded by mu_
  std::string leader_identity_;              // guarded by mu_
  // Send time of the last acknowledged renewal (or of the grant): etcd restarted the
  // lease's countdown no earlier than this.
  SteadyTime renewed_at_{};    // guarded by mu_
  SteadyTime next_renewal_{};  // Run's thread only
};

}  // namespace mactl
