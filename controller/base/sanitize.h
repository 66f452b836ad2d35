#pragma once

// Turns untrusted text (API bodies, error texts) into something safe to put in a log
// line, an Error message or /status: bounded, single-line, printable, secret-free.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mactl {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Bounded, single-line, printable text of an API body for logs/errors: control characters escaped,
// truncated to max_bytes with "…(N more bytes)", and any of the given secrets replaced by
// "[REDACTED]".
//
// Details:
// - Secrets are replaced first, on the raw text, so a secret cut by the truncation can never
//   leak a prefix. Empty secrets are ignored; longer secrets win over shorter overlapping ones.
// - \n, \r, \t and \\ become two-character escapes; other C0 controls, DEL, C1 controls,
//   U+2028/U+2029 and bytes that are not valid UTF-8 become \xNN (one per byte).
//   Valid printable UTF-8 is kept as is.
// - max_bytes bounds the escaped text; escapes and UTF-8 sequences are never split. When
//   something was cut, "…(N more bytes)" follows, N counting the bytes of the (redacted)
//   input that were left out.
std::string SanitizeForLog(std::string_view text, std::size_t max_bytes = 512,
                           const std::vector<std::string>& secrets = {});

// Replaces every occurrence of every non-empty secret in text by "[REDACTED]".
std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets);

}  // namespace mactl
