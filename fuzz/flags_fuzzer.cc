// Fuzzes ParseFlags (controller/cli/flags.h), the command line of modelarts-controller.
//
// ParseFlags is safe to call in-process: it reads only its arguments (the environment's log
// level is passed in), starts nothing and never exits; a bad flag is a returned Error.
// The input is split on '\n' into argv[1..]; argv[0] is "modelarts-controller".
//
// Properties checked:
// - nothing escapes: no exception, no sanitizer report;
// - a rejected command line is an Error with code InvalidFlag and a non-empty message
//   whose length is bounded by what it echoes (at most twice the input plus a fixed text)
//   and which has no control bytes (echoed arguments are escaped);
// - an accepted one satisfies the documented invariants: a known command; --manifests for
//   run/plan/validate, --endpoint for run/plan, --server for get; qps in (0, 1e6]; burst in
//   [1, 100000]; workers in [1, 256]; every duration > 0; backoff-max >= backoff-base;
//   log format text|json; output table|json;
// - the environment's log level applies exactly when --log-level is not given;
// - round trip: writing the accepted Flags back as a command line (durations through
//   FormatDuration, qps in its shortest exact form) and parsing that gives the same Flags.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "api/duration.h"
#include "api/version_ref.h"
#include "controller/cli/flags.h"
#include "fuzz/fuzz_check.h"

namespace {

using mactl::Flags;

mactl::Result<Flags> Parse(const std::vector<std::string>& args, const std::string& env) {
  try {
    return mactl::ParseFlags(args, env);
  } catch (const std::exception& e) {
    mactl::fuzz::Violated("ParseFlags never throws", __FILE__, __LINE__, e.what());
  } catch (...) {
    mactl::fuzz::Violated("ParseFlags never throws", __FILE__, __LINE__, "non-std exception");
  }
}

bool Same(const Flags& a, const Flags& b) {
  return a.command == b.command && a.manifests == b.manifests && a.project_id == b.project_id &&
         a.endpoint == b.endpoint && a.token_file == b.token_file && a.ca_file == b.ca_file &&
         a.insecure_skip_tls_verify == b.insecure_skip_tls_verify && a.qps == b.qps &&
         a.burst == b.burst && a.api_timeout == b.api_timeout && a.listen == b.listen &&
         a.workers == b.workers && a.resync == b.resync && a.poll == b.poll &&
         a.backoff_base == b.backoff_base && a.backoff_max == b.backoff_max &&
         a.rescan_interval == b.rescan_interval && a.stuck_after == b.stuck_after &&
         a.shutdown_grace == b.shutdown_grace && a.dry_run == b.dry_run &&
         a.log_format == b.log_format && a.log_level == b.log_level &&
         a.log_level_set == b.log_level_set && a.server == b.server && a.output == b.output;
}

std::string Shortest(double v) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  FUZZ_CHECK(ec == std::errc(), "to_chars");
  return std::string(buffer, end);
}

// The command line that should parse back to `f` (a run, plan, validate or get).
std::vector<std::string> Unparse(const Flags& f) {
  std::vector<std::string> args = {"modelarts-controller", f.command};
  auto add = [&](const char* name, const std::string& value) {
    args.emplace_back(name);
    args.push_back(value);
  };
  const bool run = f.command == "run";
  const bool run_plan = run || f.command == "plan";
  if (f.command != "get") {
    add("--manifests", f.manifests);
    // An empty --project-id is refused, so an unset one is left out.
    if (!f.project_id.empty()) add("--project-id", f.project_id);
  }
  if (run_plan) {
    add("--endpoint", f.endpoint);
    add("--token-file", f.token_file);
    add("--ca-file", f.ca_file);
    if (f.insecure_skip_tls_verify) args.emplace_back("--insecure-skip-tls-verify");
    add("--qps", Shortest(f.qps));
    add("--burst", std::to_string(f.burst));
    add("--api-timeout", mactl::FormatDuration(f.api_timeout));
  }
  if (run) {
    add("--listen", f.listen);
    add("--workers", std::to_string(f.workers));
    add("--resync", mactl::FormatDuration(f.resync));
    add("--poll", mactl::FormatDuration(f.poll));
    add("--backoff-base", mactl::FormatDuration(f.backoff_base));
    add("--backoff-max", mactl::FormatDuration(f.backoff_max));
    add("--rescan-interval", mactl::FormatDuration(f.rescan_interval));
    add("--stuck-after", mactl::FormatDuration(f.stuck_after));
    add("--shutdown-grace", mactl::FormatDuration(f.shutdown_grace));
    if (f.dry_run) args.emplace_back("--dry-run");
  }
  add("--log-format", f.log_format);
  if (f.log_level_set) add("--log-level", f.log_level);
  if (f.command == "get") {
    add("--server", f.server);
    add("--output", f.output);
  }
  return args;
}

void CheckAccepted(const Flags& f, const std::string& env) {
  const std::string& c = f.command;
  FUZZ_CHECK(
      c == "run" || c == "plan" || c == "validate" || c == "get" || c == "help" || c == "version",
      c);
  if (c == "help" || c == "version") return;
  if (c != "get") FUZZ_CHECK(!f.manifests.empty(), c);
  FUZZ_CHECK(f.project_id.empty() || mactl::IsValidProjectId(f.project_id), f.project_id);
  if (c == "run" || c == "plan") FUZZ_CHECK(!f.endpoint.empty(), c);
  if (c == "get") FUZZ_CHECK(!f.server.empty(), c);
  FUZZ_CHECK(f.qps > 0 && f.qps <= 1e6, Shortest(f.qps));
  FUZZ_CHECK(f.burst >= 1 && f.burst <= 100000, std::to_string(f.burst));
  FUZZ_CHECK(f.workers >= 1 && f.workers <= 256, std::to_string(f.workers));
  for (const mactl::Duration d : {f.api_timeout, f.resync, f.poll, f.backoff_base, f.backoff_max,
                                  f.rescan_interval, f.stuck_after, f.shutdown_grace}) {
    FUZZ_CHECK(d.count() > 0, std::to_string(d.count()));
  }
  FUZZ_CHECK(f.backoff_max >= f.backoff_base, "");
  FUZZ_CHECK(f.log_format == "text" || f.log_format == "json", f.log_format);
  FUZZ_CHECK(f.output == "table" || f.output == "json", f.output);
  if (!f.log_level_set) FUZZ_CHECK(f.log_level == (env.empty() ? "info" : env), f.log_level);

  const mactl::Result<Flags> again = Parse(Unparse(f), env);
  FUZZ_CHECK(again.ok(), again.ok() ? "" : again.error().message);
  FUZZ_CHECK(Same(*again, f), "the written-back command line parses differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args = {"modelarts-controller"};
  if (!input.empty()) {
    std::size_t start = 0;
    while (true) {
      const std::size_t end = input.find('\n', start);
      args.emplace_back(input.substr(start, end == std::string_view::npos ? end : end - start));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
  }

  const mactl::Result<Flags> parsed = Parse(args, "");
  if (!parsed.ok()) {
    const mactl::Error& e = parsed.error();
    FUZZ_CHECK(e.code == "InvalidFlag", e.code);
    FUZZ_CHECK(!e.message.empty(), input);
    FUZZ_CHECK(e.message.size() <= 2 * size + 256, e.message);
    // Echoed arguments are escaped: the message is one printable line.
    for (const char c : e.message) {
      const auto byte = static_cast<unsigned char>(c);
      FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, e.message);
    }
    return 0;
  }
  CheckAccepted(*parsed, "");

  // The environment's level is a default only.
  const std::string env = "debug";
  const mactl::Result<Flags> with_env = Parse(args, env);
  FUZZ_CHECK(with_env.ok(), with_env.ok() ? "" : with_env.error().message);
  Flags expected = *parsed;
  if (!expected.log_level_set) expected.log_level = env;
  FUZZ_CHECK(Same(*with_env, expected), "environment log level misapplied");
  CheckAccepted(*with_env, env);
  return 0;
}
