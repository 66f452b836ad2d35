#pragma once

// Runs the real modelarts-sim and modelarts-controller binaries over loopback for the
// integration tests: temporary directories, processes with captured output, signals,
// and bounded polling (the processes are real, so waiting on them is real too).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mactl::integration {

using nlohmann::json;
namespace fs = std::filesystem;

inline const std::string kProject = "5f0c3e9a8b7d4e21a6c1d2e3f4a5b6c7";
inline const std::string kToken = "integration-test-token-0123456789";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mactl-it-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `condition` every 50 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// A child process whose stdout and stderr go to files in `dir`.
class Process {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args, const fs::path& dir,
          const std::string& name, const std::vector<std::string>& env = {})
      : stdout_path_(dir / (name + ".stdout")), stderr_path_(dir / (name + ".stderr")) {
    pid_ = fork();
    if (pid_ == 0) {
      const int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv;
      std::string bin = binary;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Process() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // Sanitizer builds: let the child shut down on its own first, so that its exit-time
    // checks (LeakSanitizer; races and thread leaks in the shutdown path) run too; SIGKILL
    // would skip them.
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGTERM);
      Wait(std::chrono::seconds(10));
    }
#endif
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait(std::chrono::seconds(5));
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The test presets make a report end the child with SIGABRT (ASan, LSan, UBSan) or exit
    // code 66 (TSan), which no test expects. Fail the test that started it: ASan and TSan
    // reports are also in the build's sanitizer-logs/, but UBSan in an ASan build writes
    // only to stderr, which is a file in the test's temporary directory.
    if (exited_ && (exit_code_ == 128 + SIGABRT || exit_code_ == 66)) {
      ADD_FAILURE() << "child " << pid_ << " was stopped by a sanitizer (exit " << exit_code_
                    << "); its stderr:\n"
                    << Stderr();
    }
#endif
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig) const { kill(pid_, sig); }
  // Exit code, 128+signal, or -1 if still running at the deadline.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (exited_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Stderr() const { return ReadFile(stderr_path_); }

 private:
  fs::path stdout_path_;
  fs::path stderr_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

inline json GetJson(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto res = client.Get(path);
  if (!res || res->status != 200) return json();
  return json::parse(res->body, nullptr, false);
}

inline int GetStatusCode(int port, const std::string& path, std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  auto res = client.Get(path);
  if (!res) return 0;
  if (body != nullptr) *body = res->body;
  return res->status;
}

// Starts modelarts-sim with exactly `args` plus --listen 127.0.0.1:0 and --port-file,
// and returns its port (0 if it never wrote one). For credential and TLS set-ups that
// Simulator's fixed --token does not fit.
inline int StartSimProcess(std::unique_ptr<Process>& process, const TempDir& dir,
                           std::vector<std::string> args, const std::string& name = "sim") {
  const fs::path port_file = dir.path() / (name + ".port");
  args.insert(args.end(), {"--listen", "127.0.0.1:0", "--port-file", port_file.string()});
  process = std::make_unique<Process>(MACTL_SIM_BIN, args, dir.path(), name);
  int port = 0;
  WaitFor([&] {
    const std::string text = ReadFile(port_file);
    if (!text.empty()) port = std::stoi(text);
    return port > 0 || !process->Running();
  });
  return port;
}

// Tag for the Simulator constructor that passes exactly the given arguments.
struct ExactArgs {};

// The simulator, seeded with the demo set unless told otherwise.
class Simulator {
 public:
  explicit Simulator(const TempDir& dir, std::vector<std::string> extra = {},
                     const std::string& seed = std::string(MACTL_SOURCE_DIR) +
                                               "/deploy/examples/sim-seed.json") {
    const fs::path port_file = dir.path() / "sim.port";
    std::vector<std::string> args = {
        "--listen", "127.0.0.1:0", "--port-file", port_file.string(), "--seed",
        seed,       "--token",     kToken,        "--kill-delay",     "1s"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(MACTL_SIM_BIN, args, dir.path(), "sim");
    WaitFor([&] {
      const std::string text = ReadFile(port_file);
      if (text.empty()) return false;
      port_ = std::stoi(text);
      return port_ > 0;
    });
  }
  // Only `args` (plus --listen and --port-file): no seed, token or kill delay by default.
  Simulator(const TempDir& dir, ExactArgs, std::vector<std::string> args,
            const std::string& name = "sim") {
    port_ = StartSimProcess(process_, dir, std::move(args), name);
  }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  json Versions() const { return GetJson(port_, "/_sim/versions"); }
  json Requests() const { return GetJson(port_, "/_sim/requests"); }
  json Version(std::int64_t job, std::int64_t version) const {
    for (const json& v : Versions()) {
      if (v.value("job_id", 0) == job && v.value("version_id", 0) == version) return v;
    }
    return json();
  }
  int StopCalls(std::int64_t job, std::int64_t version) const {
    const json v = Version(job, version);
    return v.is_object() ? v.value("stop_calls", -1) : -1;
  }
  int StatusOf(std::int64_t job, std::int64_t version) const {
    const json v = Version(job, version);
    return v.is_object() ? v.value("status", -1) : -1;
  }
  bool AddFaults(const json& rules) const {
    httplib::Client client("127.0.0.1", port_);
    auto res = client.Post("/_sim/faults", json{{"rules", rules}}.dump(), "application/json");
    return res && res->status == 200;
  }
  bool SetStatus(std::int64_t job, std::int64_t version, int status,
                 const std::string& project = kProject) const {
    httplib::Client client("127.0.0.1", port_);
    auto res = client.Post(
        "/_sim/versions/" + project + "/" + std::to_string(job) + "/" + std::to_string(version),
        json{{"status", status}}.dump(), "application/json");
    return res && res->status == 200;
  }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// The daemon, with --listen 127.0.0.1:0 and JSON logs so the chosen port can be read.
class Controller {
 public:
  Controller(const TempDir& dir, const fs::path& manifests, const std::string& endpoint,
             std::vector<std::string> extra = {}, std::vector<std::string> env = {},
             const std::string& name = "controller") {
    std::vector<std::string> args = {"run",
                                     "--manifests",
                                     manifests.string(),
                                     "--endpoint",
                                     endpoint,
                                     "--project-id",
                                     kProject,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--log-format",
                                     "json",
                                     "--poll",
                                     "300ms",
                                     "--backoff-base",
                                     "200ms",
                                     "--rescan-interval",
                                     "2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (env.empty()) env.push_back("OS_TOKEN=" + kToken);
    process_ = std::make_unique<Process>(MACTL_CONTROLLER_BIN, args, dir.path(), name, env);
    WaitFor([&] {
      for (const json& line : LogLines()) {
        if (line.value("msg", "") == "http server listening") {
          const std::string address = line.value("address", "");
          port_ = std::stoi(address.substr(address.rfind(':') + 1));
          return true;
        }
      }
      return !process_->Running();
    });
  }
  int port() const { return port_; }
  std::vector<json> LogLines() const {
    std::vector<json> lines;
    std::istringstream in(process_->Stdout());
    for (std::string line; std::getline(in, line);) {
      lines.push_back(json::parse(line, nullptr, false));
    }
    return lines;
  }
  json Status() const { return GetJson(port_, "/status"); }
  json Object(const std::string& name) const {
    for (const json& o : Status().value("objects", json::array())) {
      if (o.value("name", "") == name) return o;
    }
    return json();
  }
  std::string Phase(const std::string& name) const {
    const json o = Object(name);
    return o.is_object() ? o.value("phase", "") : "";
  }
  std::string Metrics() const {
    std::string body;
    GetStatusCode(port_, "/metrics", &body);
    return body;
  }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// A throwaway CA and a server certificate it signed, made with the openssl CLI (test
// only). `subject_alt_names` is openssl's syntax, e.g. "IP:127.0.0.1,DNS:localhost".
struct TestPki {
  fs::path ca_cert;
  fs::path server_cert;
  fs::path server_key;
  bool ok = false;
  std::string log;  // openssl's output, for failure messages
};

inline TestPki MakeTestPki(const fs::path& dir,
                           const std::string& subject_alt_names = "IP:127.0.0.1,DNS:localhost") {
  fs::create_directories(dir);
  TestPki pki;
  pki.ca_cert = dir / "ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server.key";
  const fs::path ca_key = dir / "ca.key";
  const fs::path csr = dir / "server.csr";
  const fs::path ext = dir / "server.ext";
  const fs::path log = dir / "openssl.log";
  WriteFile(ext, "subjectAltName=" + subject_alt_names +
                     "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                     "extendedKeyUsage=serverAuth\n");
  const std::string key_opts = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string quiet = " >>" + log.string() + " 2>&1";
  const std::vector<std::string> commands = {
      "openssl req -x509" + key_opts + " -keyout " + ca_key.string() + " -out " +
          pki.ca_cert.string() +
          " -days 2 -subj '/CN=mactl test CA' -addext 'basicConstraints=critical,CA:TRUE'"
          " -addext 'keyUsage=critical,keyCertSign,cRLSign'" +
          quiet,
      "openssl req" + key_opts + " -keyout " + pki.server_key.string() + " -out " + csr.string() +
          " -subj '/CN=mactl test server'" + quiet,
      "openssl x509 -req -in " + csr.string() + " -CA " + pki.ca_cert.string() + " -CAkey " +
          ca_key.string() + " -CAcreateserial -days 2 -extfile " + ext.string() + " -out " +
          pki.server_cert.string() + quiet,
  };
  pki.ok = true;
  for (const std::string& command : commands) {
    pki.ok = pki.ok && std::system(command.c_str()) == 0;
  }
  pki.log = ReadFile(log);
  return pki;
}

inline std::string Manifest(const std::string& name, std::int64_t job, std::int64_t version,
                            const std::string& desired, bool paused = false) {
  std::string annotations =
      paused ? "  annotations:\n    modelarts-controller.io/paused: \"true\"\n" : "";
  return "apiVersion: modelarts-controller.io/v1\nkind: TrainingJobVersion\nmetadata:\n  name: " +
         name + "\n" + annotations + "spec:\n  jobId: " + std::to_string(job) +
         "\n  versionId: " + std::to_string(version) + "\n  desiredState: " + desired + "\n";
}

}  // namespace mactl::integration
