#pragma once

// The few etcd v3 operations leader election needs, behind an interface so the election is
// unit-tested against an in-memory fake (tests/fakes/fake_etcd_client.h) and runs against a
// real cluster through HttpEtcdClient (the JSON gateway). Errors are values; an
// implementation never throws.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"

namespace mactl {

// One key as etcd reports it (mvccpb.KeyValue). Revisions and the lease are int64s.
struct EtcdKeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct EtcdLease {
  std::int64_t id = 0;
  std::int64_t ttl_seconds = 0;  // as granted, which may exceed the TTL asked for
};

// The outcome of "create this key with this lease unless it exists".
struct EtcdCreateResult {
  bool created = false;
  // The store's revision after the transaction: when created, the key's create revision.
  std::int64_t revision = 0;
  // When not created: the key that already exists.
  std::optional<EtcdKeyValue> existing;
};

struct EtcdRangeResult {
  std::int64_t revision = 0;
  std::vector<EtcdKeyValue> kvs;  // ascending by create revision
};

class EtcdClient {
 public:
  virtual ~EtcdClient() = default;

  virtual Result<EtcdLease> GrantLease(std::int64_t ttl_seconds) = 0;
  // Renews the lease once. Returns the TTL granted anew, or 0 when the lease no longer exists
  // (expired or revoked): the session is over.
  virtual Result<std::int64_t> KeepAlive(std::int64_t lease_id) = 0;
  // Revokes the lease, deleting its keys. A lease that is already gone is not an error.
  virtual Status RevokeLease(std::int64_t lease_id) = 0;
  // In one transaction: when `key` does not exist (create revision 0), puts `value` attached
  // to `lease_id`; otherwise reads the existing key.
  virtual Result<EtcdCreateResult> CreateWithLease(const std::string& key, const std::string& value,
                                                   std::int64_t lease_id) = 0;
  // Every key that starts with `prefix`, ascending by create revision.
  virtual Result<EtcdRangeResult> RangePrefix(const std::string& prefix) = 0;
  // In one linearizable transaction (answered only with the cluster's quorum): whether `key`
  // exists with exactly this create revision.
  virtual Result<bool> CreateRevisionIs(const std::string& key, std::int64_t create_revision) = 0;
  // Deletes `key`; a key that is already gone is not an error.
  virtual Status DeleteKey(const std::string& key) = 0;
};

}  // namespace mactl
