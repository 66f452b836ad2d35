#include "controller/auth/static_token_authenticator.h"

#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace mactl {
namespace {

std::string TrimTrailingWhitespace(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\f' || s.back() == '\v')) {
    s.pop_back();
  }
  return s;
}

bool HasControlCharacters(const std::string& s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return true;
  }
  return false;
}

Error TokenFileError(const std::filesystem::path& path, const std::string& why) {
  // Names the file and the reason, never the content.
  return MakeError(ErrorClass::kRetryable, "Auth.TokenFile",
                   "token file " + path.string() + " " + why);
}

}  // namespace

StaticTokenAuthenticator::StaticTokenAuthenticator(std::string token,
                                                   std::optional<std::filesystem::path> path,
                                                   std::optional<FileStamp> stamp)
    : path_(std::move(path)), token_(std::move(token)), stamp_(std::move(stamp)) {}

StaticTokenAuthenticator::StaticTokenAuthenticator(StaticTokenAuthenticator&& other) noexcept
    : path_(other.path_) {
  std::lock_guard lock(other.mu_);
  token_ = std::move(other.token_);
  stamp_ = other.stamp_;
  reload_requested_ = other.reload_requested_;
}

StaticTokenAuthenticator StaticTokenAuthenticator::FromToken(std::string token) {
  return StaticTokenAuthenticator(TrimTrailingWhitespace(std::move(token)), std::nullopt,
                                  std::nullopt);
}

Result<std::unique_ptr<StaticTokenAuthenticator>> StaticTokenAuthenticator::FromFile(
    std::filesystem::path path) {
  std::unique_ptr<StaticTokenAuthenticator> auth(
      new StaticTokenAuthenticator(std::string(), std::move(path), std::nullopt));
  {
    std::lock_guard lock(auth->mu_);
    const Status loaded = auth->ReloadLocked();
    if (!loaded.ok()) return loaded.error();
  }
  return auth;
}

Status StaticTokenAuthenticator::ReloadLocked() {
  const std::filesystem::path& path = *path_;
  std::error_code ec;
  // Stat before reading: if the file changes in between, the next Apply sees a newer stamp
  // and reads again, so a rotation is never missed.
  const auto mtime = std::filesystem::last_write_time(path, ec);
  if (ec) return TokenFileError(path, "cannot be read: " + ec.message());
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return TokenFileError(path, "cannot be read: " + ec.message());
  if (size > kMaxTokenFileBytes) {
    return TokenFileError(path, "is too large (" + std::to_string(size) + " bytes)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return TokenFileError(path, "cannot be opened");
  std::string content;
  content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return TokenFileError(path, "cannot be read");
  content = TrimTrailingWhitespace(std::move(content));
  if (content.empty()) return TokenFileError(path, "is empty");
  if (HasControlCharacters(content)) {
    return TokenFileError(path, "contains control characters (it must hold one token)");
  }
  token_ = std::move(content);
  stamp_ = FileStamp{mtime, size};
  reload_requested_ = false;
  return OkStatus();
}

Status StaticTokenAuthenticator::Apply(OutgoingRequest& request) {
  std::lock_guard lock(mu_);
  if (path_.has_value()) {
    bool reload = reload_requested_ || !stamp_.has_value();
    if (!reload) {
      std::error_code ec;
      const auto mtime = std::filesystem::last_write_time(*path_, ec);
      const auto size = ec ? 0 : std::filesystem::file_size(*path_, ec);
      reload = ec || !(FileStamp{mtime, size} == *stamp_);
    }
    if (reload) {
      const Status loaded = ReloadLocked();
      if (!loaded.ok()) {
        // Do not fall back to the old token: the file is the source of truth, and a stale
        // token would only earn 401s.
        stamp_.reset();
        return loaded;
      }
    }
  } else if (token_.empty()) {
    return MakeError(ErrorClass::kTerminal, "Auth.Token", "the static token (OS_TOKEN) is empty");
  } else if (HasControlCharacters(token_)) {
    return MakeError(ErrorClass::kTerminal, "Auth.Token",
                     "the static token (OS_TOKEN) contains control characters");
  }
  request.headers.emplace_back(std::string(kAuthTokenHeader), token_);
  return OkStatus();
}

void StaticTokenAuthenticator::OnUnauthorized(const OutgoingRequest& /*rejected*/) {
  std::lock_guard lock(mu_);
  if (path_.has_value()) reload_requested_ = true;
}

std::string StaticTokenAuthenticator::Describe() const {
  return path_.has_value() ? "token-file" : "token";
}

}  // namespace mactl
