#pragma once

// An in-memory etcd for the election's unit tests: one revision counter, leases that expire
// on the test's clock (checked at every call, as etcd's lessor would have), keys attached to
// leases, and switches to make it unreachable or to drop a lease behind the client's back.

#include <map>
#include <mutex>
#include <string>

#include "controller/base/clock.h"
#include "controller/election/etcd_client.h"

namespace mactl::testing {

class FakeEtcdClient final : public EtcdClient {
 public:
  explicit FakeEtcdClient(const Clock& clock) : clock_(clock) {}

  Result<EtcdLease> GrantLease(std::int64_t ttl_seconds) override {
    std::lock_guard lock(mu_);
    if (auto e = Down()) return *e;
    const std::int64_t id = next_lease_++;
    leases_[id] = clock_.Now() + std::chrono::seconds(ttl_seconds);
    ttls_[id] = ttl_seconds;
    return EtcdLease{id, ttl_seconds};
  }
  Result<std::int64_t> KeepAlive(std::int64_t lease_id) override {
    std::lock_guard lock(mu_);
    ++keepalives_;
    if (auto e = Down()) return *e;
    if (leases_.count(lease_id) == 0) return std::int64_t{0};
    leases_[lease_id] = clock_.Now() + std::chrono::seconds(ttls_[lease_id]);
    return ttls_[lease_id];
  }
  Status RevokeLease(std::int64_t lease_id) override {
    std::lock_guard lock(mu_);
    if (auto e = Down()) return *e;
    DropLeaseLocked(lease_id);
    return OkStatus();
  }
  Result<EtcdCreateResult> CreateWithLease(const std::string& key, const std::string& value,
                                           std::int64_t lease_id) override {
    std::lock_guard lock(mu_);
    if (auto e = Down()) return *e;
    EtcdCreateResult out;
    const auto it = kvs_.find(key);
    if (it != kvs_.end()) {
      out.revision = revision_;
      out.existing = it->second;
      return out;
    }
    if (leases_.count(lease_id) == 0) {
      return MakeError(ErrorClass::kTerminal, "Etcd.NotFound", "requested lease not found");
    }
    ++revision_;
    kvs_[key] = EtcdKeyValue{key, value, revision_, revision_, 1, lease_id};
    out.created = true;
    out.revision = revision_;
    return out;
  }
  Result<EtcdRangeResult> RangePrefix(const std::string& prefix) override {
    std::lock_guard lock(mu_);
    ++ranges_;
    if (auto e = Down()) return *e;
    EtcdRangeResult out;
    out.revision = revision_;
    std::multimap<std::int64_t, EtcdKeyValue> by_revision;
    for (const auto& [key, kv] : kvs_) {
      if (key.compare(0, prefix.size(), prefix) == 0) by_revision.emplace(kv.create_revision, kv);
    }
    for (const auto& [rev, kv] : by_revision) out.kvs.push_back(kv);
    return out;
  }
  Result<bool> CreateRevisionIs(const std::string& key, std::int64_t create_revision) override {
    std::lock_guard lock(mu_);
    ++checks_;
    if (auto e = Down()) return *e;
    const auto it = kvs_.find(key);
    return it != kvs_.end() && it->second.create_revision == create_revision;
  }
  Status DeleteKey(const std::string& key) override {
    std::lock_guard lock(mu_);
    if (auto e = Down()) return *e;
    if (kvs_.erase(key) > 0) ++revision_;
    return OkStatus();
  }

  // Test controls.
  void SetReachable(bool reachable) {
    std::lock_guard lock(mu_);
    reachable_ = reachable;
  }
  // Expires a lease now (as if etcd's lessor had), deleting its keys.
  void ExpireLease(std::int64_t lease_id) {
    std::lock_guard lock(mu_);
    DropLeaseLocked(lease_id);
  }
  void ExpireAllLeases() {
    std::lock_guard lock(mu_);
    while (!leases_.empty()) DropLeaseLocked(leases_.begin()->first);
  }
  std::map<std::string, EtcdKeyValue> Keys() const {
    std::lock_guard lock(mu_);
    return kvs_;
  }
  std::size_t Leases() const {
    std::lock_guard lock(mu_);
    return leases_.size();
  }
  int keepalives() const {
    std::lock_guard lock(mu_);
    return keepalives_;
  }
  int checks() const {
    std::lock_guard lock(mu_);
    return checks_;
  }

 private:
  // Unreachable: a retryable error. Otherwise expires the leases whose time has come.
  std::optional<Error> Down() {
    if (!reachable_) return MakeError(ErrorClass::kRetryable, "Etcd.Transport", "unreachable");
    const SteadyTime now = clock_.Now();
    for (auto it = leases_.begin(); it != leases_.end();) {
      const std::int64_t id = it->first;
      ++it;
      if (leases_[id] <= now) DropLeaseLocked(id);
    }
    return std::nullopt;
  }
  void DropLeaseLocked(std::int64_t lease_id) {
    leases_.erase(lease_id);
    for (auto it = kvs_.begin(); it != kvs_.end();) {
      if (it->second.lease == lease_id) {
        it = kvs_.erase(it);
        ++revision_;
      } else {
        ++it;
      }
    }
  }

  const Clock& clock_;
  mutable std::mutex mu_;
  bool reachable_ = true;
  std::int64_t revision_ = 1;
  std::int64_t next_lease_ = 0x694d71fc1e3a0001;
  std::map<std::int64_t, SteadyTime> leases_;
  std::map<std::int64_t, std::int64_t> ttls_;
  std::map<std::string, EtcdKeyValue> kvs_;
  int keepalives_ = 0;
  int ranges_ = 0;
  int checks_ = 0;
};

}  // namespace mactl::testing
