#pragma once

// Structured logging on top of spdlog. Events carry a message and key/value fields;
// the sink's formatter renders them as `message key=value ...` (text) or as one JSON
// object per line (json). spdlog's default logger is the one tolerated global.

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "api/result.h"

namespace mactl::log {

using Field = std::pair<std::string_view, std::string>;

void Event(spdlog::level::level_enum level, std::string_view message,
           std::initializer_list<Field> fields = {});

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Event(spdlog::level::debug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Event(spdlog::level::info, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Event(spdlog::level::warn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Event(spdlog::level::err, m, f);
}

// trace|debug|info|warn|warning|error|err|critical|off. spdlog's own parser maps an
// unknown name to "off" silently; this one refuses it.
Result<spdlog::level::level_enum> ParseLevel(std::string_view name);

// Installs the default logger on stdout (what journald and the kubelet collect) with
// the chosen format ("text" or "json") and level.
Status Configure(std::string_view format, std::string_view level);

}  // namespace mactl::log
