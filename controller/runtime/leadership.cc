#include "controller/runtime/leadership.h"

#include <utility>

#include "controller/base/log.h"

namespace mactl {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

prometheus::Family<prometheus::Counter>& Renewals(prometheus::Registry& registry) {
  return BuildCounter()
      .Name("modelarts_controller_leader_renewals_total")
      .Help("Renewals of this replica's election lease in etcd, by result (success, failure).")
      .Register(registry);
}

}  // namespace

Result<std::unique_ptr<Leadership>> Leadership::Create(HttpEtcdClientOptions etcd,
                                                       LeaderElectionOptions election,
                                                       const Clock& clock,
                                                       prometheus::Registry& registry,
                                                       std::function<void()> on_lost) {
  if (Status valid = ValidateLeaderElectionOptions(election); !valid) return valid.error();
  etcd.request_timeout = election.request_timeout;
  Result<std::unique_ptr<HttpEtcdClient>> client = HttpEtcdClient::Create(std::move(etcd), clock);
  if (!client) return client.error();
  auto leadership = std::make_unique<Leadership>(std::move(election), *client.value(), clock,
                                                 registry, std::move(on_lost));
  leadership->owned_client_ = std::move(client).value();
  return leadership;
}

Leadership::Leadership(LeaderElectionOptions election, EtcdClient& etcd, const Clock& clock,
                       prometheus::Registry& registry, std::function<void()> on_lost)
    : clock_(clock),
      on_lost_(std::move(on_lost)),
      leader_(BuildGauge()
                  .Name("modelarts_controller_leader")
                  .Help("1 while this replica is the elected leader (--leader-elect), else 0.")
                  .Register(registry)
                  .Add({})),
      transitions_(BuildCounter()
                       .Name("modelarts_controller_leader_transitions_total")
                       .Help("Times this replica became or stopped being the leader.")
                       .Register(registry)
                       .Add({})),
      renewals_ok_(Renewals(registry).Add({{"result", "success"}})),
      renewals_failed_(Renewals(registry).Add({{"result", "failure"}})),
      election_(std::move(election), etcd, clock, *this) {}

Leadership::~Leadership() {
  loop_.request_stop();
  if (loop_.joinable()) loop_.join();
}

void Leadership::Start() {
  loop_ = std::jthread([this](std::stop_token stop) { election_.Run(stop); });
}

bool Leadership::WaitUntilLeader(std::stop_token stop) {
  std::unique_lock lock(mu_);
  clock_.WaitUntil(changed_, lock, stop, kNoDeadline, [this] { return leading_ || lost_; });
  return leading_ && !lost_;
}

void Leadership::RequireBeforeActing(std::function<bool()> observed_everything) {
  observed_everything_ = std::move(observed_everything);
}

Status Leadership::CheckBeforeStop() {
  // Latched: once everything was observed, objects added later do not hold up other stops.
  if (observed_everything_ && !observed_.load()) {
    if (!observed_everything_()) {
      return MakeError(ErrorClass::kRetryable, "Election.Observing",
                       "the new leader has not yet observed every object");
    }
    observed_ = true;
  }
  return election_.CheckBeforeAct();
}

bool Leadership::Leading() const {
  std::lock_guard lock(mu_);
  return leading_ && !lost_;
}

nlohmann::json Leadership::StatusJson() const {
  const ElectionStatus status = election_.Snapshot();
  return {{"role", ElectionRoleName(status.role)},
          {"identity", status.identity},
          {"leader", status.leader_identity}};
}

bool Leadership::Lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

void Leadership::Shutdown() {
  loop_.request_stop();
  if (loop_.joinable()) loop_.join();
  if (Lost()) return;  // the key is gone or another's: nothing to give up
  if (Status resigned = election_.Resign(); !resigned) {
    log::Warn("leader election could not resign; the lease will expire",
              {{"error", resigned.error().ToString()}});
  }
}

void Leadership::OnRoleChanged(ElectionRole role) {
  bool lost_now = false;
  {
    std::lock_guard lock(mu_);
    const bool leading = role == ElectionRole::kLeader;
    if (leading != leading_) transitions_.Increment();
    leading_ = leading;
    if (role == ElectionRole::kLost && !lost_) {
      lost_ = true;
      lost_now = true;
    }
  }
  leader_.Set(role == ElectionRole::kLeader ? 1 : 0);
  changed_.notify_all();
  if (lost_now && on_lost_) on_lost_();
}

void Leadership::OnLeaderChanged(const std::string& leader_identity) {
  log::Info("leader observed", {{"leader", leader_identity.empty() ? "(none)" : leader_identity}});
}

void Leadership::OnRenewal(bool ok) { (ok ? renewals_ok_ : renewals_failed_).Increment(); }

}  // namespace mactl
