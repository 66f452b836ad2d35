// modelarts-sim: wiring only. Parses flags, builds the simulator, serves until SIGTERM/SIGINT.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "controller/base/clock.h"
#include "controller/base/random.h"
#include "sim/fault_injector.h"
#include "sim/request_log.h"
#include "sim/sim_auth.h"
#include "sim/sim_config.h"
#include "sim/sim_server.h"
#include "sim/sim_state.h"
#include "sim/sleeper.h"
#include "sim/v2_jobs.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "modelarts-sim: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread exists so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  using namespace mactl;
  using namespace mactl::sim;

  const auto config = ParseSimFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!config) return Fail(config.error().message);
  if (config->help) {
    std::fputs(SimUsage().c_str(), stdout);
    return 0;
  }
  // stdout carries only the "listening on" line; logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("modelarts-sim"));
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  auto auth_config = ResolveAuthConfig(*config);
  if (!auth_config) return Fail(auth_config.error().message);

  SystemClock clock;
  SeededRandom random(config->random_seed);
  SimState state(clock, config->kill_delay);
  state.SetStopLag(config->stop_lag);
  if (Status s = PopulateState(state, *config); !s) return Fail(s.error().message);
  V2JobStore training_jobs(clock, config->kill_delay);
  if (Status s = PopulateTrainingJobs(training_jobs, *config); !s) return Fail(s.error().message);
  FaultInjector faults(random);
  faults.Add(config->faults);
  RequestLog log;
  // Issued IAM tokens must not be predictable from --random-seed.
  SeededRandom token_random(std::random_device{}());
  SimAuth auth(std::move(auth_config).value(), clock, token_random);
  InterruptibleSleeper sleeper;
  SimServerOptions options;
  options.tls_cert_file = config->tls_cert_file;
  options.tls_key_file = config->tls_key_file;
  options.project_names[config->project_id] = config->project_name;
  SimServer server(state, faults, log, auth, clock, sleeper, options);
  server.ServeTrainingJobs(training_jobs);

  const auto port = server.Start(config->listen_host, config->listen_port);
  if (!port) return Fail(port.error().message);
  if (!config->port_file.empty()) {
    if (Status s = WritePortFile(config->port_file, *port); !s) {
      server.Stop();
      return Fail(s.error().message);
    }
  }
  std::printf("listening on %s:%d%s\n", config->listen_host.c_str(), *port,
              config->tls_cert_file.empty() ? "" : " (https)");
  std::fflush(stdout);
  spdlog::info(
      "serving {} project(s) and {} v2 training job(s) over {}, kill delay {} ms, stop lag {} "
      "ms, credentials: {}, {} fault rule(s)",
      state.ProjectIds().size(), training_jobs.All().size(),
      config->tls_cert_file.empty() ? "http" : "https",
      std::chrono::duration_cast<std::chrono::milliseconds>(config->kill_delay).count(),
      std::chrono::duration_cast<std::chrono::milliseconds>(config->stop_lag).count(),
      auth.Describe(), config->faults.size());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received signal {}, stopping", sig);
  sleeper.Interrupt();  // a request held by a latency fault must not delay shutdown
  server.Stop();
  spdlog::shutdown();
  return 0;
}
