#pragma once

// Static-token authentication (README, "Credentials"): OS_TOKEN or --token-file, sent as
// X-Auth-Token.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "api/result.h"
#include "controller/cloud/authenticator.h"

namespace mactl {

inline constexpr std::string_view kAuthTokenHeader = "X-Auth-Token";

// Largest token file read; anything bigger is not a token.
inline constexpr std::uintmax_t kMaxTokenFileBytes = 64 * 1024;

// OS_TOKEN or --token-file: sends X-Auth-Token. With a file, re-reads it when its mtime/size
// changes (Kubernetes Secret rotation) and on OnUnauthorized(); trims trailing whitespace/newlines;
// an empty or unreadable file is an Error that names the file but never the content. Thread-safe.
class StaticTokenAuthenticator final : public Authenticator {
 public:
  static StaticTokenAuthenticator FromToken(std::string token);
  static Result<std::unique_ptr<StaticTokenAuthenticator>> FromFile(std::filesystem::path path);

  // Moving is for construction only (FromToken returns by value); never move one in use.
  StaticTokenAuthenticator(StaticTokenAuthenticator&& other) noexcept;
  StaticTokenAuthenticator& operator=(StaticTokenAuthenticator&&) = delete;
  StaticTokenAuthenticator(const StaticTokenAuthenticator&) = delete;
  StaticTokenAuthenticator& operator=(const StaticTokenAuthenticator&) = delete;
  ~StaticTokenAuthenticator() override = default;

  // Authenticator methods
  // Adds X-Auth-Token. With a file, first re-reads it if it changed (or after a 401); a
  // failed re-read is a retryable "Auth.TokenFile" error and the old token is not sent.
  Status Apply(OutgoingRequest& request) override;
  // A file is re-read before the next request; a fixed token has nothing to renew. One token
  // serves every project.
  void OnUnauthorized(const OutgoingRequest& rejected) override;
  std::string Describe() const override;  // "token" or "token-file"

 private:
  struct FileStamp {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };

  StaticTokenAuthenticator(std::string token, std::optional<std::filesystem::path> path,
                           std::optional<FileStamp> stamp);

  // Reads and validates the file; on success replaces token_ and stamp_.
  Status ReloadLocked();

  const std::optional<std::filesystem::path> path_;  // set for --token-file
  mutable std::mutex mu_;
  std::string token_;               // guarded by mu_
  std::optional<FileStamp> stamp_;  // guarded by mu_: what token_ was read from
  bool reload_requested_ = false;   // guarded by mu_: set by OnUnauthorized
};

}  // namespace mactl
