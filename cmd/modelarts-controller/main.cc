// modelarts-controller: wiring only. Every piece with behaviour worth testing lives in
// api/ or controller/; main builds them in dependency order, owns them, runs, and tears
// them down in reverse.

#include <malloc.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "api/manifest_loader.h"
#include "controller/auth/credentials.h"
#include "controller/base/log.h"
#include "controller/cli/commands.h"
#include "controller/cli/flags.h"
#include "controller/cloud/http_cloud_client.h"
#include "controller/cloud/http_training_job_client.h"
#include "controller/cloud/token_bucket.h"
#include "controller/cloud/token_bucket_throttle.h"
#include "controller/core/gated_cloud_client.h"
#include "controller/core/gated_training_job_client.h"
#include "controller/core/observer.h"
#include "controller/core/reconciler.h"
#include "controller/core/snapshot_store.h"
#include "controller/core/training_job_observer.h"
#include "controller/core/training_job_reconciler.h"
#include "controller/runtime/backoff.h"
#include "controller/runtime/http_server.h"
#include "controller/runtime/leadership.h"
#include "controller/runtime/manager.h"
#include "controller/runtime/manifest_source.h"
#include "controller/runtime/manifest_watcher.h"
#include "controller/runtime/metrics.h"
#include "controller/runtime/policy_enforcer.h"
#include "controller/runtime/process_metrics.h"
#include "controller/runtime/sd_notify.h"
#include "controller/runtime/status_stream.h"
#include "controller/runtime/work_queue.h"

namespace mactl {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

int StartupError(const std::string& message) {
  log::Error("start-up failed", {{"error", message}});
  return kExitError;
}

class DiscardApiCalls final : public ApiCallObserver {
 public:
  void OnApiCall(std::string_view, int, std::chrono::duration<double>) override {}
};

// The ModelArts client and what it needs, for run and plan.
struct ApiStack {
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<TokenBucket> bucket;
  std::unique_ptr<TokenBucketThrottle> throttle;
  std::unique_ptr<HttpCloudClient> client;
};

Result<ApiStack> BuildApiStack(const Flags& flags, const Clock& clock, ApiCallObserver& observer,
                               std::stop_token stop,
                               std::function<void(Duration)> on_rate_limit_wait) {
  ApiStack stack;
  const CredentialSources sources = DefaultCredentialSources(
      ProcessEnvironment(),
      flags.token_file.empty() ? std::nullopt
                               : std::optional<std::filesystem::path>(flags.token_file),
      flags.project_id, std::filesystem::current_path());
  Result<CredentialChoice> choice = ChooseCredentials(sources);
  if (!choice) return choice.error();
  AuthenticatorDeps deps(clock);
  deps.observer = &observer;
  deps.ca_file = flags.ca_file;
  deps.insecure_skip_tls_verify = flags.insecure_skip_tls_verify;
  // The IAM token request gets the API calls' bounds (the same read timeout, hence the same
  // total deadline).
  deps.read_timeout = duration_cast<milliseconds>(flags.api_timeout);
  Result<std::unique_ptr<Authenticator>> auth = MakeAuthenticator(*choice, deps);
  if (!auth) return auth.error();
  log::Info("credentials", {{"method", choice->method}, {"source", choice->Describe()}});
  stack.auth = std::move(auth).value();
  stack.bucket = std::make_unique<TokenBucket>(flags.qps, flags.burst, clock);
  stack.throttle = std::make_unique<TokenBucketThrottle>(*stack.bucket, std::move(stop),
                                                         std::move(on_rate_limit_wait));
  HttpCloudClientOptions options;
  options.endpoint = flags.endpoint;
  options.read_timeout = duration_cast<milliseconds>(flags.api_timeout);
  options.ca_file = flags.ca_file;
  options.insecure_skip_tls_verify = flags.insecure_skip_tls_verify;
  options.connections = static_cast<std::size_t>(std::max(flags.workers, 1)) + 1;
  Result<std::unique_ptr<HttpCloudClient>> client =
      HttpCloudClient::Create(options, *stack.auth, *stack.throttle, observer, clock);
  if (!client) return client.error();
  stack.client = std::move(client).value();
  if (flags.endpoint.rfind("http://", 0) == 0) {
    log::Warn("endpoint uses plain http; credentials and data are not encrypted",
              {{"endpoint", flags.endpoint}});
  }
  if (flags.insecure_skip_tls_verify) {
    log::Warn("TLS certificate verification is off (--insecure-skip-tls-verify)");
  }
  return stack;
}

// This replica's name in the election: host:pid (the pod name on Kubernetes).
std::string ReplicaIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  return std::string(host) + ":" + std::to_string(getpid());
}

// ETCD_PASSWORD, or like every other secret here the first line of ETCD_PASSWORD_FILE.
Result<std::string> EtcdPassword(const EnvLookup& env) {
  const std::optional<std::string> file = env("ETCD_PASSWORD_FILE");
  if (!file || file->empty()) return env("ETCD_PASSWORD").value_or("");
  std::ifstream in(*file);
  std::string password;
  const bool read = in && std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (!read || password.empty()) {
    return MakeError(ErrorClass::kTerminal, "Config.Etcd",
                     "ETCD_PASSWORD_FILE " + *file + " cannot be read or is empty");
  }
  return password;
}

// --leader-elect: the election on etcd (docs/high-availability.md); null without the flag.
Result<std::unique_ptr<Leadership>> BuildLeadership(const Flags& flags, const Clock& clock,
                                                    prometheus::Registry& registry) {
  if (!flags.leader_elect) return std::unique_ptr<Leadership>();
  const EnvLookup env = ProcessEnvironment();
  Result<std::string> password = EtcdPassword(env);
  if (!password) return password.error();
  HttpEtcdClientOptions etcd;
  etcd.endpoints = flags.etcd_endpoints;
  etcd.ca_file = flags.etcd_ca_file;
  etcd.cert_file = flags.etcd_cert_file;
  etcd.key_file = flags.etcd_key_file;
  etcd.username = env("ETCD_USERNAME").value_or("");
  etcd.password = std::move(password).value();
  LeaderElectionOptions election;
  election.prefix = flags.leader_elect_prefix;
  election.identity = ReplicaIdentity();
  election.lease_ttl = flags.leader_elect_lease;
  election.request_timeout = DefaultEtcdRequestTimeout(flags.leader_elect_lease);
  // A loss is noticed by WaitForShutdown, which then ends the daemon with status 1.
  return Leadership::Create(std::move(etcd), std::move(election), clock, registry, [] {});
}

// Without an election the workers start now. With one, the election starts, and the workers
// start (and observe everything before any stop) once this replica leads; followers make no
// ModelArts call. The policy enforcer starts with them. The returned thread is that wait.
std::jthread StartActing(Manager& manager, PolicyEnforcer& policies, Leadership* leadership) {
  if (leadership == nullptr) {
    manager.Start();
    policies.Start();
    return {};
  }
  leadership->RequireBeforeActing([&manager] { return manager.Ready(); });
  leadership->Start();
  return std::jthread([&manager, &policies, leadership](std::stop_token stop) {
    if (!leadership->WaitUntilLeader(stop)) return;
    log::Info("acting as leader", {{"identity", leadership->StatusJson().value("identity", "")}});
    manager.Start();
    policies.Start();
  });
}

int RunPlanCommand(const Flags& flags) {
  SystemClock clock;
  DiscardApiCalls discard;
  std::stop_source stop;
  Result<ApiStack> api = BuildApiStack(flags, clock, discard, stop.get_token(), [](Duration) {});
  if (!api) return StartupError(api.error().ToString());
  HttpTrainingJobClient job_client(*api->client, clock);
  return RunPlan(flags, *api->client, job_client, clock, std::cout);
}

ReconcilerOptions ReconcilerOptionsFrom(const Flags& flags) {
  ReconcilerOptions options;
  options.resync = flags.resync;
  options.resync_slot = ResyncSlot(flags.resync);
  options.poll = flags.poll;
  options.dry_run = flags.dry_run;
  return options;
}

ManifestWatcher::Options WatcherOptions(const Flags& flags) {
  return ManifestWatcher::Options{flags.manifests, milliseconds(200),
                                  duration_cast<milliseconds>(flags.rescan_interval)};
}

// /healthz and /readyz; the main thread's watchdog pings follow Health too.
class Probes {
 public:
  Probes(const Manager& manager, const ManifestWatcher& watcher, const Clock& clock,
         Duration watcher_stale_after, const Leadership* leadership)
      : manager_(manager),
        watcher_(watcher),
        clock_(clock),
        watcher_stale_after_(watcher_stale_after),
        leadership_(leadership) {}

  ProbeResult Health() const {
    const HealthReport report = manager_.Health();
    if (!report.healthy) return {false, report.detail};
    if (clock_.Now() - watcher_.LastActivity() > watcher_stale_after_) {
      return {false, "the manifest watcher has made no progress"};
    }
    return {true, "ok"};
  }
  ProbeResult Ready() const {
    if (shutting_down_) return {false, "shutting down"};
    // A follower is ready to take over: it has its manifests and makes no call until then.
    if (leadership_ != nullptr && !leadership_->Leading()) return {true, "standby: not the leader"};
    if (!manager_.Ready()) return {false, "not every object has been observed yet"};
    return {true, "ok"};
  }
  void SetShuttingDown() { shutting_down_ = true; }

 private:
  const Manager& manager_;
  const ManifestWatcher& watcher_;
  const Clock& clock_;
  const Duration watcher_stale_after_;
  const Leadership* const leadership_;  // null without --leader-elect
  std::atomic<bool> shutting_down_{false};
};

std::function<std::string()> MetricsHandler(prometheus::Registry& registry,
                                            ProcessMetrics& process_metrics,
                                            const Manager& manager) {
  return [&registry, &process_metrics, &manager] {
    manager.UpdateGauges();
    std::vector<prometheus::MetricFamily> families = registry.Collect();
    for (auto& family : process_metrics.Collect()) families.push_back(std::move(family));
    return prometheus::TextSerializer().Serialize(families);
  };
}

TrainingJobReconcilerOptions TrainingJobOptionsFrom(const Flags& flags) {
  TrainingJobReconcilerOptions options;
  options.resync = flags.resync;
  options.resync_slot = ResyncSlot(flags.resync);
  options.poll = flags.poll;
  options.dry_run = flags.dry_run;
  return options;
}

PolicyEnforcerOptions PolicyOptionsFrom(const Flags& flags) {
  PolicyEnforcerOptions options;
  options.max_stops = static_cast<std::size_t>(flags.policy_max_stops);
  options.dry_run = flags.dry_run;
  options.resync = flags.resync;
  options.backoff_base = flags.backoff_base;
  options.backoff_max = flags.backoff_max;
  return options;
}

// The Manager's snapshot sink, which also tells the policy enforcer that a new snapshot is in
// the store (it decides itself whether its policies or exclusions changed).
class SnapshotSink final : public DesiredStateSink {
 public:
  SnapshotSink(Manager& manager, PolicyEnforcer& policies)
      : manager_(manager), policies_(policies) {}
  void ApplySnapshot(DesiredSnapshot snapshot) override {
    manager_.ApplySnapshot(std::move(snapshot));
    policies_.SnapshotChanged();
  }

 private:
  Manager& manager_;
  PolicyEnforcer& policies_;
};

// Lets every stop through: the gate when no election runs.
class OpenGate final : public StopGate {
 public:
  Status CheckBeforeStop() override { return OkStatus(); }
};

// Both kinds' reconcilers: TrainingJobVersion on the v1 calls, TrainingJob on the v2 calls
// over the same transport, and the policy enforcer on the same gated clients. With
// --leader-elect (leader not null) every stop and terminate first passes the leader's check;
// reads are never gated.
struct Reconcilers {
  Reconcilers(const Flags& flags, const SnapshotStore& desired, HttpCloudClient& client,
              Observer& observer, Leadership* leader, RandomSource& random, const Clock& clock,
              ControllerMetrics& metrics)
      : gate(leader != nullptr ? static_cast<StopGate&>(*leader) : open),
        gated_versions(client, gate),
        versions(ReconcilerOptionsFrom(flags), desired, gated_versions, observer, random, clock),
        job_client(client, clock),
        gated_jobs(job_client, gate),
        job_observer(job_client, clock),
        jobs(
            TrainingJobOptionsFrom(flags), [&desired] { return desired.Current(); }, gated_jobs,
            job_observer, random, clock),
        policies(PolicyOptionsFrom(flags), desired, gated_versions, gated_jobs, clock, random,
                 &metrics) {}
  OpenGate open;
  StopGate& gate;
  GatedCloudClient gated_versions;
  Reconciler versions;
  HttpTrainingJobClient job_client;
  GatedTrainingJobClient gated_jobs;
  TrainingJobObserver job_observer;
  TrainingJobReconciler jobs;
  PolicyEnforcer policies;
};

// /status streams from one desired snapshot and copies one object's state at a time, so no
// reconciler lock is held while the socket is written (docs/operations.md, "Read /status").
std::function<StreamedAnswer(const QueryParams&)> StatusHandler(const SnapshotStore& desired,
                                                                const Reconcilers& reconcilers,
                                                                const Manager& manager,
                                                                const Clock& clock,
                                                                const Leadership* leadership) {
  return [&desired, &reconcilers, &manager, &clock, leadership](const QueryParams& params) {
    Result<StatusQuery> query = ParseStatusQuery(params);
    if (!query) {
      const nlohmann::json error{{"error", query.error().message}};
      return StreamedAnswer{
          400, error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
    }
    StatusHead head{[&manager] { return manager.Ready(); }, clock.WallNow(), std::nullopt};
    if (leadership != nullptr) head.leader_election = leadership->StatusJson();
    StatusStateLookup lookup{
        [&reconcilers](const std::string& key) { return reconcilers.versions.State(key); },
        [&reconcilers](const std::string& key) { return reconcilers.jobs.State(key); },
        [&reconcilers] { return reconcilers.policies.Statuses(); }};
    auto stream = std::make_shared<StatusStream>(desired.Current(), std::move(lookup),
                                                 std::move(query).value(), std::move(head));
    return StreamedAnswer{200, "", [stream](std::string& out) { return stream->Next(out); }};
  };
}

Result<std::unique_ptr<HttpServer>> ServeHttp(const std::string& address, HttpHandlers handlers) {
  Result<std::pair<std::string, int>> listen = ParseListenAddress(address);
  if (!listen) return listen.error();
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(listen->first, listen->second, std::move(handlers));
  if (!server) return server.error();
  log::Info("http server listening",
            {{"address", listen->first + ":" + std::to_string((*server)->port())}});
  return server;
}

void AnnounceStarted(const SystemdNotifier& notifier, const Flags& flags, std::size_t objects) {
  notifier.Notify("READY=1\nSTATUS=reconciling " + std::to_string(objects) + " objects");
  log::Info("controller started", {{"manifests", flags.manifests},
                                   {"endpoint", flags.endpoint},
                                   {"objects", std::to_string(objects)},
                                   {"workers", std::to_string(flags.workers)},
                                   {"qps", fmt::format("{}", flags.qps)},
                                   {"dry_run", flags.dry_run ? "true" : "false"}});
}

// The main thread waits for signals and pings the systemd watchdog while the loop is
// healthy, so a wedged controller is restarted. Returns on SIGTERM or SIGINT (false), or
// when the leadership is lost (true); SIGHUP rescans the manifests.
bool WaitForShutdown(const sigset_t& signals, const SystemdNotifier& notifier,
                     ManifestWatcher& watcher, const Probes& probes, const Leadership* leadership) {
  const auto tick =
      notifier.watchdog_interval()
          ? std::min<Duration>(*notifier.watchdog_interval() / 2, std::chrono::seconds(1))
          : Duration(std::chrono::seconds(1));
  timespec timeout{};
  timeout.tv_sec = static_cast<time_t>(duration_cast<std::chrono::seconds>(tick).count());
  timeout.tv_nsec = static_cast<long>((tick - std::chrono::seconds(timeout.tv_sec)).count());
  while (true) {
    if (leadership != nullptr && leadership->Lost()) {
      log::Error("leadership lost; exiting so the supervisor restarts this replica as a follower");
      return true;
    }
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGHUP) {
      log::Info("SIGHUP: rescanning manifests");
      notifier.Notify("RELOADING=1");
      watcher.Trigger();
      notifier.Notify("READY=1");
    } else if (sig == SIGTERM || sig == SIGINT) {
      log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      return false;
    }
    if (notifier.watchdog_interval() && probes.Health().ok) notifier.Notify("WATCHDOG=1");
  }
}

// Lets in-flight reconciles finish within the grace period, aborts what is left, then gives
// up leadership and stops serving HTTP.
void DrainAndStop(const Flags& flags, Manager& manager, PolicyEnforcer& policies,
                  std::stop_source& stop, const ApiStack& api, Leadership* leader,
                  HttpServer& server) {
  policies.RequestStop();  // no new pass or stop; a call in flight ends with the client below
  if (!manager.Drain(flags.shutdown_grace)) {
    log::Warn("in-flight reconciles did not finish in time; aborting their requests");
  }
  stop.request_stop();  // wakes rate-limit waits
  api.auth->Cancel();   // aborts an IAM token request in flight, releases its waiters
  api.client->Stop();   // aborts requests still in flight
  manager.Join();
  policies.Join();
  // In-flight calls have drained: a leader still holding its lease gives it up now, so
  // another replica takes over at once.
  if (leader != nullptr) leader->Shutdown();
  server.Stop();
  log::Info("stopped");
  spdlog::default_logger_raw()->flush();
}

// glibc gives each thread that allocates under contention its own arena, which keeps freed
// blocks for that thread: with 8 workers decoding list pages, 100k objects' worth of
// fragments (about 30 MiB more peak RSS at 100k, docs/benchmarks.md). Two arenas cost no
// measurable CPU there. MALLOC_ARENA_MAX, when set, still decides.
void LimitMallocArenas() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
#endif
}

int RunDaemon(const Flags& flags, const sigset_t& signals) {
  LimitMallocArenas();  // before the first thread
  SystemClock clock;
  SeededRandom random(std::random_device{}());
  prometheus::Registry registry;
  ControllerMetrics metrics(registry, MACTL_VERSION);
  ProcessMetrics process_metrics(clock.WallNow());
  std::stop_source stop;
  Result<ApiStack> api =
      BuildApiStack(flags, clock, metrics, stop.get_token(),
                    [&metrics](Duration waited) { metrics.ObserveRateLimiterWait(waited); });
  if (!api) return StartupError(api.error().ToString());

  ManifestLoader loader(flags.manifests,
                        LoadOptions{flags.project_id, {}, 100000, 256u << 20, true});
  ManifestSet initial = loader.Load();
  if (Status ok = CheckInitialManifests(initial); !ok) return StartupError(ok.error().message);

  Result<std::unique_ptr<Leadership>> leadership = BuildLeadership(flags, clock, registry);
  if (!leadership) return StartupError(leadership.error().ToString());
  Leadership* const leader = leadership->get();  // null without --leader-elect
  SnapshotStore desired;
  Observer observer(*api->client, clock);
  WorkQueue queue(clock, BackoffPolicy{flags.backoff_base, flags.backoff_max, 0.1}, random,
                  &metrics, ResyncSlot(flags.resync));
  Reconcilers reconcilers(flags, desired, *api->client, observer, leader, random, clock, metrics);
  Manager manager(ManagerOptions{flags.workers, flags.stuck_after}, desired, queue,
                  reconcilers.versions, observer, clock, &metrics);
  manager.ReconcileTrainingJobsWith(reconcilers.jobs);
  SnapshotSink sink(manager, reconcilers.policies);
  ManifestSource source(flags.project_id, sink, clock, &metrics);
  const std::size_t initial_objects = initial.objects.size() + initial.jobs.size();
  source.Apply(std::move(initial), "start");
  // Later scans run on the watcher's thread: a burst naming only manifest files re-reads
  // those; anything else (and the periodic safety net) walks the whole tree.
  // A full scan of an unchanged tree (the periodic safety net) builds no new snapshot.
  ManifestWatcher watcher(WatcherOptions(flags), clock, [&](const ScanRequest& scan) {
    const std::string_view reason = ScanReasonName(scan.reason);
    if (!scan.full) return source.Apply(loader.LoadChanged(scan.files), reason);
    if (std::optional<ManifestSet> set = loader.LoadIfChanged()) {
      return source.Apply(std::move(*set), reason);
    }
    source.Unchanged(reason);
  });
  if (Status ok = watcher.Start(); !ok) return StartupError(ok.error().ToString());

  Probes probes(manager, watcher, clock, 3 * flags.rescan_interval + std::chrono::seconds(30),
                leader);
  Result<std::unique_ptr<HttpServer>> server = ServeHttp(
      flags.listen,
      HttpHandlers{MetricsHandler(registry, process_metrics, manager),
                   [&probes] { return probes.Health(); }, [&probes] { return probes.Ready(); },
                   StatusHandler(desired, reconcilers, manager, clock, leader)});
  if (!server) return StartupError(server.error().message);

  std::jthread acting_when_leading = StartActing(manager, reconcilers.policies, leader);
  SystemdNotifier notifier;
  AnnounceStarted(notifier, flags, initial_objects);
  const bool lost = WaitForShutdown(signals, notifier, watcher, probes, leader);

  probes.SetShuttingDown();
  notifier.Notify("STOPPING=1");
  acting_when_leading = {};  // stops waiting for leadership
  watcher.Stop();
  DrainAndStop(flags, manager, reconcilers.policies, stop, *api, leader, **server);
  return lost ? kExitError : kExitOk;
}

}  // namespace
}  // namespace mactl

int main(int argc, char** argv) {
  // Block the signals before any thread exists so only sigtimedwait sees them (also as
  // PID 1 in a container), and keep a closed peer from killing the process.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::vector<std::string> args(argv, argv + argc);
  const char* env_level = std::getenv("MODELARTS_CONTROLLER_LOG_LEVEL");
  mactl::Result<mactl::Flags> flags = mactl::ParseFlags(args, env_level ? env_level : "");
  if (!flags) {
    std::cerr << "modelarts-controller: " << flags.error().message << "\n";
    return mactl::kExitError;
  }
  if (flags->command == "help") {
    std::cout << mactl::UsageText();
    return mactl::kExitOk;
  }
  if (flags->command == "version") {
    std::cout << "modelarts-controller " << MACTL_VERSION << "\n";
    return mactl::kExitOk;
  }
  if (mactl::Status logging = mactl::log::Configure(flags->log_format, flags->log_level);
      !logging) {
    std::cerr << "modelarts-controller: " << logging.error().message << "\n";
    return mactl::kExitError;
  }
  if (flags->command == "validate") return mactl::RunValidate(*flags, std::cout);
  if (flags->command == "get") return mactl::RunGet(*flags, std::cout, std::cerr);
  if (flags->command == "plan") return mactl::RunPlanCommand(*flags);
  return mactl::RunDaemon(*flags, signals);
}
