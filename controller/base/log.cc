#include "controller/base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

#include "controller/base/sanitize.h"

namespace mactl::log {
namespace {

using nlohmann::json;

// Events travel through spdlog as this marker followed by a JSON object, so the
// formatter can render fields in either format; other messages are plain text.
constexpr char kMarker = '\x1e';

json Payload(std::string_view message, std::initializer_list<Field> fields) {
  json j = json::object();
  j["msg"] = message;
  for (const auto& [key, value] : fields) j[std::string(key)] = value;
  return j;
}

json ParsePayload(std::string_view text) {
  if (!text.empty() && text.front() == kMarker) {
    json j = json::parse(text.substr(1), nullptr, false);
    if (j.is_object()) return j;
  }
  return json{{"msg", text}};
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool NeedsQuotes(const std::string& v) {
  if (v.empty()) return true;
  for (const char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// `message key=value key="with space"`
class TextPayloadFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const json j = ParsePayload(std::string_view(msg.payload.data(), msg.payload.size()));
    std::string out = j.value("msg", std::string());
    for (const auto& [key, value] : j.items()) {
      if (key == "msg") continue;
      std::string v = value.is_string() ? value.get<std::string>() : Dump(value);
      out += " " + key + "=" + (NeedsQuotes(v) ? Dump(json(v)) : v);
    }
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextPayloadFlag>();
  }
};

// The fields of a JSON line after ts/level: `"msg":"...","key":"..."` (no braces).
class JsonPayloadFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string body =
        Dump(ParsePayload(std::string_view(msg.payload.data(), msg.payload.size())));
    // Strip the outer braces; the pattern supplies them around ts and level.
    dest.append(body.data() + 1, body.data() + body.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonPayloadFlag>();
  }
};

}  // namespace

void Event(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<Field> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  logger->log(level, "{}{}", kMarker, Dump(Payload(message, fields)));
}

Result<spdlog::level::level_enum> ParseLevel(std::string_view name) {
  using spdlog::level::level_enum;
  static constexpr std::pair<std::string_view, level_enum> kLevels[] = {
      {"trace", level_enum::trace}, {"debug", level_enum::debug},       {"info", level_enum::info},
      {"warn", level_enum::warn},   {"warning", level_enum::warn},      {"error", level_enum::err},
      {"err", level_enum::err},     {"critical", level_enum::critical}, {"off", level_enum::off}};
  for (const auto& [n, level] : kLevels) {
    if (n == name) return level;
  }
  return MakeError(ErrorClass::kTerminal, "InvalidLogLevel",
                   "unknown log level \"" + SanitizeForLog(name, 128) +
                       "\" (use trace, debug, info, warn, error, critical or off)");
}

Status Configure(std::string_view format, std::string_view level) {
  Result<spdlog::level::level_enum> parsed = ParseLevel(level);
  if (!parsed) return parsed.error();
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == "json") {
    formatter->add_flag<JsonPayloadFlag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*})");
  } else if (format == "text") {
    formatter->add_flag<TextPayloadFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %*");
  } else {
    return MakeError(ErrorClass::kTerminal, "InvalidLogFormat",
                     "unknown log format \"" + std::string(format) + "\" (use text or json)");
  }
  auto logger = std::make_shared<spdlog::logger>("modelarts-controller",
                                                 std::make_shared<spdlog::sinks::stdout_sink_mt>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(*parsed);
  logger->flush_on(spdlog::level::trace);  // one event per line, visible at once
  spdlog::set_default_logger(std::move(logger));
  return OkStatus();
}

}  // namespace mactl::log
