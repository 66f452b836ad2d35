// Fuzzes ParseDuration and FormatDuration (api/duration.h).
//
// The input is parsed as duration text; when it is at least 8 bytes long its first 8 bytes
// are also read as a raw nanosecond count, so that FormatDuration sees every int64, not only
// the values a parse can produce.
//
// Properties checked:
// - nothing escapes: no exception, no sanitizer report;
// - an accepted text is never negative, never empty and never starts with a sign;
// - a rejected text is an error with code InvalidDuration and a non-empty message, under
//   512 bytes and free of control bytes (the input is quoted bounded and made printable);
// - round trip: for every d >= 0, ParseDuration(FormatDuration(d)) == d, and formatting is
//   canonical: FormatDuration of that parse gives the same text again;
// - FormatDuration writes only digits, '.', unit letters and a leading '-' for d < 0, which
//   ParseDuration rejects.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "api/duration.h"
#include "fuzz/fuzz_check.h"

namespace {

using std::chrono::nanoseconds;

constexpr std::size_t kMaxMessageBytes = 512;

mactl::Result<nanoseconds> Parse(std::string_view text) {
  try {
    return mactl::ParseDuration(text);
  } catch (const std::exception& e) {
    mactl::fuzz::Violated("ParseDuration never throws", __FILE__, __LINE__, e.what());
  }
}

std::string Format(nanoseconds d) {
  try {
    return mactl::FormatDuration(d);
  } catch (const std::exception& e) {
    mactl::fuzz::Violated("FormatDuration never throws", __FILE__, __LINE__, e.what());
  }
}

void CheckRoundTrip(nanoseconds d) {
  const std::string text = Format(d);
  FUZZ_CHECK(!text.empty(), "");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool ok = (c >= '0' && c <= '9') || c == '.' || c == 'n' || c == 'u' || c == 'm' ||
                    c == 's' || c == 'h' || (c == '-' && i == 0);
    FUZZ_CHECK(ok, text);
  }
  const mactl::Result<nanoseconds> back = Parse(text);
  if (d.count() < 0) {
    FUZZ_CHECK(text.front() == '-', text);
    FUZZ_CHECK(!back.ok(), text);
    return;
  }
  FUZZ_CHECK(back.ok(), text + " -> " + (back.ok() ? std::string() : back.error().message));
  FUZZ_CHECK(back->count() == d.count(),
             std::to_string(d.count()) + " -> " + text + " -> " + std::to_string(back->count()));
  FUZZ_CHECK(Format(*back) == text, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const mactl::Result<nanoseconds> parsed = Parse(text);
  if (parsed.ok()) {
    FUZZ_CHECK(parsed->count() >= 0, text);
    FUZZ_CHECK(!text.empty() && text.front() != '-' && text.front() != '+', text);
    CheckRoundTrip(*parsed);
  } else {
    const mactl::Error& e = parsed.error();
    FUZZ_CHECK(e.code == "InvalidDuration", e.code);
    FUZZ_CHECK(!e.message.empty(), text);
    FUZZ_CHECK(e.message.size() < kMaxMessageBytes, e.message);
    FUZZ_CHECK(!mactl::fuzz::HasControlBytes(e.message), e.message);
  }
  if (size >= sizeof(std::int64_t)) {
    std::int64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    CheckRoundTrip(nanoseconds(raw));
  }
  return 0;
}
