// `promtool check metrics` on a live scrape of the daemon must print nothing.

#include <gtest/gtest.h>

#include <cstdio>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

TEST(Promtool, LiveScrapePassesCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/test.sh installs it)";
  }
  TempDir dir;
  Simulator sim(dir);
  const fs::path manifests = fs::path(MACTL_SOURCE_DIR) / "deploy/examples/manifests";
  Controller controller(dir, manifests, sim.endpoint());
  ASSERT_TRUE(WaitFor([&] { return controller.Status().value("ready", false); }));
  ASSERT_TRUE(WaitFor([&] { return controller.Phase("bert-finetune-v10") == "Converged"; }));
  const fs::path scrape = dir.path() / "scrape.txt";
  WriteFile(scrape, controller.Metrics());
  const std::string command = "promtool check metrics < " + scrape.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << output;

  // Content type Prometheus 3 accepts.
  httplib::Client client("127.0.0.1", controller.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace mactl::integration
