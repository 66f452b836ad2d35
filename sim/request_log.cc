#include "sim/request_log.h"

namespace mactl::sim {

std::uint64_t RequestLog::Begin(RequestRecord record) {
  std::lock_guard lock(mu_);
  record.seq = next_seq_++;
  records_.push_back(std::move(record));
  while (records_.size() > capacity_) records_.pop_front();
  return records_.back().seq;
}

void RequestLog::Finish(std::uint64_t seq, int status, std::optional<std::string> fault) {
  std::lock_guard lock(mu_);
  if (records_.empty() || seq < records_.front().seq) return;
  const std::uint64_t index = seq - records_.front().seq;
  if (index >= records_.size()) return;
  RequestRecord& r = records_[static_cast<std::size_t>(index)];
  r.status = status;
  r.fault = std::move(fault);
}

std::vector<RequestRecord> RequestLog::Snapshot(std::uint64_t after) const {
  std::lock_guard lock(mu_);
  if (records_.empty() || after < records_.front().seq) return {records_.begin(), records_.end()};
  // seqs are consecutive, so the first record wanted is at a known offset.
  const std::uint64_t skip = after - records_.front().seq + 1;
  if (skip >= records_.size()) return {};
  return {records_.begin() + static_cast<std::ptrdiff_t>(skip), records_.end()};
}

void RequestLog::Clear() {
  std::lock_guard lock(mu_);
  // seq keeps counting so entries stay unambiguous across clears.
  records_.clear();
}

nlohmann::json RequestRecordToJson(const RequestRecord& r) {
  nlohmann::json query = nlohmann::json::object();
  for (const auto& [k, v] : r.query) query[k] = v;
  return {{"seq", r.seq},
          {"method", r.method},
          {"path", r.path},
          {"query", query},
          {"operation", r.operation},
          {"status", r.status},
          {"fault", r.fault ? nlohmann::json(*r.fault) : nlohmann::json(nullptr)},
          {"has_auth_token", r.has_auth_token},
          {"has_authorization", r.has_authorization},
          {"time_ms", r.time_ms}};
}

}  // namespace mactl::sim
