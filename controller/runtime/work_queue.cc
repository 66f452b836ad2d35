#include "controller/runtime/work_queue.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "controller/base/jitter.h"

namespace mactl {
namespace {

// Get re-checks at least this often, so a far-future ready time can neither overflow a clock's
// wait nor stall a worker forever.
constexpr Duration kMaxSleep = std::chrono::minutes(1);

int Rank(Priority p) { return -static_cast<int>(p); }  // std::set is ascending: negate

}  // namespace

WorkQueue::WorkQueue(const Clock& clock, BackoffPolicy backoff, RandomSource& random,
                     WorkQueueObserver* observer, Duration low_priority_slot)
    : clock_(clock),
      observer_(observer),
      low_priority_slot_(low_priority_slot),
      backoff_(backoff, random) {}

void WorkQueue::Add(const std::string& key, Priority p) { AddAfter(key, Duration::zero(), p); }

void WorkQueue::AddAfter(const std::string& key, Duration delay, Priority p) {
  std::lock_guard lock(mu_);
  if (shut_down_) {
    return;
  }
  const SteadyTime now = clock_.Now();
  const std::size_t ready_before = ready_.size();
  const std::optional<SteadyTime> head_before = DelayedHeadLocked();
  PromoteDueLocked(now);
  SteadyTime ready_at = now;
  if (delay > Duration::zero()) {
    ready_at = SaturatingAdd(now, delay);
    if (p == Priority::kLow) ready_at = AlignedUp(ready_at, low_priority_slot_);
  }
  AddLocked(key, ready_at, p, now);
  if (observer_ != nullptr) {
    observer_->OnAdd();
    if (delay > Duration::zero()) {
      observer_->OnRetry();
    }
  }
  ReportDepthIfChangedLocked(ready_before);
  WakeIfNeededLocked(head_before);
}

Duration WorkQueue::AddRateLimited(const std::string& key, std::optional<Duration> retry_after,
                                   Priority p) {
  const Duration delay = backoff_.NextDelay(key, retry_after);
  AddAfter(key, delay, p);
  return delay;
}

void WorkQueue::Forget(const std::string& key) { backoff_.Reset(key); }

int WorkQueue::NumRequeues(const std::string& key) const { return backoff_.Failures(key); }

void WorkQueue::AddLocked(const std::string& key, SteadyTime ready_at, Priority p, SteadyTime now) {
  const auto [it, created] = entries_.try_emplace(key);
  const std::string& stored = it->first;
  Entry& e = it->second;
  if (e.where == Where::kNone) {
    e.priority = p;
    e.ready_at = ready_at;
    e.seq = next_seq_++;
    Place(stored, e, now);
    return;
  }
  // Merge into the pending entry: highest priority, earliest ready time.
  const Priority merged_priority = std::max(e.priority, p);
  if (merged_priority == e.priority && ready_at >= e.ready_at) {
    return;
  }
  Unplace(stored, e);
  e.priority = merged_priority;
  if (ready_at < e.ready_at) {
    e.ready_at = ready_at;
    e.seq = next_seq_++;
  }
  Place(stored, e, now);
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard lock(mu_);
  std::optional<Item> item = TryGetLocked(clock_.Now());
  if (!item) return std::nullopt;
  return std::move(item->key);
}

std::optional<WorkQueue::Item> WorkQueue::TryGetLocked(SteadyTime now) {
  if (shut_down_) {
    return std::nullopt;
  }
  const std::size_t ready_before = ready_.size();
  PromoteDueLocked(now);
  if (ready_.empty()) {
    ReportDepthIfChangedLocked(ready_before);
    return std::nullopt;
  }
  const std::string* const stored = std::get<3>(*ready_.begin());
  ready_.erase(ready_.begin());
  std::string key = *stored;
  Entry& e = entries_.at(key);
  e.where = Where::kNone;
  e.processing = true;
  e.processing_since = now;
  processing_.emplace(now, stored);
  if (observer_ != nullptr) {
    observer_->OnQueueLatency(std::max(Duration::zero(), now - e.ready_at));
  }
  ReportDepthIfChangedLocked(ready_before);
  return Item{std::move(key), e.priority};
}

std::optional<std::string> WorkQueue::Get(std::stop_token stop) {
  std::optional<Item> item = GetWithPriority(std::move(stop));
  if (!item) return std::nullopt;
  return std::move(item->key);
}

std::optional<WorkQueue::Item> WorkQueue::GetWithPriority(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (true) {
    if (shut_down_ || stop.stop_requested()) {
      return std::nullopt;
    }
    const SteadyTime now = clock_.Now();
    if (std::optional<Item> item = TryGetLocked(now)) {
      return item;
    }
    const std::uint64_t seen = generation_;
    const auto changed = [this, seen] { return shut_down_ || generation_ != seen; };
    // TryGetLocked promoted everything due, so the next ready time (if any) is in the future.
    // One waiter sleeps until it; the others until woken (or kMaxSleep), so that each due item
    // wakes two workers (the timed one, then the one taking over its role), not every idle one.
    const SteadyTime cap = SaturatingAdd(now, kMaxSleep);
    const std::optional<SteadyTime> next = NextReadyLocked(now);
    const bool timed = !timed_waiter_;
    timed_waiter_ = true;
    clock_.WaitUntil(cv_, lock, stop, next && timed ? std::min(*next, cap) : cap, changed);
    if (timed) {
      timed_waiter_ = false;
      ++generation_;  // the waiter woken next takes over the timed role
      cv_.notify_one();
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.processing) {
    return;
  }
  const SteadyTime now = clock_.Now();
  const std::size_t ready_before = ready_.size();
  const std::optional<SteadyTime> head_before = DelayedHeadLocked();
  PromoteDueLocked(now);
  Entry& e = it->second;
  processing_.erase({e.processing_since, &it->first});
  e.processing = false;
  if (e.where == Where::kParked) {
    // Re-added while processing: it joins the ready set now, behind what is already there.
    e.where = Where::kNone;
    e.ready_at = now;
    e.seq = next_seq_++;
    Place(it->first, e, now);
  } else if (e.where == Where::kNone) {
    entries_.erase(it);
  }
  ReportDepthIfChangedLocked(ready_before);
  WakeIfNeededLocked(head_before);
}

void WorkQueue::Remove(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    return;
  }
  const std::size_t ready_before = ready_.size();
  Unplace(it->first, it->second);
  if (!it->second.processing) {
    entries_.erase(it);
  }
  ReportDepthIfChangedLocked(ready_before);
  ChangedLocked();
}

void WorkQueue::ShutDown() {
  std::lock_guard lock(mu_);
  shut_down_ = true;
  ChangedLocked();
}

std::size_t WorkQueue::Len() const {
  std::lock_guard lock(mu_);
  return ready_.size() + DueLocked(clock_.Now(), /*count_processing=*/false);
}

std::size_t WorkQueue::DelayedLen() const {
  std::lock_guard lock(mu_);
  return delayed_.size() - DueLocked(clock_.Now(), /*count_processing=*/true);
}

bool WorkQueue::IsProcessing(const std::string& key) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  return it != entries_.end() && it->second.processing;
}

std::optional<SteadyTime> WorkQueue::NextReadyTime() const {
  std::lock_guard lock(mu_);
  return NextReadyLocked(clock_.Now());
}

std::optional<SteadyTime> WorkQueue::NextReadyLocked(SteadyTime now) const {
  std::optional<SteadyTime> next;
  if (!ready_.empty()) {
    next = now;
  }
  if (!delayed_.empty()) {
    const SteadyTime first = std::get<0>(*delayed_.begin());
    next = next ? std::min(*next, first) : first;
  }
  return next;
}

Duration WorkQueue::LongestProcessing() const {
  std::lock_guard lock(mu_);
  if (processing_.empty()) {
    return Duration::zero();
  }
  return std::max(Duration::zero(), clock_.Now() - processing_.begin()->first);
}

void WorkQueue::PromoteDueLocked(SteadyTime now) {
  while (!delayed_.empty() && std::get<0>(*delayed_.begin()) <= now) {
    const std::string& key = *std::get<2>(*delayed_.begin());
    delayed_.erase(delayed_.begin());
    Entry& e = entries_.at(key);
    e.where = Where::kNone;
    Place(key, e, now);
  }
}

void WorkQueue::Unplace(const std::string& key, Entry& e) {
  switch (e.where) {
    case Where::kReady:
      ready_.erase({Rank(e.priority), e.ready_at, e.seq, &key});
      break;
    case Where::kDelayed:
      delayed_.erase({e.ready_at, e.seq, &key});
      break;
    case Where::kParked:
    case Where::kNone:
      break;
  }
  e.where = Where::kNone;
}

void WorkQueue::Place(const std::string& key, Entry& e, SteadyTime now) {
  if (e.ready_at > now) {
    e.where = Where::kDelayed;
    delayed_.emplace(e.ready_at, e.seq, &key);
  } else if (e.processing) {
    // Never hand a key to a second worker: wait for Done.
    e.where = Where::kParked;
  } else {
    e.where = Where::kReady;
    ready_.emplace(Rank(e.priority), e.ready_at, e.seq, &key);
  }
}

std::size_t WorkQueue::DueLocked(SteadyTime now, bool count_processing) const {
  std::size_t due = 0;
  for (auto it = delayed_.begin(); it != delayed_.end() && std::get<0>(*it) <= now; ++it) {
    if (count_processing || !entries_.at(*std::get<2>(*it)).processing) {
      ++due;
    }
  }
  return due;
}

void WorkQueue::ReportDepthIfChangedLocked(std::size_t ready_before) {
  if (observer_ != nullptr && ready_.size() != ready_before) {
    observer_->OnDepth(ready_.size());
  }
}

void WorkQueue::ChangedLocked() {
  ++generation_;
  cv_.notify_all();
}

std::optional<SteadyTime> WorkQueue::DelayedHeadLocked() const {
  if (delayed_.empty()) return std::nullopt;
  return std::get<0>(*delayed_.begin());
}

// A waiting worker sleeps until the earliest delayed time it saw (or kMaxSleep): a later
// addition, or a Done that readies nothing, cannot change what it does when it wakes. Waking
// every worker on each Done and each resync requeue was most of the daemon's idle CPU at 100k
// objects (docs/benchmarks.md, "Where the CPU goes").
void WorkQueue::WakeIfNeededLocked(std::optional<SteadyTime> head_before) {
  const std::optional<SteadyTime> head = DelayedHeadLocked();
  const bool earlier = head && (!head_before || *head < *head_before);
  if (shut_down_ || !ready_.empty() || earlier) ChangedLocked();
}

}  // namespace mactl
