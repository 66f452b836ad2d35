#include "sim/sim_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "api/training_job.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "sim/job_statuses.h"
#include "sim/path_segments.h"
#include "sim/v1_handler.h"
#include "sim/v2_handler.h"
#include "sim/v2_wire.h"
#include "sim/whole_number.h"

namespace mactl::sim {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json";

// What the path and method address.
struct Route {
  Operation operation = Operation::kOther;
  bool is_v1 = false;
  bool is_v2 = false;
  std::string project_id;
  std::string training_job_id;  // v2: the raw path segment
  std::string job_text;         // raw path segments; validated per operation
  std::string version_text;
};

Route Classify(const std::string& method, const std::string& path) {
  Route r;
  const std::vector<std::string_view> p = SplitPath(path);
  if (p.size() == 3 && p[0] == "v3" && p[1] == "auth" && p[2] == "tokens") {
    if (method == "POST") r.operation = Operation::kAuth;
    return r;
  }
  if (!p.empty() && p[0] == "v2") {
    const V2Route v2 = ClassifyV2(method, path);
    r.is_v2 = true;
    r.project_id = v2.project_id;
    r.training_job_id = v2.job_id;
    switch (v2.operation) {
      case V2Operation::kGetJob:
        r.operation = Operation::kGetJob;
        break;
      case V2Operation::kSearchJobs:
        r.operation = Operation::kSearchJobs;
        break;
      case V2Operation::kTerminate:
        r.operation = Operation::kTerminate;
        break;
      case V2Operation::kNone:
        break;
    }
    return r;
  }
  if (p.empty() || p[0] != "v1") return r;
  r.is_v1 = true;
  V1Route v1 = ClassifyV1(method, path);
  r.operation = v1.operation;
  r.project_id = std::move(v1.project_id);
  r.job_text = std::move(v1.job_text);
  r.version_text = std::move(v1.version_text);
  return r;
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  res.status = status;
  res.set_content(V1ErrorBody(code, message), kJson);
}

std::string DefaultFaultCode(int http_status) {
  switch (http_status) {
    case 400:
      return "ModelArts.0104";
    case 401:
      return "ModelArts.0203";
    case 403:
      return "ModelArts.0108";
    case 404:
      return "APIGW.0101";
    case 409:
      return "ModelArts.2878";
    case 429:
      return "ModelArts.2799";
    default:
      return "ModelArts.0010";
  }
}

void ApplyStatusFault(const FaultRule& rule, httplib::Response& res, bool v2) {
  res.headers.clear();
  const std::string code =
      rule.error_code.empty() ? DefaultFaultCode(rule.http_status) : rule.error_code;
  const std::string message = "injected fault: HTTP " + std::to_string(rule.http_status);
  if (v2) {
    res.status = rule.http_status;
    res.set_content(V2ErrorBody(code, message), kJson);
  } else {
    SendError(res, rule.http_status, code, message);
  }
  if (rule.retry_after_s) res.set_header("Retry-After", std::to_string(*rule.retry_after_s));
}

void ApplyMalformedFault(httplib::Response& res) {
  std::string body = res.body.empty() ? std::string(R"({"is_success":true})") : res.body;
  body.resize(body.size() / 2);  // cut mid-token: never valid JSON
  res.headers.clear();
  res.status = 200;
  res.set_content(body, kJson);
}

// Headers go out, then the body provider fails, so httplib closes the connection without
// a complete answer: the client sees a transport error, never an HTTP status.
void ApplyDropFault(httplib::Response& res) {
  res.headers.clear();
  res.body.clear();
  res.status = 200;
  res.set_content_provider(64, kJson,
                           [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
}

json StatusOnly(bool ok) { return {{"is_success", ok}}; }

}  // namespace

SimServer::SimServer(SimState& state, FaultInjector& faults, RequestLog& log, SimAuth& auth,
                     const Clock& clock, Sleeper& sleeper, SimServerOptions options)
    : state_(state),
      faults_(faults),
      log_(log),
      auth_(auth),
      clock_(clock),
      sleeper_(sleeper),
      options_(options),
      started_(clock.Now()) {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                    options_.tls_key_file.c_str());
    tls_ready_ = tls->is_valid();
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  const int threads = options_.threads;
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  server_->set_keep_alive_timeout(options_.keep_alive_timeout.count());
  server_->set_payload_max_length(1 << 20);
  server_->set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which lets a second process share a busy
  // port silently; a simulator on a fixed port must fail to start instead.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    Handle(req, res);
  };
  // One catch-all per method: routing, auth, faults and logging live in Handle().
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  // httplib 0.11.4 answers 400 to a POST without Content-Length before any handler runs,
  // but the real stop call has no body and clients may omit the header. Body-less requests
  // are therefore served before routing; ones with a body go through the handlers above so
  // the body is read off the connection first.
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const bool has_body =
        req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    if (has_body) return httplib::Server::HandlerResponse::Unhandled;
    Handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, 500, "ModelArts.0010", "internal simulator error");
      });
}

SimServer::~SimServer() { Stop(); }

Result<int> SimServer::Start(const std::string& host, int port) {
  if (thread_.joinable()) {
    return MakeError(ErrorClass::kTerminal, "Sim.AlreadyStarted", "server already started");
  }
  if (!tls_ready_) {
    return MakeError(ErrorClass::kTerminal, "Sim.Tls",
                     "cannot load the TLS certificate " + options_.tls_cert_file + " and key " +
                         options_.tls_key_file + " (both PEM, matching each other)");
  }
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound < 0) bound = 0;
  } else if (!server_->bind_to_port(host, port)) {
    bound = 0;
  }
  if (bound <= 0) {
    return MakeError(ErrorClass::kTerminal, "Sim.Bind",
                     "cannot listen on " + host + ":" + std::to_string(port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the loop runs, so Start returns only once it does.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    Stop();
    return MakeError(ErrorClass::kTerminal, "Sim.Start", "server did not start");
  }
  return bound;
}

void SimServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void SimServer::Handle(const httplib::Request& req, httplib::Response& res) {
  if (req.path == "/_sim" || req.path.rfind("/_sim/", 0) == 0) {
    HandleControl(req, res);
    return;
  }
  HandleApi(req, res);
}

void SimServer::HandleApi(const httplib::Request& req, httplib::Response& res) {
  const Route route = Classify(req.method, req.path);
  RequestRecord record;
  record.method = req.method;
  record.path = req.path;
  for (const auto& [key, value] : req.params) record.query.try_emplace(key, value);
  record.operation = OperationName(route.operation);
  record.has_auth_token = req.has_header("X-Auth-Token");
  record.has_authorization = req.has_header("Authorization");
  record.time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - started_).count();
  const std::uint64_t seq = log_.Begin(std::move(record));

  FaultTarget target{route.operation, ParseId(route.job_text), ParseId(route.version_text),
                     std::nullopt};
  if (route.is_v2 && IsValidTrainingJobId(route.training_job_id)) {
    target.training_job_id = NormalizeTrainingJobId(route.training_job_id);
  }
  const std::optional<FaultRule> fault = faults_.Match(target);
  std::optional<std::string> fault_name;
  if (fault) fault_name = FaultTypeName(fault->type);
  const bool replaces_answer =
      fault && (fault->type == FaultType::kStatus || fault->type == FaultType::kDrop ||
                fault->type == FaultType::kMalformed);
  if (fault && fault->type == FaultType::kLatency) {
    sleeper_.SleepFor(std::chrono::milliseconds(fault->latency_ms));
  }

  if (!replaces_answer || fault->process) {
    const bool complete_first = fault && fault->type == FaultType::kCompleteBeforeStop;
    [&] {
      if (route.is_v1 || route.is_v2) {
        const AuthDecision auth = auth_.Authenticate(req, route.project_id);
        if (!auth.allowed) {
          if (!route.is_v2) return SendError(res, auth.http_status, auth.error_code, auth.message);
          res.status = auth.http_status;
          return res.set_content(V2ErrorBody(auth.error_code, auth.message), kJson);
        }
      }
      if (route.is_v2 && v2_ != nullptr && route.operation != Operation::kOther) {
        return HandleV2(req, res, route.project_id, complete_first);
      }
      if (route.operation == Operation::kOther) {
        return SendError(
            res, 404, "APIGW.0101",
            "no API " + req.method + " " + req.path + " in the ModelArts v1 simulator");
      }
      if (route.operation == Operation::kAuth) return HandleIam(req, res);
      return HandleV1(req, res, route.project_id, complete_first);
    }();
  }

  int sent_status = res.status;
  if (replaces_answer) {
    switch (fault->type) {
      case FaultType::kStatus:
        ApplyStatusFault(*fault, res, route.is_v2);
        sent_status = res.status;
        break;
      case FaultType::kMalformed:
        ApplyMalformedFault(res);
        sent_status = 200;
        break;
      default:
        ApplyDropFault(res);
        sent_status = 0;
        break;
    }
  }
  log_.Finish(seq, sent_status, fault_name);
  spdlog::debug("{} {} -> {} ({}{}{})", req.method, req.path, sent_status,
                OperationName(route.operation), fault_name ? ", fault " : "",
                fault_name ? *fault_name : "");
}

void SimServer::HandleV1(const httplib::Request& req, httplib::Response& res,
                         const std::string& project_id, bool complete_first) {
  if (!state_.HasProject(project_id)) {
    return SendError(res, 403, "ModelArts.0210", "invalid project ID");
  }
  const V1Answer answer =
      AnswerV1(state_, ClassifyV1(req.method, req.path), req.params, complete_first);
  res.status = answer.status;
  res.set_content(answer.body, kJson);
}

void SimServer::HandleV2(const httplib::Request& req, httplib::Response& res,
                         const std::string& project_id, bool complete_first) {
  if (!state_.HasProject(project_id) && !v2_->HasProject(project_id)) {
    res.status = 404;
    res.set_content(V2ErrorBody("ModelArts.2786", "The project ID in the URL is invalid.",
                                "Check the project ID."),
                    kJson);
    return;
  }
  const V2Answer answer =
      AnswerV2(*v2_, ClassifyV2(req.method, req.path), req.body, complete_first);
  res.status = answer.status;
  res.set_content(answer.body, kJson);
}

// GET /_sim/training-jobs: every v2 job with its bookkeeping. POST
// /_sim/training-jobs/{project}/{id} {"phase": ..., "secondary_phase": ..., "sticky": bool}:
// forces a phase. False when the path is not one of these.
bool SimServer::HandleV2Control(const httplib::Request& req, httplib::Response& res) {
  const std::vector<std::string_view> p = SplitPath(req.path);
  if (v2_ == nullptr || p.size() < 2 || p[1] != "training-jobs") return false;
  if (p.size() == 2 && req.method == "GET") {
    json out = json::array();
    for (const V2JobView& j : v2_->All()) {
      out.push_back({{"project_id", j.project_id},
                     {"id", j.id},
                     {"name", j.name},
                     {"phase", j.phase},
                     {"secondary_phase", j.secondary_phase},
                     {"terminate_calls", j.terminate_calls},
                     {"terminates_accepted", j.terminates_accepted},
                     {"terminate_received_while", j.terminate_received_while}});
    }
    SendJson(res, 200, out);
    return true;
  }
  if (p.size() == 4 && req.method == "POST") {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("phase") || !body["phase"].is_string() ||
        body["phase"].get<std::string>().empty() ||
        (body.contains("secondary_phase") && !body["secondary_phase"].is_string()) ||
        (body.contains("sticky") && !body["sticky"].is_boolean())) {
      SendError(res, 400, "Sim.BadBody",
                R"(expected {"phase": "...", "secondary_phase": "...", "sticky": false})");
      return true;
    }
    const bool found = v2_->ForcePhase(
        std::string(p[2]), NormalizeTrainingJobId(p[3]), body["phase"].get<std::string>(),
        body.value("secondary_phase", std::string()), body.value("sticky", false));
    if (!found) {
      SendError(res, 404, "Sim.NotFound", "no training job " + std::string(p[3]));
    } else {
      SendJson(res, 200, StatusOnly(true));
    }
    return true;
  }
  return false;
}

void SimServer::HandleIam(const httplib::Request& req, httplib::Response& res) {
  const ProjectResolver projects = [this](std::string_view id,
                                          std::string_view name) -> std::optional<ProjectRef> {
    const auto name_of = [this](const std::string& project_id) {
      const auto it = options_.project_names.find(project_id);
      return it == options_.project_names.end() ? project_id : it->second;
    };
    if (!id.empty()) {
      if (!state_.HasProject(std::string(id))) return std::nullopt;
      return ProjectRef{std::string(id), name_of(std::string(id))};
    }
    for (const std::string& project_id : state_.ProjectIds()) {
      if (name_of(project_id) == name) return ProjectRef{project_id, std::string(name)};
    }
    return std::nullopt;
  };
  IamAnswer answer = auth_.IssueIamToken(req, projects);
  res.status = answer.http_status;
  if (!answer.subject_token.empty()) res.set_header("X-Subject-Token", answer.subject_token);
  res.set_content(answer.body, kJson);
}

void SimServer::HandleControl(const httplib::Request& req, httplib::Response& res) {
  if (HandleV2Control(req, res)) return;
  const std::vector<std::string_view> p = SplitPath(req.path);  // p[0] == "_sim"
  const std::string_view what = p.size() > 1 ? p[1] : std::string_view();
  if (what == "requests" && p.size() == 2) {
    if (req.method == "GET") {
      // ?since=SEQ: only what arrived after SEQ, so pollers need not fetch the whole log.
      std::uint64_t since = 0;
      if (req.has_param("since")) {
        const std::optional<std::int64_t> seq = ParseInt(req.get_param_value("since"));
        if (!seq || *seq < 0) {
          return SendJson(res, 400, {{"error", "since must be a request seq (a whole number)"}});
        }
        since = static_cast<std::uint64_t>(*seq);
      }
      json out = json::array();
      for (const RequestRecord& r : log_.Snapshot(since)) out.push_back(RequestRecordToJson(r));
      return SendJson(res, 200, out);
    }
    if (req.method == "DELETE") {
      log_.Clear();
      return SendJson(res, 200, StatusOnly(true));
    }
  }
  if (what == "versions" && p.size() == 2 && req.method == "GET") {
    json out = json::array();
    for (const VersionView& v : state_.AllVersions()) {
      out.push_back({{"project_id", v.project_id},
                     {"job_id", v.job_id},
                     {"version_id", v.version_id},
                     {"status", v.status},
                     {"status_name", StatusName(v.status)},
                     {"stop_calls", v.stop_calls},
                     {"stops_accepted", v.stops_accepted},
                     {"stop_received_while", v.stop_received_while}});
    }
    return SendJson(res, 200, out);
  }
  if (what == "versions" && p.size() == 5 && req.method == "POST") {
    const auto job_id = ParseId(p[3]);
    const auto version_id = ParseId(p[4]);
    if (p[2].empty() || !job_id || !version_id) {
      return SendError(res, 400, "Sim.BadPath",
                       "expected /_sim/versions/{project}/{job}/{version}");
    }
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("status") || !body["status"].is_number_integer()) {
      return SendError(res, 400, "Sim.BadBody", R"(expected {"status": <integer>})");
    }
    const auto status = body["status"].get<std::int64_t>();
    if (status < 0 || status > 1000) {
      return SendError(res, 400, "Sim.BadBody", "status must be in [0, 1000]");
    }
    bool sticky = false;
    if (body.contains("sticky")) {
      if (!body["sticky"].is_boolean()) {
        return SendError(res, 400, "Sim.BadBody", "sticky must be true or false");
      }
      sticky = body["sticky"].get<bool>();
    }
    state_.ForceStatus(std::string(p[2]), *job_id, *version_id, static_cast<int>(status), sticky);
    return SendJson(res, 200, StatusOnly(true));
  }
  if (what == "faults" && p.size() == 2) {
    if (req.method == "GET") {
      json rules = json::array();
      for (const FaultRule& r : faults_.Rules()) rules.push_back(FaultRuleToJson(r));
      return SendJson(res, 200, {{"rules", rules}});
    }
    if (req.method == "DELETE") {
      faults_.Clear();
      return SendJson(res, 200, StatusOnly(true));
    }
    if (req.method == "POST") {
      const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded() || !body.is_object() || !body.contains("rules")) {
        return SendError(res, 400, "Sim.BadBody", R"(expected {"rules": [...]})");
      }
      auto rules = ParseFaultRules(body);
      if (!rules) return SendError(res, 400, "Sim.BadBody", rules.error().message);
      const std::size_t added = rules->size();
      faults_.Add(std::move(rules).value());
      return SendJson(res, 200, {{"is_success", true}, {"added", added}});
    }
  }
  SendError(res, 404, "Sim.NotFound", "no control endpoint " + req.method + " " + req.path);
}

}  // namespace mactl::sim
