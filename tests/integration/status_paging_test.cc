// /status filtered and paged, and `get` built on it, against the real daemon: more objects than
// one `get` page, hostile query values answered 400 while the daemon keeps serving.

#include <gtest/gtest.h>

#include <algorithm>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kExtra = 1100;  // more than two of get's 500-object pages

int RunCli(const TempDir& dir, const std::vector<std::string>& args, std::string* out,
           const std::string& name) {
  Process p(MACTL_CONTROLLER_BIN, args, dir.path(), name, {});
  const int code = p.Wait();
  *out = p.Stdout() + p.Stderr();
  return code;
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class StatusPaging : public ::testing::Test {
 protected:
  StatusPaging() {
    std::string many;
    for (int i = 0; i < kExtra; ++i) {
      // Desired Running and absent from the simulator: an error, never acted on.
      many += Manifest("obj-" + std::to_string(10000 + i), 50000 + i, 1, "Running") + "---\n";
    }
    WriteFile(manifests_ / "many.yaml", many);
    WriteFile(manifests_ / "yolo.yaml", Manifest("yolo-eval-v1", 13, 1, "Stopped"));
    WriteFile(manifests_ / "bad.yaml", "apiVersion: [\n");
    controller_ = std::make_unique<Controller>(dir_, manifests_, sim_.endpoint(),
                                               std::vector<std::string>{"--qps", "1000"});
  }

  std::string Server() const { return "http://127.0.0.1:" + std::to_string(controller_->port()); }

  TempDir dir_;
  Simulator sim_{dir_};
  fs::path manifests_ = dir_.path() / "m";
  std::unique_ptr<Controller> controller_;
};

TEST_F(StatusPaging, GetPagesThroughEveryObjectAndFilters) {
  ASSERT_TRUE(WaitFor([&] { return controller_->Phase("yolo-eval-v1") == "Converged"; }));
  const json whole = controller_->Status();
  ASSERT_EQ(whole.at("objects").size(), static_cast<std::size_t>(kExtra + 1));
  EXPECT_FALSE(whole.contains("continue"));

  std::string out;
  ASSERT_EQ(RunCli(dir_, {"get", "--server", Server()}, &out, "get-all"), 0) << out;
  EXPECT_EQ(Count(out, "\nobj-1"), static_cast<std::size_t>(kExtra));
  EXPECT_EQ(Count(out, "yolo-eval-v1"), 1u);
  EXPECT_EQ(Count(out, "bad.yaml:"), 1u) << "manifest errors once, not once per page";

  ASSERT_EQ(RunCli(dir_, {"get", "--server", Server(), "yolo-eval-v1"}, &out, "get-one"), 0);
  EXPECT_EQ(Count(out, "\nobj-1"), 0u) << out;
  EXPECT_EQ(Count(out, "yolo-eval-v1"), 1u) << out;

  ASSERT_EQ(
      RunCli(dir_, {"get", "--server", Server(), "-l", "phase=Converged,kind=TrainingJobVersion"},
             &out, "get-converged"),
      0);
  EXPECT_EQ(Count(out, "yolo-eval-v1"), 1u) << out;
  // Their jobs are not on the simulator: never Converged.
  EXPECT_EQ(Count(out, "\nobj-1"), 0u) << out;

  EXPECT_EQ(RunCli(dir_, {"get", "--server", Server(), "no-such-object"}, &out, "get-none"), 1);
  EXPECT_NE(out.find("no object named \"no-such-object\""), std::string::npos) << out;
  EXPECT_EQ(RunCli(dir_, {"get", "--server", Server(), "-l", "phase=Bogus"}, &out, "get-bad"), 1);
  EXPECT_NE(out.find("refused the query: phase: want Pending"), std::string::npos) << out;
}

TEST_F(StatusPaging, PagesAreChunkedAndHostileQueriesAre400) {
  ASSERT_TRUE(WaitFor([&] { return controller_->Object("yolo-eval-v1").is_object(); }));
  httplib::Client client("127.0.0.1", controller_->port());
  client.set_read_timeout(10, 0);
  const auto page = client.Get("/status?limit=2&kind=TrainingJobVersion");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Transfer-Encoding"), "chunked");
  const json first = json::parse(page->body);
  EXPECT_EQ(first.at("objects").size(), 2u);
  EXPECT_EQ(first.at("objects")[0].at("name"), "obj-10000");
  ASSERT_TRUE(first.contains("continue"));
  const auto next =
      client.Get("/status?limit=2&continue=" + first.at("continue").get<std::string>());
  ASSERT_TRUE(next);
  EXPECT_EQ(json::parse(next->body).at("objects")[0].at("name"), "obj-10002");

  for (const std::string query :
       {"limit=0", "limit=99999999999999999999999999", "limit=-5", "continue=%00%ff",
        "continue=garbage!", "phase=", "kind=Pod", "name=", "frobnicate=1", "limit=1&limit=2"}) {
    const auto res = client.Get("/status?" + query);
    ASSERT_TRUE(res) << query;
    EXPECT_EQ(res->status, 400) << query;
    const json error = json::parse(res->body, nullptr, false);
    EXPECT_TRUE(error.is_object() && error.contains("error")) << query << ": " << res->body;
  }
  EXPECT_EQ(GetStatusCode(controller_->port(), "/healthz"), 200);
  EXPECT_TRUE(controller_->process().Running());
}

}  // namespace
}  // namespace mactl::integration
