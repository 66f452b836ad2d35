// What an operator relies on: /readyz, /healthz, JSON logs, the systemd notify
// protocol and a clean SIGTERM.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

TEST(Ops, ReadyzTurnsReadyAfterTheFirstObservation) {
  TempDir dir;
  Simulator sim(dir);
  ASSERT_TRUE(sim.AddFaults(json::array(
      {{{"operation", "get_version"}, {"count", 1}, {"type", "latency"}, {"ms", 2500}}})));
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint());
  EXPECT_EQ(GetStatusCode(controller.port(), "/readyz"), 503);
  EXPECT_EQ(GetStatusCode(controller.port(), "/healthz"), 200);
  ASSERT_TRUE(WaitFor([&] { return GetStatusCode(controller.port(), "/readyz") == 200; }));
}

TEST(Ops, HealthzFailsWhileTheLoopIsWedged) {
  TempDir dir;
  Simulator sim(dir);
  ASSERT_TRUE(sim.AddFaults(json::array(
      {{{"operation", "get_version"}, {"count", 1}, {"type", "latency"}, {"ms", 6000}}})));
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint(), {"--stuck-after", "1s"});
  std::string body;
  ASSERT_TRUE(WaitFor([&] { return GetStatusCode(controller.port(), "/healthz", &body) == 500; }));
  EXPECT_NE(body.find("running for"), std::string::npos) << body;
  // Once the slow call returns, the loop is healthy again.
  EXPECT_TRUE(WaitFor([&] { return GetStatusCode(controller.port(), "/healthz") == 200; }));
}

TEST(Ops, EveryLogLineIsOneJsonObject) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("bert-finetune-v10", 10, 10, "Stopped"));
  WriteFile(manifests / "b.yaml", "kind: \"quote\\\" and\\nnewline\"\n");
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return sim.StopCalls(10, 10) == 1; }));
  controller.process().Signal(SIGTERM);
  ASSERT_EQ(controller.process().Wait(), 0);
  bool saw_stop = false;
  const std::vector<json> lines = controller.LogLines();
  ASSERT_GT(lines.size(), 3u);
  for (const json& line : lines) {
    ASSERT_TRUE(line.is_object()) << controller.process().Stdout();
    EXPECT_TRUE(line.contains("ts"));
    EXPECT_TRUE(line.contains("level"));
    EXPECT_TRUE(line.contains("msg"));
    if (line.value("msg", "") == "stop requested") {
      saw_stop = true;
      EXPECT_EQ(line.value("object", ""), "bert-finetune-v10");
      EXPECT_EQ(line.value("action", ""), "stop");
      EXPECT_EQ(line.value("key", ""), kProject + "/10/10");
    }
  }
  EXPECT_TRUE(saw_stop);
  EXPECT_EQ(controller.process().Stdout().find(kToken), std::string::npos);
}

TEST(Ops, SendsReadyAndStoppingToTheNotifySocket) {
  TempDir dir;
  Simulator sim(dir);
  const fs::path socket_path = dir.path() / "notify.sock";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

  const fs::path manifests = dir.path() / "m";
  WriteFile(manifests / "a.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
  Controller controller(dir, manifests, sim.endpoint(), {},
                        {"OS_TOKEN=" + kToken, "NOTIFY_SOCKET=" + socket_path.string()});
  auto receive = [&] {
    char buf[512];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };
  EXPECT_NE(receive().find("READY=1"), std::string::npos);
  controller.process().Signal(SIGTERM);
  std::string stopping;
  for (int i = 0; i < 5 && stopping.find("STOPPING=1") == std::string::npos; ++i) {
    stopping = receive();
  }
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos);
  EXPECT_EQ(controller.process().Wait(), 0);
  close(fd);
}

TEST(Ops, UnknownLogLevelIsAnError) {
  TempDir dir;
  Process p(MACTL_CONTROLLER_BIN,
            {"validate", "--manifests", dir.path().string(), "--log-level", "verbose"}, dir.path(),
            "level");
  EXPECT_EQ(p.Wait(), 1);
  EXPECT_NE(p.Stderr().find("unknown log level"), std::string::npos);
}

}  // namespace
}  // namespace mactl::integration
