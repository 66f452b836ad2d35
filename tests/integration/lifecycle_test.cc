// Signals and start-up as an operator meets them, each checked by what the daemon does rather
// than by what it logs: the systemd watchdog and reload protocol, SIGTERM draining a
// reconcile in flight, SIGINT, the plain-http warning, --token-file (and its rotation) and a
// manifest for a second project (spec.projectId).

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kRunning = 8;
constexpr int kKilling = 9;
constexpr int kKilled = 12;

bool Stopping(const Simulator& sim, int job, int version, const std::string& project = kProject) {
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", project) == project && v.value("job_id", 0) == job &&
        v.value("version_id", 0) == version) {
      const int s = v.value("status", -1);
      return s == kKilling || s == kKilled;
    }
  }
  return false;
}

// The API requests the simulator saw for `operation`, with their final HTTP status (0 while
// still being answered).
std::vector<json> RequestsFor(const Simulator& sim, const std::string& operation) {
  std::vector<json> out;
  for (const json& r : sim.Requests()) {
    if (r.value("operation", "") == operation) out.push_back(r);
  }
  return out;
}

bool Logged(const Controller& controller, const std::string& msg) {
  for (const json& line : controller.LogLines()) {
    if (line.value("msg", "") == msg) return true;
  }
  return false;
}

// A bound unix datagram socket in `dir`, read like systemd reads NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~NotifySocket() { close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_.string(); }
  // The next datagram; "" after 10 s without one.
  std::string Receive() const {
    char buf[1024];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  // Datagrams until one contains `state` (or 10 s pass without any); all of them, in order.
  std::vector<std::string> ReceiveUntil(const std::string& state) const {
    std::vector<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      seen.push_back(Receive());
      if (seen.back().empty() || seen.back().find(state) != std::string::npos) break;
    }
    return seen;
  }

 private:
  fs::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string Joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += "[" + p + "]";
  return out;
}

TEST(Lifecycle, WatchdogPingsAndSighupSendsReloadingThenReady) {
  TempDir dir;
  Simulator sim(dir);
  const NotifySocket notify(dir.path() / "notify.sock");
  ASSERT_TRUE(notify.bound());
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  // systemd asks for a ping at least every 400 ms; the daemon pings at half of that.
  Controller controller(dir, manifests, sim.endpoint(), {},
                        {"OS_TOKEN=" + kToken, notify.env(), "WATCHDOG_USEC=400000"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  const std::vector<std::string> start = notify.ReceiveUntil("READY=1");
  ASSERT_NE(start.back().find("READY=1"), std::string::npos) << Joined(start);
  // Several pings within two seconds: a missing one would have systemd restart the daemon.
  int pings = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    const std::string d = notify.Receive();
    ASSERT_FALSE(d.empty()) << "no datagram for 10 s";
    if (d == "WATCHDOG=1") ++pings;
  }
  EXPECT_GE(pings, 5);

  controller.process().Signal(SIGHUP);
  const std::vector<std::string> reload = notify.ReceiveUntil("RELOADING=1");
  ASSERT_NE(reload.back().find("RELOADING=1"), std::string::npos) << Joined(reload);
  const std::vector<std::string> ready = notify.ReceiveUntil("READY=1");
  EXPECT_NE(ready.back().find("READY=1"), std::string::npos) << Joined(ready);
  // Still pinging after the reload.
  const std::vector<std::string> after = notify.ReceiveUntil("WATCHDOG=1");
  EXPECT_EQ(after.back(), "WATCHDOG=1") << Joined(after);

  controller.process().Signal(SIGTERM);
  const std::vector<std::string> stopping = notify.ReceiveUntil("STOPPING=1");
  EXPECT_NE(stopping.back().find("STOPPING=1"), std::string::npos) << Joined(stopping);
  EXPECT_EQ(controller.process().Wait(), 0);
}

TEST(Lifecycle, SigtermWaitsForTheStopInFlightAndExitsZero) {
  TempDir dir;
  Simulator sim(dir);
  // The stop takes 2 s to be answered: SIGTERM arrives while it is in flight.
  ASSERT_TRUE(sim.AddFaults(json::array(
      {{{"operation", "stop"}, {"job_id", 10}, {"count", 1}, {"type", "latency"}, {"ms", 2000}}})));
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint(), {"--shutdown-grace", "15s"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ASSERT_TRUE(WaitFor([&] { return !RequestsFor(sim, "stop").empty(); }));
  ASSERT_EQ(RequestsFor(sim, "stop")[0].value("status", -1), 0);  // not answered yet

  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(std::chrono::seconds(20)), 0)
      << controller.process().Stdout();
  // The drain let the stop finish instead of cutting it: it was answered and carried out,
  // and the daemon knew (no error logged for it, nothing left to retry after a restart).
  const std::vector<json> stops = RequestsFor(sim, "stop");
  ASSERT_EQ(stops.size(), 1u) << sim.Requests().dump(1);
  EXPECT_EQ(stops[0].value("status", -1), 200);
  EXPECT_EQ(sim.StopCalls(10, 10), 1);
  EXPECT_TRUE(Stopping(sim, 10, 10));
  EXPECT_TRUE(Logged(controller, "stop requested")) << controller.process().Stdout();
  EXPECT_FALSE(Logged(controller,
                      "in-flight reconciles did not finish in time; aborting their "
                      "requests"));
  EXPECT_TRUE(Logged(controller, "stopped"));
}

TEST(Lifecycle, SigintShutsDownCleanlyLikeSigterm) {
  TempDir dir;
  Simulator sim(dir);
  const NotifySocket notify(dir.path() / "notify.sock");
  ASSERT_TRUE(notify.bound());
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint(), {}, {"OS_TOKEN=" + kToken, notify.env()});
  ASSERT_TRUE(WaitFor([&] { return controller.Status().value("ready", false); }));
  controller.process().Signal(SIGINT);
  EXPECT_EQ(controller.process().Wait(), 0) << controller.process().Stdout();
  bool saw = false;
  for (const json& line : controller.LogLines()) {
    saw = saw || (line.value("msg", "") == "shutting down" && line.value("signal", "") == "SIGINT");
  }
  EXPECT_TRUE(saw) << controller.process().Stdout();
  EXPECT_TRUE(Logged(controller, "stopped"));
  const std::vector<std::string> stopping = notify.ReceiveUntil("STOPPING=1");
  EXPECT_NE(stopping.back().find("STOPPING=1"), std::string::npos) << Joined(stopping);
}

TEST(Lifecycle, PlainHttpEndpointIsWarnedAboutOnceAndHttpsIsNot) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  int warnings = 0;
  for (const json& line : controller.LogLines()) {
    if (line.value("msg", "") ==
        "endpoint uses plain http; credentials and data are not "
        "encrypted") {
      ++warnings;
      EXPECT_EQ(line.value("level", ""), "warning") << line.dump();
    }
  }
  EXPECT_EQ(warnings, 1) << controller.process().Stdout();

  // An https endpoint (nothing listens; only the start-up log matters) gets no warning.
  Controller https(dir, manifests, "https://127.0.0.1:9", {}, {}, "https-controller");
  ASSERT_GT(https.port(), 0) << https.process().Stdout();
  EXPECT_FALSE(Logged(https, "endpoint uses plain http; credentials and data are not encrypted"))
      << https.process().Stdout();
}

TEST(Lifecycle, TokenFileIsUsedAndReReadWhenItChanges) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path token_file = dir.path() / "secret" / "token";
  // A stale token first: every call is refused, nothing is stopped.
  WriteFile(token_file, "stale-token-not-accepted\n");
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint(), {"--token-file", token_file.string()},
                        {"PATH=/usr/bin:/bin"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ASSERT_TRUE(WaitFor([&] {
    for (const json& r : sim.Requests()) {
      if (r.value("status", 0) == 401) return true;
    }
    return false;
  })) << sim.Requests().dump(1);
  // The refusal reaches /status once the reconcile that met it has ended.
  EXPECT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Error"; }))
      << controller.Status().dump(1);
  EXPECT_EQ(sim.StopCalls(10, 10), 0);

  // The Secret is rotated (written by rename, as the kubelet does): the next call uses it.
  WriteFile(dir.path() / "secret" / "token.new", kToken + "\n");
  fs::rename(dir.path() / "secret" / "token.new", token_file);
  ASSERT_TRUE(WaitFor([&] { return Stopping(sim, 10, 10); })) << controller.Status().dump(1);
  EXPECT_EQ(sim.StopCalls(10, 10), 1);
  EXPECT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Converged"; }));
  EXPECT_EQ(controller.process().Stdout().find(kToken), std::string::npos);
  controller.process().Signal(SIGTERM);
  EXPECT_EQ(controller.process().Wait(), 0);
}

// Two projects in the simulator; kProject is --project-id, the other is named only by the
// manifest.
const std::string kSecondProject = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";

fs::path WriteTwoProjectSeed(const TempDir& dir) {
  const json version_running = {{"version_id", 1}, {"status", kRunning}};
  const json seed = {
      {"projects",
       json::array({{{"project_id", kProject},
                     {"jobs", json::array({{{"job_id", 10},
                                            {"job_name", "first"},
                                            {"versions", json::array({version_running})}}})}},
                    {{"project_id", kSecondProject},
                     {"jobs", json::array({{{"job_id", 10},
                                            {"job_name", "second"},
                                            {"versions", json::array({version_running})}}})}}})}};
  const fs::path path = dir.path() / "two-projects.json";
  WriteFile(path, seed.dump(1));
  return path;
}

TEST(Lifecycle, SpecProjectIdStopsTheVersionInThatProjectOnly) {
  TempDir dir;
  Simulator sim(dir, {}, WriteTwoProjectSeed(dir).string());
  ASSERT_GT(sim.port(), 0);
  const fs::path manifests = dir.path() / "m";
  // The same job and version ids in both projects: only the named project's is stopped.
  std::string manifest = Manifest("second-v1", 10, 1, "Stopped");
  manifest += "  projectId: " + kSecondProject + "\n";
  WriteFile(manifests / "second.yaml", manifest);
  WriteFile(manifests / "first.yaml", Manifest("first-v1", 10, 1, "Running"));
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();

  ASSERT_TRUE(WaitFor([&] { return Stopping(sim, 10, 1, kSecondProject); })) << sim.Versions();
  EXPECT_TRUE(WaitFor([&] { return controller.Phase("second-v1") == "Converged"; }));
  EXPECT_EQ(controller.Object("second-v1").value("projectId", ""), kSecondProject);
  EXPECT_EQ(controller.Phase("first-v1"), "Converged");
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", "") == kProject) {
      EXPECT_EQ(v.value("status", -1), kRunning) << v.dump();
      EXPECT_EQ(v.value("stop_calls", -1), 0) << v.dump();
    } else {
      EXPECT_EQ(v.value("stop_calls", -1), 1) << v.dump();
    }
  }
  for (const json& r : RequestsFor(sim, "stop")) {
    EXPECT_NE(r.value("path", "").find("/v1/" + kSecondProject + "/"), std::string::npos)
        << r.dump();
  }
}

}  // namespace
}  // namespace mactl::integration
