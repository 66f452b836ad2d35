#pragma once

// Every API request the simulator received, in arrival order, so tests can assert on
// exactly what a client sent. Bounded: the oldest entries are dropped past the capacity.
// Never stores secrets: only whether credential headers were present. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace mactl::sim {

inline constexpr std::size_t kDefaultRequestLogCapacity = 100000;

struct RequestRecord {
  std::uint64_t seq = 0;  // 1, 2, ... in arrival order
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // first value of each parameter
  std::string operation;                     // list, get_version, ..., other
  int status = 0;                            // HTTP status sent; 0 = connection dropped
  std::optional<std::string> fault;          // fault type applied, if any
  bool has_auth_token = false;               // X-Auth-Token present
  bool has_authorization = false;            // Authorization present (AK/SK)
  std::int64_t time_ms = 0;                  // since the simulator started
};

class RequestLog {
 public:
  explicit RequestLog(std::size_t capacity = kDefaultRequestLogCapacity) : capacity_(capacity) {}

  // Records an arriving request (status 0 until Finish) and returns its seq.
  std::uint64_t Begin(RequestRecord record);
  // Fills in the outcome of request seq (ignored when it was already evicted).
  void Finish(std::uint64_t seq, int status, std::optional<std::string> fault);
  // The records kept, oldest first; only those with seq > after when after is given.
  std::vector<RequestRecord> Snapshot(std::uint64_t after = 0) const;
  void Clear();

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<RequestRecord> records_;  // guarded by mu_; seqs are consecutive
  std::uint64_t next_seq_ = 1;         // guarded by mu_
};

nlohmann::json RequestRecordToJson(const RequestRecord& r);

}  // namespace mactl::sim
