#include "sim/sim_config.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "api/duration.h"
#include "nlohmann/json.hpp"
#include "sim/seed.h"
#include "sim/v2_wire.h"

namespace mactl::sim {
namespace {

Error FlagError(const std::string& message) {
  return MakeError(ErrorClass::kTerminal, "InvalidFlag", message);
}

template <typename T>
std::optional<T> ParseNumber(const std::string& s) {
  T value{};
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

Status ParseListen(const std::string& value, SimConfig& config) {
  const std::size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return FlagError("--listen: expected HOST:PORT, got \"" + value + "\"");
  }
  std::string host = value.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = ParseNumber<int>(value.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return FlagError("--listen: port must be an integer in [0, 65535], got \"" + value + "\"");
  }
  config.listen_host = host;
  config.listen_port = *port;
  return OkStatus();
}

// Reads non-empty, non-comment lines, trailing whitespace removed, with their line numbers.
Result<std::vector<std::pair<int, std::string>>> ReadCredentialLines(const std::string& flag,
                                                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FlagError(flag + ": cannot read " + path);
  std::vector<std::pair<int, std::string>> lines;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') continue;
    lines.emplace_back(number, line);
  }
  return lines;
}

bool ValidLogLevel(const std::string& level) {
  static const std::set<std::string> kLevels = {"trace", "debug", "info",     "warn", "warning",
                                                "err",   "error", "critical", "off"};
  return kLevels.count(level) != 0;
}

}  // namespace

std::string SimUsage() {
  return "usage: modelarts-sim [--listen HOST:PORT] [--port-file PATH] [--seed FILE.json]\n"
         "                     [--generate N] [--generate-training-jobs N]\n"
         "                     [--project-id ID] [--random-seed S]\n"
         "                     [--project-name NAME]\n"
         "                     [--token T | --token-file F] [--kill-delay D] [--stop-lag D]\n"
         "                     [--fault JSON]...\n"
         "                     [--iam-user NAME:PASSWORD:DOMAIN]... [--iam-users-file F]\n"
         "                     [--iam-token-ttl D] [--aksk AK:SK]... [--aksk-file F]\n"
         "                     [--tls-cert CERT.pem --tls-key KEY.pem]\n"
         "                     [--log-level trace|debug|info|warn|error|critical|off]\n";
}

Result<SimConfig> ParseSimFlags(const std::vector<std::string>& args) {
  SimConfig config;
  bool token_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (flag == "-h" || flag == "--help") {
      config.help = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) return FlagError("unexpected argument \"" + flag + "\"");
    if (const std::size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    static const std::set<std::string> kFlags = {
        "--listen",     "--port-file",      "--seed",          "--generate",
        "--project-id", "--random-seed",    "--token",         "--token-file",
        "--kill-delay", "--fault",          "--log-level",     "--project-name",
        "--iam-user",   "--iam-users-file", "--iam-token-ttl", "--aksk",
        "--aksk-file",  "--tls-cert",       "--tls-key",       "--generate-training-jobs",
        "--stop-lag"};
    if (kFlags.count(flag) == 0) return FlagError("unknown flag " + flag);
    if (!value) {
      if (i + 1 >= args.size()) return FlagError(flag + " needs a value");
      value = args[++i];
    }
    const std::string& v = *value;
    if (flag == "--listen") {
      if (Status s = ParseListen(v, config); !s) return s.error();
    } else if (flag == "--port-file") {
      if (v.empty()) return FlagError("--port-file: empty path");
      config.port_file = v;
    } else if (flag == "--seed") {
      if (v.empty()) return FlagError("--seed: empty path");
      config.seed_file = v;
    } else if (flag == "--generate") {
      const auto n = ParseNumber<int>(v);
      if (!n || *n < 0 || *n > 100000) {
        return FlagError("--generate: expected an integer in [0, 100000], got \"" + v + "\"");
      }
      config.generate = *n;
    } else if (flag == "--generate-training-jobs") {
      const auto n = ParseNumber<int>(v);
      if (!n || *n < 0 || *n > 100000) {
        return FlagError("--generate-training-jobs: expected an integer in [0, 100000], got \"" +
                         v + "\"");
      }
      config.generate_training_jobs = *n;
    } else if (flag == "--project-id") {
      if (v.empty() || v.find('/') != std::string::npos) {
        return FlagError("--project-id: must be non-empty and contain no '/'");
      }
      config.project_id = v;
    } else if (flag == "--random-seed") {
      const auto s = ParseNumber<std::uint64_t>(v);
      if (!s) return FlagError("--random-seed: expected a non-negative integer, got \"" + v + "\"");
      config.random_seed = *s;
    } else if (flag == "--token") {
      if (v.empty()) return FlagError("--token: empty token");
      config.token = v;
      token_given = true;
    } else if (flag == "--token-file") {
      if (v.empty()) return FlagError("--token-file: empty path");
      config.token_file = v;
    } else if (flag == "--kill-delay") {
      auto d = ParseDuration(v);
      if (!d) return FlagError("--kill-delay: " + d.error().message);
      config.kill_delay = *d;
    } else if (flag == "--stop-lag") {
      auto d = ParseDuration(v);
      if (!d) return FlagError("--stop-lag: " + d.error().message);
      config.stop_lag = *d;
    } else if (flag == "--fault") {
      const nlohmann::json j = nlohmann::json::parse(v, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) return FlagError("--fault: not valid JSON");
      auto rules = ParseFaultRules(j);
      if (!rules) return FlagError("--fault: " + rules.error().message);
      for (FaultRule& r : rules.value()) config.faults.push_back(std::move(r));
    } else if (flag == "--project-name") {
      if (v.empty()) return FlagError("--project-name: empty name");
      config.project_name = v;
    } else if (flag == "--iam-user") {
      auto user = ParseIamUser(v);
      if (!user) return FlagError("--iam-user: " + user.error().message);
      config.iam_users.push_back(std::move(user).value());
    } else if (flag == "--iam-users-file") {
      if (v.empty()) return FlagError("--iam-users-file: empty path");
      config.iam_users_file = v;
    } else if (flag == "--iam-token-ttl") {
      auto d = ParseDuration(v);
      if (!d) return FlagError("--iam-token-ttl: " + d.error().message);
      if (*d <= Duration::zero()) return FlagError("--iam-token-ttl: must be positive");
      config.iam_token_ttl = *d;
    } else if (flag == "--aksk") {
      auto pair = ParseAccessKeyPair(v);
      if (!pair) return FlagError("--aksk: " + pair.error().message);
      config.access_keys.push_back(std::move(pair).value());
    } else if (flag == "--aksk-file") {
      if (v.empty()) return FlagError("--aksk-file: empty path");
      config.aksk_file = v;
    } else if (flag == "--tls-cert") {
      if (v.empty()) return FlagError("--tls-cert: empty path");
      config.tls_cert_file = v;
    } else if (flag == "--tls-key") {
      if (v.empty()) return FlagError("--tls-key: empty path");
      config.tls_key_file = v;
    } else if (flag == "--log-level") {
      if (!ValidLogLevel(v)) return FlagError("--log-level: unknown level \"" + v + "\"");
      config.log_level = v;
    }
  }
  if (token_given && !config.token_file.empty()) {
    return FlagError("--token and --token-file are mutually exclusive");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return FlagError("--tls-cert and --tls-key must be given together");
  }
  return config;
}

Result<std::optional<std::string>> ResolveToken(const SimConfig& config) {
  if (config.token) return config.token;
  if (config.token_file.empty()) return std::optional<std::string>();
  std::ifstream in(config.token_file, std::ios::binary);
  if (!in) return FlagError("--token-file: cannot read " + config.token_file);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  if (token.empty()) return FlagError("--token-file: " + config.token_file + " is empty");
  return std::optional<std::string>(token);
}

Result<SimAuthConfig> ResolveAuthConfig(const SimConfig& config) {
  SimAuthConfig auth;
  auto token = ResolveToken(config);
  if (!token) return token.error();
  auth.token = *token;
  auth.iam_users = config.iam_users;
  auth.iam_token_ttl = config.iam_token_ttl;
  auth.access_keys = config.access_keys;
  if (!config.iam_users_file.empty()) {
    auto lines = ReadCredentialLines("--iam-users-file", config.iam_users_file);
    if (!lines) return lines.error();
    if (lines->empty())
      return FlagError("--iam-users-file: " + config.iam_users_file + " is empty");
    for (const auto& [number, line] : *lines) {
      auto user = ParseIamUser(line);
      if (!user) {
        return FlagError("--iam-users-file: " + config.iam_users_file + ":" +
                         std::to_string(number) + ": " + user.error().message);
      }
      auth.iam_users.push_back(std::move(user).value());
    }
  }
  if (!config.aksk_file.empty()) {
    auto lines = ReadCredentialLines("--aksk-file", config.aksk_file);
    if (!lines) return lines.error();
    if (lines->empty()) return FlagError("--aksk-file: " + config.aksk_file + " is empty");
    for (const auto& [number, line] : *lines) {
      auto pair = ParseAccessKeyPair(line);
      if (!pair) {
        return FlagError("--aksk-file: " + config.aksk_file + ":" + std::to_string(number) + ": " +
                         pair.error().message);
      }
      auth.access_keys.push_back(std::move(pair).value());
    }
  }
  return auth;
}

Status PopulateState(SimState& state, const SimConfig& config) {
  state.AddProject(config.project_id);
  if (!config.seed_file.empty()) {
    auto seed = LoadSeedFile(config.seed_file);
    if (!seed) return seed.error();
    if (Status s = ApplySeed(state, *seed); !s) return s;
  }
  if (config.generate > 0) {
    const std::int64_t first = state.MaxJobId(config.project_id) + 1;
    for (const JobSeed& job : GenerateJobs(config.generate, first, config.random_seed)) {
      if (Status s = state.AddJob(config.project_id, job); !s) return s;
    }
  }
  return OkStatus();
}

Status PopulateTrainingJobs(V2JobStore& store, const SimConfig& config) {
  if (!config.seed_file.empty()) {
    auto seed = LoadSeedFile(config.seed_file);
    if (!seed) return seed.error();
    if (Status s = ApplyTrainingJobSeed(store, *seed); !s) return s;
  }
  for (const V2JobSeed& job : GenerateV2Jobs(config.generate_training_jobs, config.random_seed)) {
    if (Status s = store.AddJob(config.project_id, job); !s) return s;
  }
  return OkStatus();
}

Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    out.flush();
    if (!out) {
      return MakeError(ErrorClass::kTerminal, "PortFile", "cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return MakeError(ErrorClass::kTerminal, "PortFile", "cannot rename " + tmp + " to " + path);
  }
  return OkStatus();
}

}  // namespace mactl::sim
