#pragma once

// The daemon's side of --leader-elect (docs/high-availability.md): runs the election on its
// own thread, lets the daemon wait until this replica leads, gates every stop on the
// leader's CheckBeforeAct, exports the leader metrics, describes the election for /status,
// and reports a lost leadership once so the daemon exits non-zero.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <thread>

#include "api/result.h"
#include "controller/base/clock.h"
#include "controller/core/stop_gate.h"
#include "controller/election/etcd_client.h"
#include "controller/election/http_etcd_client.h"
#include "controller/election/leader_election.h"

namespace mactl {

class Leadership final : public StopGate, private ElectionObserver {
 public:
  // Builds the etcd client from `etcd` (request timeout: the election's). `on_lost` runs
  // once, on the election's thread or a worker's, when a leader loses its lease or key.
  static Result<std::unique_ptr<Leadership>> Create(HttpEtcdClientOptions etcd,
                                                    LeaderElectionOptions election,
                                                    const Clock& clock,
                                                    prometheus::Registry& registry,
                                                    std::function<void()> on_lost);
  // With an injected client (tests). The client, clock and registry must outlive this.
  Leadership(LeaderElectionOptions election, EtcdClient& etcd, const Clock& clock,
             prometheus::Registry& registry, std::function<void()> on_lost);
  ~Leadership() override;
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Starts campaigning on a thread of its own.
  void Start();
  // Blocks until this replica leads (true), or `stop` is requested or the leadership is lost
  // (false).
  bool WaitUntilLeader(std::stop_token stop);
  // A new leader acts only once it has observed everything: stops are refused until
  // `observed_everything` holds (the Manager's readiness). Call before Start.
  void RequireBeforeActing(std::function<bool()> observed_everything);
  // StopGate: the precondition above, then the leader's CheckBeforeAct.
  Status CheckBeforeStop() override;
  bool Leading() const;
  // {"role", "identity", "leader"} for /status.
  nlohmann::json StatusJson() const;
  bool Lost() const;
  // Ends the campaign. A replica that did not lose its leadership resigns (deletes its key,
  // revokes its lease) so another takes over at once. Call after in-flight calls drained.
  void Shutdown();

 private:
  // ElectionObserver
  void OnRoleChanged(ElectionRole role) override;
  void OnLeaderChanged(const std::string& leader_identity) override;
  void OnRenewal(bool ok) override;

  std::unique_ptr<EtcdClient> owned_client_;  // set by Create
  const Clock& clock_;
  std::function<void()> on_lost_;
  std::function<bool()> observed_everything_;
  std::atomic<bool> observed_{false};  // observed_everything_ held once
  prometheus::Gauge& leader_;
  prometheus::Counter& transitions_;
  prometheus::Counter& renewals_ok_;
  prometheus::Counter& renewals_failed_;
  LeaderElection election_;

  mutable std::mutex mu_;
  std::condition_variable_any changed_;
  bool leading_ = false;  // guarded by mu_
  bool lost_ = false;     // guarded by mu_
  std::jthread loop_;
};

}  // namespace mactl
