#pragma once

// The standard process_* series (prometheus-cpp 1.0.1 has no process collector),
// read from /proc/self at scrape time the way client_golang does.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "controller/base/clock.h"

namespace mactl {

class ProcessMetrics final : public prometheus::Collectable {
 public:
  // start_time: when the process started (recorded by main; /proc/stat may be hidden
  // under systemd's ProcSubset=pid).
  explicit ProcessMetrics(WallTime start_time);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_;
};

}  // namespace mactl
