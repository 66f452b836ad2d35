// The real modelarts-sim binary: start-up line, port file, serving, SIGTERM → exit 0,
// and one-line errors with exit 1.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "httplib.h"
#include "nlohmann/json.hpp"

namespace {

struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Starts the simulator with stdout and stderr on pipes.
Child Spawn(const std::vector<std::string>& args) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<char*> argv;
    std::string bin = MACTL_SIM_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return {pid, out[0], err[0]};
}

// Reads until EOF or a newline (blocking: the child writes it when ready, or exits).
std::string ReadLine(int fd) {
  std::string line;
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

std::string ReadAll(int fd) {
  std::string text;
  char buf[512];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "simbin-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(SimBinaryTest, ServesTheSeedAndExitsCleanlyOnSigterm) {
  TempDir dir;
  const std::string port_file = (dir.path() / "port").string();
  Child child = Spawn({"--port-file", port_file, "--seed",
                       std::string(MACTL_SOURCE_DIR) + "/deploy/examples/sim-seed.json", "--token",
                       "tok", "--kill-delay", "100ms"});
  ASSERT_GT(child.pid, 0);
  const std::string line = ReadLine(child.stdout_fd);
  ASSERT_EQ(line.rfind("listening on 127.0.0.1:", 0), 0u) << line;
  const int port = std::stoi(line.substr(std::string("listening on 127.0.0.1:").size()));
  int file_port = 0;
  std::ifstream(port_file) >> file_port;
  EXPECT_EQ(file_port, port);

  httplib::Client client("127.0.0.1", port);
  const std::string jobs = "/v1/5f0c3e9a8b7d4e21a6c1d2e3f4a5b6c7/training-jobs";
  auto res = client.Get(jobs.c_str(), {{"X-Auth-Token", "tok"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["job_total_count"], 47);
  EXPECT_EQ(body["jobs"].size(), 10u);
  EXPECT_EQ(client.Get(jobs.c_str())->status, 401);
  auto stop =
      client.Post((jobs + "/10/versions/10/stop").c_str(), {{"X-Auth-Token", "tok"}}, "", "");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);

  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(child.pid), 0);
  // Exactly one line on stdout.
  EXPECT_EQ(ReadAll(child.stdout_fd), "");
  close(child.stdout_fd);
  close(child.stderr_fd);
}

TEST(SimBinaryTest, SigintAlsoStopsCleanly) {
  Child child = Spawn({"--generate", "5"});
  ASSERT_GT(child.pid, 0);
  ASSERT_EQ(ReadLine(child.stdout_fd).rfind("listening on ", 0), 0u);
  ASSERT_EQ(kill(child.pid, SIGINT), 0);
  EXPECT_EQ(WaitExit(child.pid), 0);
  close(child.stdout_fd);
  close(child.stderr_fd);
}

TEST(SimBinaryTest, BadFlagsAndSeedsExitOneWithOneLine) {
  TempDir dir;
  const std::string bad_seed = (dir.path() / "bad.json").string();
  std::ofstream(bad_seed) << R"({"projects":[{"project_id":"p","jobs":[{"job_id":1}]}]})";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"},
        {"--kill-delay", "soon"},
        {"--seed", bad_seed},
        {"--seed", (dir.path() / "missing.json").string()}}) {
    SCOPED_TRACE(args[0]);
    Child child = Spawn(args);
    ASSERT_GT(child.pid, 0);
    EXPECT_EQ(WaitExit(child.pid), 1);
    EXPECT_EQ(ReadAll(child.stdout_fd), "");
    const std::string err = ReadAll(child.stderr_fd);
    EXPECT_EQ(err.rfind("modelarts-sim: ", 0), 0u) << err;
    ASSERT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
    close(child.stdout_fd);
    close(child.stderr_fd);
  }
}

}  // namespace
