#include "controller/runtime/process_metrics.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mactl {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type, double value) {
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return MetricFamily{std::move(name), std::move(help), type, {metric}};
}

struct StatFields {
  double cpu_seconds = 0;
  double rss_bytes = 0;
  double virtual_bytes = 0;
  bool ok = false;
};

StatFields ReadSelfStat() {
  StatFields out;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return out;
  // The command name (field 2) may contain spaces; fields resume after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Fields from 3 (state) on; utime=14, stime=15, vsize=23, rss=24 (1-based).
  double utime = 0, stime = 0, vsize = 0, rss = 0;
  for (int index = 3; rest >> field && index <= 24; ++index) {
    if (index == 14) utime = std::stod(field);
    if (index == 15) stime = std::stod(field);
    if (index == 23) vsize = std::stod(field);
    if (index == 24) rss = std::stod(field);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  out.cpu_seconds = (utime + stime) / ticks;
  out.rss_bytes = rss * page;
  out.virtual_bytes = vsize;
  out.ok = true;
  return out;
}

double CountOpenFds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

double ReadMaxFds() {
  std::ifstream in("/proc/self/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields(line.substr(14));
      std::string soft;
      fields >> soft;
      if (soft == "unlimited") return 0;
      try {
        return std::stod(soft);
      } catch (const std::exception&) {
        return 0;
      }
    }
  }
  return 0;
}

}  // namespace

ProcessMetrics::ProcessMetrics(WallTime start_time)
    : start_time_seconds_(std::chrono::duration<double>(start_time.time_since_epoch()).count()) {}

std::vector<MetricFamily> ProcessMetrics::Collect() const {
  std::vector<MetricFamily> out;
  StatFields stat;
  try {
    stat = ReadSelfStat();
  } catch (const std::exception&) {
    stat.ok = false;  // an unreadable /proc never breaks a scrape
  }
  if (stat.ok) {
    out.push_back(Family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         stat.cpu_seconds));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, stat.rss_bytes));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, stat.virtual_bytes));
  }
  out.push_back(Family("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       start_time_seconds_));
  out.push_back(Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                       CountOpenFds()));
  if (const double max_fds = ReadMaxFds(); max_fds > 0) {
    out.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, max_fds));
  }
  return out;
}

}  // namespace mactl
