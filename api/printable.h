#pragma once

// What an error message may show of untrusted input (a manifest value, a command-line
// duration, a parser's message quoting the input): one printable line, bounded. Errors go
// to single-line logs and /status.

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace mactl {

enum class NonAscii {
  kKeep,     // bytes >= 0x80 pass (UTF-8 text stays readable)
  kReplace,  // bytes >= 0x80 become '?' too (the input should be ASCII anyway)
};

// At most max_bytes of text with control bytes (C0 and DEL) made '?', and "..." when cut.
std::string PrintableExcerpt(std::string_view text,
                             std::size_t max_bytes = std::numeric_limits<std::size_t>::max(),
                             NonAscii non_ascii = NonAscii::kKeep);

}  // namespace mactl
