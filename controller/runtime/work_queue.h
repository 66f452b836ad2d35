#pragma once

// The controller's work queue: client-go semantics (a key is deduplicated while it waits and is
// never handed to two workers at once) plus priorities and delayed adds, as in controller-runtime's
// priority queue, and client-go's rate-limited interface: the queue owns per-object retry backoff
// (AddRateLimited, Forget, NumRequeues). Keys carry identity only; workers re-read everything else.
// Every wait goes through the injected Clock.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <tuple>
#include <unordered_map>

#include "controller/base/clock.h"
#include "controller/base/random.h"
#include "controller/runtime/backoff.h"

namespace mactl {

enum class Priority {
  kLow = 0,     // periodic resync
  kNormal = 1,  // poll, retry
  kHigh = 2,    // new or edited object
};

// The daemon's low-priority slot (WorkQueue's constructor) for a --resync period: whole
// seconds, or a hundredth of the period when that is shorter, so a resync comes at most 1 % of
// its period later than its jittered time. 100,000 objects at --resync 5m are 333 resyncs a
// second, handed out after one wake-up instead of one each; the ±10 % jitter still spreads
// them over a minute of slots.
inline constexpr Duration kResyncSlot = std::chrono::seconds(1);
inline Duration ResyncSlot(Duration resync) { return std::min(kResyncSlot, resync / 100); }

// Metrics hooks; every method is an optional no-op. Called with the queue's lock held, so an
// implementation must be quick and must not call back into the queue.
class WorkQueueObserver {
 public:
  virtual ~WorkQueueObserver() = default;
  virtual void OnAdd() {}    // every Add/AddAfter call that was accepted
  virtual void OnRetry() {}  // every accepted AddAfter (or AddRateLimited) with delay > 0
  virtual void OnDepth(std::size_t /*ready*/) {}       // after every change to the ready set
  virtual void OnQueueLatency(Duration /*waited*/) {}  // ready → handed to a worker
};

// Thread-safe. Every key has at most one pending entry: further adds merge into it (highest
// priority, earliest ready time). A pending entry is "ready" once its ready time has come and its
// key is not being processed, "delayed" before that, and "parked" while its key is processed (it
// becomes ready at Done). Ready entries are handed out highest priority first, then by ready time
// (FIFO). Operations are O(log n).
class WorkQueue {
 public:
  struct Item {
    std::string key;
    Priority priority;  // of the entry handed out (the highest of the adds merged into it)
  };

  // `clock`, `random` (the backoff's jitter) and `observer` (may be null) must outlive the queue.
  // With a positive `low_priority_slot`, a delayed kLow add (a resync) becomes ready at the
  // first multiple of the slot at or after its delay, so resyncs spread by jitter come due in
  // batches and one wake-up hands out many (docs/benchmarks.md, "Idle CPU at 100k: batched
  // resyncs"); other adds keep their exact time.
  WorkQueue(const Clock& clock, BackoffPolicy backoff, RandomSource& random,
            WorkQueueObserver* observer = nullptr, Duration low_priority_slot = Duration::zero());
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Makes key ready now. Ignored after ShutDown.
  void Add(const std::string& key, Priority p);
  // Makes key ready at clock.Now() + delay (delay <= 0 is Add), rounded up to the low-priority
  // slot for a kLow add. Ignored after ShutDown.
  void AddAfter(const std::string& key, Duration delay, Priority p);
  // Records one more failure for key and adds it after its backoff (base × 2^(failures−1),
  // capped, jittered; `retry_after` is a floor). Returns the delay chosen.
  Duration AddRateLimited(const std::string& key, std::optional<Duration> retry_after, Priority p);
  // Clears key's failures (client-go's Forget): after a success, or when the object is gone.
  // Pending entries stay; see Remove.
  void Forget(const std::string& key);
  // Failures recorded for key since the last Forget.
  int NumRequeues(const std::string& key) const;
  // Hands out the best ready key, or nullopt when none is ready (or after ShutDown). Moves due
  // delayed entries to ready first. The caller must call Done(key) when finished.
  std::optional<std::string> TryGet();
  // Like TryGet but blocks until a key is ready; nullopt on a stop request or ShutDown. Waits
  // for the next ready time through the clock (Clock::WaitUntil), so a fake clock releases
  // delayed keys by advancing.
  std::optional<std::string> Get(std::stop_token stop);
  // Get, with the priority the key was handed out at (controller-runtime's GetWithPriority).
  std::optional<Item> GetWithPriority(std::stop_token stop);
  // The worker finished key; a re-add that arrived meanwhile becomes ready now (or stays delayed).
  void Done(const std::string& key);
  // The object is gone: drops every pending entry for key (ready, delayed or parked). A worker
  // still processing key keeps it until Done. Its failures stay; see Forget.
  void Remove(const std::string& key);
  // Wakes every Get caller; later Get/TryGet return nullopt and adds are ignored.
  void ShutDown();

  // Ready keys (due, not being processed), as of clock.Now().
  std::size_t Len() const;
  // Pending keys whose ready time is still in the future, as of clock.Now().
  std::size_t DelayedLen() const;
  bool IsProcessing(const std::string& key) const;
  // When the next key is or becomes ready: a time <= clock.Now() when one is ready already;
  // nullopt when nothing is ready or delayed (a parked key waits for Done, not for a time).
  // A delayed key that is being processed counts at its ready time.
  std::optional<SteadyTime> NextReadyTime() const;
  // Age of the oldest key being processed (a stuck-worker signal); zero when none is.
  Duration LongestProcessing() const;

 private:
  enum class Where { kNone, kReady, kDelayed, kParked };

  struct Entry {
    Where where = Where::kNone;
    Priority priority = Priority::kLow;
    SteadyTime ready_at{};  // when the pending entry is (or was) due; its FIFO position
    std::uint64_t seq = 0;  // ties between equal ready_at keep insertion order
    bool processing = false;
    SteadyTime processing_since{};
  };

  // Ready set order: higher priority first, then earlier ready time, then insertion order.
  // The sets point at the key of the entry in entries_ (stable while it is in a set: an entry
  // is erased only when in none), so each key is held once (docs/benchmarks.md). The pointer
  // is never what orders two entries: each entry's seq is unique.
  using ReadyKey = std::tuple<int, SteadyTime, std::uint64_t, const std::string*>;
  using DelayedKey = std::tuple<SteadyTime, std::uint64_t, const std::string*>;
  using ProcessingKey = std::pair<SteadyTime, const std::string*>;

  void AddLocked(const std::string& key, SteadyTime ready_at, Priority p, SteadyTime now);
  std::optional<Item> TryGetLocked(SteadyTime now);
  std::optional<SteadyTime> NextReadyLocked(SteadyTime now) const;
  void PromoteDueLocked(SteadyTime now);
  // `key` is the key of e's node in entries_.
  void Unplace(const std::string& key, Entry& e);
  void Place(const std::string& key, Entry& e, SteadyTime now);
  std::size_t DueLocked(SteadyTime now, bool count_processing) const;
  void ReportDepthIfChangedLocked(std::size_t ready_before);
  void ChangedLocked();
  std::optional<SteadyTime> DelayedHeadLocked() const;
  // Wakes the waiting workers only if one may act now: work is ready, the earliest delayed
  // time moved before `head_before` (what they sleep until), or the queue shut down.
  void WakeIfNeededLocked(std::optional<SteadyTime> head_before);

  const Clock& clock_;
  WorkQueueObserver* const observer_;
  const Duration low_priority_slot_;
  ItemBackoff backoff_;  // thread-safe on its own

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  std::set<ReadyKey> ready_;                        // guarded by mu_
  std::set<DelayedKey> delayed_;                    // guarded by mu_
  std::set<ProcessingKey> processing_;              // guarded by mu_
  std::uint64_t next_seq_ = 0;                      // guarded by mu_
  std::uint64_t generation_ = 0;                    // guarded by mu_; bumped on every wake
  bool shut_down_ = false;                          // guarded by mu_
  bool timed_waiter_ = false;  // guarded by mu_; a Get sleeps until the next ready time
};

}  // namespace mactl
