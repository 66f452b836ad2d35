#pragma once

// A real etcd cluster (Debian's etcd-server) on loopback ports in a test's temporary
// directory, for the leader-election tests: start it, kill -9, stop, restart, freeze
// (SIGSTOP) and thaw (SIGCONT) single members, and wait until it is healthy again.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace mactl::integration {

inline const char kEtcdBinary[] = "/usr/bin/etcd";

// A loopback port free right now (the kernel's choice; taken by etcd a moment later).
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

class EtcdCluster {
 public:
  // Starts `size` members with fast raft timings (heartbeat 50 ms, election 500 ms). Clients
  // speak `client_scheme` ("https" needs TLS flags in `extra_args`, e.g. --cert-file); peers
  // always speak http on loopback. WaitHealthy works for http clients only.
  explicit EtcdCluster(const TempDir& dir, int size = 3, std::vector<std::string> extra_args = {},
                       std::string client_scheme = "http")
      : dir_(dir.path() / "etcd"),
        extra_args_(std::move(extra_args)),
        client_scheme_(std::move(client_scheme)) {
    for (int i = 0; i < size; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client_port = FreeLoopbackPort();
      m.peer_port = FreeLoopbackPort();
      members_.push_back(std::move(m));
    }
    for (const Member& m : members_) {
      if (!initial_cluster_.empty()) initial_cluster_ += ",";
      initial_cluster_ += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    }
    for (int i = 0; i < size; ++i) Start(i);
  }
  ~EtcdCluster() {
    // A frozen member would keep a pending SIGTERM forever.
    for (Member& m : members_) {
      if (m.process) m.process->Signal(SIGCONT);
    }
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  static bool Available() { return access(kEtcdBinary, X_OK) == 0; }

  int size() const { return static_cast<int>(members_.size()); }
  std::string ClientUrl(int i) const {
    return client_scheme_ +
           "://127.0.0.1:" + std::to_string(members_[static_cast<std::size_t>(i)].client_port);
  }
  std::vector<std::string> ClientUrls() const {
    std::vector<std::string> urls;
    for (int i = 0; i < size(); ++i) urls.push_back(ClientUrl(i));
    return urls;
  }
  std::string Endpoints() const {
    std::string joined;
    for (const std::string& url : ClientUrls()) joined += (joined.empty() ? "" : ",") + url;
    return joined;
  }

  // (Re)starts member i on its data directory (a restart rejoins with its old identity).
  void Start(int i) {
    Member& m = members_[static_cast<std::size_t>(i)];
    const std::string client = client_scheme_ + "://127.0.0.1:" + std::to_string(m.client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    fs::create_directories(dir_);
    m.process.reset();
    std::vector<std::string> args = {"--name",
                                     m.name,
                                     "--data-dir",
                                     (dir_ / m.name).string(),
                                     "--listen-client-urls",
                                     client,
                                     "--advertise-client-urls",
                                     client,
                                     "--listen-peer-urls",
                                     peer,
                                     "--initial-advertise-peer-urls",
                                     peer,
                                     "--initial-cluster",
                                     initial_cluster_,
                                     "--initial-cluster-state",
                                     "new",
                                     "--initial-cluster-token",
                                     dir_.string(),
                                     "--heartbeat-interval",
                                     "50",
                                     "--election-timeout",
                                     "500",
                                     "--log-level",
                                     "warn"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    m.process = std::make_unique<Process>(kEtcdBinary, args, dir_,
                                          m.name + "-" + std::to_string(++m.starts));
  }
  void Kill(int i) {  // kill -9
    Process& p = *members_[static_cast<std::size_t>(i)].process;
    p.Signal(SIGKILL);
    p.Wait(std::chrono::seconds(10));
  }
  void Freeze(int i) { members_[static_cast<std::size_t>(i)].process->Signal(SIGSTOP); }
  void Thaw(int i) { members_[static_cast<std::size_t>(i)].process->Signal(SIGCONT); }

  // Whether member i answers /health with {"health":"true"} (it has a leader and quorum).
  bool Healthy(int i) const {
    httplib::Client client("127.0.0.1", members_[static_cast<std::size_t>(i)].client_port);
    client.set_connection_timeout(std::chrono::milliseconds(300));
    client.set_read_timeout(std::chrono::milliseconds(1500));
    const auto res = client.Get("/health");
    if (!res || res->status != 200) return false;
    const json body = json::parse(res->body, nullptr, false);
    return body.is_object() && body.value("health", "") == "true";
  }
  bool WaitHealthy(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return WaitFor(
        [&] {
          for (int i = 0; i < size(); ++i) {
            if (!Healthy(i)) return false;
          }
          return true;
        },
        timeout);
  }
  // The members' logs, for failure messages.
  std::string Logs() const {
    std::string all;
    for (const Member& m : members_) {
      if (m.process) all += m.name + ":\n" + m.process->Stderr() + "\n";
    }
    return all;
  }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::unique_ptr<Process> process;
    int starts = 0;
  };

  fs::path dir_;
  std::vector<std::string> extra_args_;
  std::string client_scheme_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace mactl::integration
