#pragma once

// The simulator's HTTP front: the ModelArts v1 training-job API (list, version detail,
// version list, stop; sim/v1_handler.h) over SimState and, when given a V2JobStore, the v2
// one (job detail, search, terminate; sim/v2_handler.h), with credential checking
// (sim_auth.h), the IAM token endpoint POST /v3/auth/tokens, fault injection and a request
// log, plus the unauthenticated test/control endpoints under /_sim/. Plain HTTP, or HTTPS
// when given a certificate and key.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "api/result.h"
#include "controller/base/clock.h"
#include "sim/fault_injector.h"
#include "sim/request_log.h"
#include "sim/sim_auth.h"
#include "sim/sim_state.h"
#include "sim/sleeper.h"
#include "sim/v2_jobs.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mactl::sim {

struct SimServerOptions {
  int threads = 16;                            // request threads; a kept-alive connection holds one
  std::chrono::seconds keep_alive_timeout{1};  // short, so Stop() is quick
  // Both set: serve HTTPS with this PEM certificate chain and key. Both empty: HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Project names for IAM scopes by name (id → name); a project without one is named by
  // its id.
  std::map<std::string, std::string> project_names;
};

class SimServer {
 public:
  // Every reference must outlive the server.
  SimServer(SimState& state, FaultInjector& faults, RequestLog& log, SimAuth& auth,
            const Clock& clock, Sleeper& sleeper, SimServerOptions options = {});
  ~SimServer();

  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Also serves the v2 training-job calls over store (which must outlive the server), behind
  // the same credentials, faults and request log; /_sim/training-jobs shows the jobs. Call
  // before Start.
  void ServeTrainingJobs(V2JobStore& store) { v2_ = &store; }

  // Binds host:port (port 0 picks a free one), starts serving on a background thread and
  // returns once requests are accepted. Returns the bound port. Fails when the TLS
  // certificate or key cannot be loaded.
  Result<int> Start(const std::string& host, int port);
  // Stops serving and joins the thread. Idempotent.
  void Stop();

 private:
  void Handle(const httplib::Request& req, httplib::Response& res);
  void HandleApi(const httplib::Request& req, httplib::Response& res);
  void HandleControl(const httplib::Request& req, httplib::Response& res);
  void HandleIam(const httplib::Request& req, httplib::Response& res);
  void HandleV1(const httplib::Request& req, httplib::Response& res, const std::string& project_id,
                bool complete_first);
  void HandleV2(const httplib::Request& req, httplib::Response& res, const std::string& project_id,
                bool complete_first);
  bool HandleV2Control(const httplib::Request& req, httplib::Response& res);

  SimState& state_;
  FaultInjector& faults_;
  RequestLog& log_;
  SimAuth& auth_;
  const Clock& clock_;
  Sleeper& sleeper_;
  V2JobStore* v2_ = nullptr;  // set by ServeTrainingJobs
  const SimServerOptions options_;
  const SteadyTime started_;
  std::unique_ptr<httplib::Server> server_;  // an httplib::SSLServer with TLS
  bool tls_ready_ = true;                    // false when the certificate or key did not load
  std::thread thread_;                       // runs listen_after_bind; joined by Stop()
};

}  // namespace mactl::sim
