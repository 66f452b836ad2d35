#include "controller/auth/aksk_authenticator.h"

#include <strings.h>

#include <algorithm>
#include <utility>

#include "controller/auth/aksk_signer.h"

namespace mactl {
namespace {

void SetHeader(std::vector<std::pair<std::string, std::string>>& headers, std::string name,
               std::string value) {
  // Replace rather than append: a duplicate Host or X-Sdk-Date would make the signed
  // value ambiguous on the server side.
  std::erase_if(headers, [&name](const auto& header) {
    return strcasecmp(header.first.c_str(), name.c_str()) == 0;
  });
  headers.emplace_back(std::move(name), std::move(value));
}

}  // namespace

AkSkAuthenticator::AkSkAuthenticator(std::string access_key, std::string secret_key,
                                     std::string project_id, const Clock& clock)
    : access_key_(std::move(access_key)),
      secret_key_(std::move(secret_key)),
      project_id_(std::move(project_id)),
      clock_(clock) {}

Status AkSkAuthenticator::Apply(OutgoingRequest& request) {
  if (request.host.empty()) {
    return MakeError(ErrorClass::kTerminal, "Auth.AkSk", "cannot sign a request without a host");
  }
  const std::string sdk_date = FormatSdkDate(clock_.WallNow());
  SetHeader(request.headers, "X-Sdk-Date", sdk_date);
  SetHeader(request.headers, "Host", request.host);
  SetHeader(request.headers, "Content-Type", "application/json");
  // The project in the request's path, so one key pair serves every project it may act on;
  // the configured one only for a request that names none.
  const std::string& project = request.project_id.empty() ? project_id_ : request.project_id;
  if (!project.empty()) SetHeader(request.headers, "X-Project-Id", project);

  SigningInput in;
  in.method = request.method;
  in.host = request.host;
  in.path = request.path;
  in.query = request.query;
  in.headers = request.headers;
  in.body = request.body;
  in.sdk_date = sdk_date;
  std::string signed_headers;
  const std::string canonical = CanonicalRequest(in, &signed_headers);
  const std::string signature = Sign(StringToSign(canonical, sdk_date), secret_key_);
  SetHeader(request.headers, "Authorization",
            AuthorizationHeader(access_key_, signed_headers, signature));
  return OkStatus();
}

}  // namespace mactl
