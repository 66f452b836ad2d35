// A real Prometheus server (Debian's `prometheus`) scrapes the running daemon with
// deploy/prometheus/scrape.yaml and evaluates deploy/prometheus/alerts.yaml: the target is up,
// every rule evaluates without error, no alert is pending while the daemon is healthy, and the
// API-error alert goes pending when every ModelArts call fails.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <regex>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

// A loopback port free at the moment of asking (Prometheus cannot report a port it chose).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The shipped scrape configuration with only the target and the intervals changed (30 s would
// make the test take minutes), and the shipped rules file beside it.
void WriteConfig(const fs::path& dir, int daemon_port) {
  const fs::path deploy = fs::path(MACTL_SOURCE_DIR) / "deploy/prometheus";
  std::string config = ReadFile(deploy / "scrape.yaml");
  config = std::regex_replace(config, std::regex("127\\.0\\.0\\.1:8080"),
                              "127.0.0.1:" + std::to_string(daemon_port));
  config = std::regex_replace(config, std::regex("(interval: )30s"), "$011s");
  config = std::regex_replace(config, std::regex("scrape_timeout: 10s"), "scrape_timeout: 1s");
  WriteFile(dir / "prometheus.yml", config);
  fs::copy_file(deploy / "alerts.yaml", dir / "alerts.yaml");
}

class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, int daemon_port) : port_(FreePort()) {
    const fs::path home = dir.path() / "prometheus";
    fs::create_directories(home / "data");
    WriteConfig(home, daemon_port);
    process_ = std::make_unique<Process>(
        "/usr/bin/prometheus",
        std::vector<std::string>{"--config.file=" + (home / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (home / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir.path(), "prometheus");
  }
  json Api(const std::string& path) const {
    const json answer = GetJson(port_, "/api/v1/" + path);
    return answer.is_object() && answer.value("status", "") == "success" ? answer["data"] : json();
  }
  // Every alert of the rules file with its state ("inactive", "pending", "firing").
  std::map<std::string, std::string> AlertStates() const {
    std::map<std::string, std::string> states;
    const json data = Api("rules");
    if (!data.is_object()) return states;
    for (const json& group : data["groups"]) {
      for (const json& rule : group["rules"]) {
        if (rule.value("type", "") == "alerting") {
          states[rule.value("name", "")] = rule.value("state", "");
        }
      }
    }
    return states;
  }
  // Every rule's health: how many there are, how many evaluated fine, which failed and why.
  struct Health {
    int rules = 0;
    int evaluated = 0;
    std::vector<std::string> failing;
  };
  Health RuleHealth() const {
    Health out;
    const json data = Api("rules");
    if (!data.is_object()) return {0, 0, {"no answer from /api/v1/rules"}};
    for (const json& group : data["groups"]) {
      for (const json& rule : group["rules"]) {
        const std::string health = rule.value("health", "");
        ++out.rules;
        if (health == "ok") ++out.evaluated;
        if (health == "err") {
          out.failing.push_back(rule.value("name", "") + ": " + rule.value("lastError", ""));
        }
      }
    }
    return out;
  }
  Process& process() { return *process_; }

 private:
  int port_;
  std::unique_ptr<Process> process_;
};

bool TargetUp(const PrometheusServer& prometheus) {
  const json data = prometheus.Api("query?query=up%7Bjob%3D%22modelarts-controller%22%7D");
  if (!data.is_object() || data["result"].size() != 1) return false;
  return data["result"][0]["value"][1] == "1";
}

bool OnlyConverged(const Controller& controller) {
  const json objects = controller.Status().value("objects", json::array());
  if (objects.empty()) return false;
  for (const json& o : objects) {
    if (o.value("phase", "") != "Converged") return false;
  }
  return true;
}

TEST(Prometheus, ScrapesTheDaemonAndEvaluatesEveryShippedRule) {
  if (!fs::exists("/usr/bin/prometheus")) {
    GTEST_SKIP() << "prometheus not installed (scripts/test.sh installs it)";
  }
  TempDir dir;
  Simulator sim(dir);
  // Objects that all converge (the examples keep a Drifted one on purpose, which is an alert).
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped") + "---\n" +
                                      Manifest("yolo-eval-v1", 13, 1, "Stopped") + "---\n" +
                                      Manifest("gpt-pretrain-v2", 12, 2, "Running"));
  Controller controller(dir, manifests, sim.endpoint(), {"--resync", "1s"});
  ASSERT_TRUE(WaitFor([&] { return controller.Status().value("ready", false); }));
  PrometheusServer prometheus(dir, controller.port());

  ASSERT_TRUE(WaitFor([&] { return TargetUp(prometheus); }, std::chrono::seconds(60)))
      << prometheus.process().Stderr();
  // Every rule has been evaluated (health "ok") and none failed to evaluate.
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto health = prometheus.RuleHealth();
        return health.rules > 0 && health.failing.empty() && health.evaluated == health.rules;
      },
      std::chrono::seconds(60)))
      << ::testing::PrintToString(prometheus.RuleHealth().failing);
  // Healthy (every object converged): over several evaluations no alert is pending or firing.
  ASSERT_TRUE(WaitFor([&] { return OnlyConverged(controller); }, std::chrono::seconds(30)));
  for (int evaluation = 0; evaluation < 4; ++evaluation) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // one evaluation interval
    for (const auto& [name, state] : prometheus.AlertStates()) {
      EXPECT_EQ(state, "inactive") << name;
    }
  }

  // Every ModelArts call now fails with a 503: the API-error alert goes pending.
  ASSERT_TRUE(sim.AddFaults(json::array(
      {{{"operation", "any"}, {"count", -1}, {"type", "status"}, {"http_status", 503}}})));
  EXPECT_TRUE(
      WaitFor([&] { return prometheus.AlertStates()["ModelArtsControllerApiErrors"] == "pending"; },
              std::chrono::seconds(60)))
      << ::testing::PrintToString(prometheus.AlertStates());
  EXPECT_TRUE(prometheus.RuleHealth().failing.empty());
}

}  // namespace
}  // namespace mactl::integration
