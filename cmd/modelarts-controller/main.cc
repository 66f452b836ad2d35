// modelarts-controller: wiring only. Every piece with behaviour worth testing lives in
// api/ or controller/; main builds them in dependency order, owns them, runs, and tears
// them down in reverse.

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include "api/manifest_loader.h"
#include "controller/runtime/backoff.h"
#include "controller/cli/commands.h"
#include "controller/runtime/manager.h"
#include "controller/auth/credentials.h"
#include "controller/cli/flags.h"
#include "controller/cloud/http_cloud_client.h"
#include "controller/runtime/http_server.h"
#include "controller/base/log.h"
#include "controller/runtime/manifest_watcher.h"
#include "controller/runtime/metrics.h"
#include "controller/core/observer.h"
#include "controller/runtime/process_metrics.h"
#include "controller/core/reconciler.h"
#include "controller/runtime/sd_notify.h"
#include "controller/cloud/token_bucket.h"
#include "controller/cloud/token_bucket_throttle.h"
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

int RunPlanCommand(const Flags& flags) {
  SystemClock clock;
  DiscardApiCalls discard;
  std::stop_source stop;
  Result<ApiStack> api = BuildApiStack(flags, clock, discard, stop.get_token(), [](Duration) {});
  if (!api) return StartupError(api.error().ToString());
  return RunPlan(flags, *api->client, clock, std::cout);
}

int RunDaemon(const Flags& flags, const sigset_t& signals) {
  SystemClock clock;
  SeededRandom random(std::random_device{}());
  const WallTime started = clock.WallNow();

  prometheus::Registry registry;
  ControllerMetrics metrics(registry, MACTL_VERSION);
  ProcessMetrics process_metrics(started);

  std::stop_source stop;
  Result<ApiStack> api =
      BuildApiStack(flags, clock, metrics, stop.get_token(),
                    [&metrics](Duration waited) { metrics.ObserveRateLimiterWait(waited); });
  if (!api) return StartupError(api.error().ToString());

  ManifestLoader loader(flags.manifests, LoadOptions{flags.project_id, {}, 100000, 256u << 20});
  ManifestSet initial = loader.Load();
  if (flags.project_id.empty()) {
    for (const ManifestError& e : initial.errors) {
      if (e.reason.find("--project-id") != std::string::npos) {
        return StartupError(e.ToString() + " (set --project-id or spec.projectId everywhere)");
      }
    }
  }
  if (initial.files == 0 && !initial.errors.empty()) {
    return StartupError(initial.errors.front().ToString());
  }

  Observer observer(*api->client, clock);
  WorkQueue queue(clock, &metrics);
  ItemBackoff backoff(BackoffPolicy{flags.backoff_base, flags.backoff_max, 0.1}, random);
  Manager* controller_ref = nullptr;  // set below; workers start only after that
  ReconcilerOptions reconciler_options;
  reconciler_options.resync = flags.resync;
  reconciler_options.poll = flags.poll;
  reconciler_options.dry_run = flags.dry_run;
  Reconciler reconciler(
      reconciler_options, [&controller_ref] { return controller_ref->Snapshot(); }, *api->client,
      observer, backoff, random, clock, &metrics);
  Manager controller(ManagerOptions{flags.workers, flags.stuck_after}, queue, reconciler,
                        observer, clock, &metrics);
  controller_ref = &controller;

  // Manifest scans run on the watcher's thread (and once here, before it starts).
  std::vector<std::string> reported_errors;
  auto apply = [&](ManifestSet set, std::string_view reason) {
    std::vector<std::string> now_errors;
    for (const ManifestError& e : set.errors) {
      now_errors.push_back(e.ToString());
      if (std::find(reported_errors.begin(), reported_errors.end(), now_errors.back()) ==
          reported_errors.end()) {
        log::Error("invalid manifest", {{"file", e.position.file},
                                        {"line", std::to_string(e.position.line)},
                                        {"column", std::to_string(e.position.column)},
                                        {"error", e.reason}});
      }
    }
    reported_errors = std::move(now_errors);
    metrics.ManifestReload(set.errors.empty(), clock.WallNow());
    log::Debug("manifests scanned", {{"reason", std::string(reason)},
                                     {"objects", std::to_string(set.objects.size())},
                                     {"errors", std::to_string(set.errors.size())}});
    controller.ApplySnapshot(
        BuildDesiredSnapshot(std::move(set.objects), std::move(set.errors), flags.project_id));
  };
  const std::size_t initial_objects = initial.objects.size();
  apply(std::move(initial), "start");

  std::atomic<bool> shutting_down{false};
  ManifestWatcher watcher(
      ManifestWatcher::Options{flags.manifests, milliseconds(200),
                               duration_cast<milliseconds>(flags.rescan_interval)},
      clock, [&](std::string_view reason) { apply(loader.Load(), reason); });
  if (Status watching = watcher.Start(); !watching) {
    return StartupError(watching.error().ToString());
  }

  prometheus::TextSerializer serializer;
  const Duration watcher_stale_after = 3 * flags.rescan_interval + std::chrono::seconds(30);
  auto health = [&]() -> ProbeResult {
    const HealthReport report = controller.Health();
    if (!report.healthy) return {false, report.detail};
    if (clock.Now() - watcher.LastActivity() > watcher_stale_after) {
      return {false, "the manifest watcher has made no progress"};
    }
    return {true, "ok"};
  };
  HttpHandlers handlers;
  handlers.metrics = [&] {
    controller.UpdateGauges();
    std::vector<prometheus::MetricFamily> families = registry.Collect();
    for (auto& family : process_metrics.Collect()) families.push_back(std::move(family));
    return serializer.Serialize(families);
  };
  handlers.healthz = health;
  handlers.readyz = [&]() -> ProbeResult {
    if (shutting_down) return {false, "shutting down"};
    if (!controller.Ready()) return {false, "not every object has been observed yet"};
    return {true, "ok"};
  };
  // Manifest file names and offending values may hold bytes that are not UTF-8; the strict
  // dump() throws on them and /status would answer 500 without any content.
  handlers.status = [&] {
    return controller.StatusJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  };

  Result<std::pair<std::string, int>> listen = ParseListenAddress(flags.listen);
  if (!listen) return StartupError(listen.error().message);
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(listen->first, listen->second, handlers);
  if (!server) return StartupError(server.error().message);
  log::Info("http server listening",
            {{"address", listen->first + ":" + std::to_string((*server)->port())}});

  controller.Start();
  SystemdNotifier notifier;
  notifier.Notify("READY=1\nSTATUS=reconciling " + std::to_string(initial_objects) + " objects");
  log::Info("controller started", {{"manifests", flags.manifests},
                                   {"endpoint", flags.endpoint},
                                   {"objects", std::to_string(initial_objects)},
                                   {"workers", std::to_string(flags.workers)},
                                   {"qps", fmt::format("{}", flags.qps)},
                                   {"dry_run", flags.dry_run ? "true" : "false"}});

  // The main thread waits for signals and pings the systemd watchdog while the loop is
  // healthy, so a wedged controller is restarted.
  const auto tick =
      notifier.watchdog_interval()
          ? std::min<Duration>(*notifier.watchdog_interval() / 2, std::chrono::seconds(1))
          : Duration(std::chrono::seconds(1));
  while (true) {
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(duration_cast<std::chrono::seconds>(tick).count());
    timeout.tv_nsec = static_cast<long>((tick - std::chrono::seconds(timeout.tv_sec)).count());
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &timeout);
    if (sig == SIGHUP) {
      log::Info("SIGHUP: rescanning manifests");
      notifier.Notify("RELOADING=1");
      watcher.Trigger();
      notifier.Notify("READY=1");
    } else if (sig == SIGTERM || sig == SIGINT) {
      log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    if (notifier.watchdog_interval() && health().ok) notifier.Notify("WATCHDOG=1");
  }

  shutting_down = true;
  notifier.Notify("STOPPING=1");
  watcher.Stop();
  if (!controller.Drain(flags.shutdown_grace)) {
    log::Warn("in-flight reconciles did not finish in time; aborting their requests");
  }
  stop.request_stop();  // wakes rate-limit waits
  api->client->Stop();  // aborts requests still in flight
  controller.Join();
  (*server)->Stop();
  log::Info("stopped");
  spdlog::default_logger_raw()->flush();
  return kExitOk;
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
