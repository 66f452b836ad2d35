#pragma once

// Shared by the fuzz targets: a failed property prints what was violated and aborts, so
// libFuzzer reports a crash and saves the input.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace mactl::fuzz {

[[noreturn]] inline void Violated(const char* property, const char* file, int line,
                                  std::string_view detail) {
  constexpr std::size_t kShown = 300;
  std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, property);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail (%zu bytes): %.*s%s\n", detail.size(),
                 static_cast<int>(detail.size() < kShown ? detail.size() : kShown), detail.data(),
                 detail.size() > kShown ? "..." : "");
  }
  std::abort();
}

// Printable ASCII and UTF-8 continuation/lead bytes are fine; control bytes (a line break,
// an ANSI escape) are not: these texts end up in single-line logs.
inline bool HasControlBytes(std::string_view s) {
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

}  // namespace mactl::fuzz

#define FUZZ_CHECK(cond, detail)                                               \
  do {                                                                         \
    if (!(cond)) ::mactl::fuzz::Violated(#cond, __FILE__, __LINE__, (detail)); \
  } while (0)
