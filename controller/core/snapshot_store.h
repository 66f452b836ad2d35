#pragma once

// The current desired state, shared between the thread that applies manifest scans (the
// Manager writes it) and the workers that reconcile against it (the Reconciler reads it).
// Snapshots are immutable and swapped in whole, so a reader keeps a consistent view for as
// long as it holds its pointer.

#include <memory>
#include <mutex>
#include <utility>

#include "controller/core/desired_snapshot.h"

namespace mactl {

class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const DesiredSnapshot>()) {}
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Never null: empty until the first Exchange.
  std::shared_ptr<const DesiredSnapshot> Current() const {
    std::lock_guard lock(mu_);
    return current_;
  }

  // Installs `next` and returns the snapshot it replaces.
  std::shared_ptr<const DesiredSnapshot> Exchange(std::shared_ptr<const DesiredSnapshot> next) {
    std::lock_guard lock(mu_);
    std::swap(current_, next);
    return next;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DesiredSnapshot> current_;  // guarded by mu_
};

}  // namespace mactl
