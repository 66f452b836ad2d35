#pragma once

// Chooses how the controller authenticates (README, "Credentials") and builds the
// Authenticator.
//
// Order, first match wins:
//   1. static token: --token-file PATH, else OS_TOKEN_FILE, OS_TOKEN or
//      $CREDENTIALS_DIRECTORY/token. A file is handed over by path ("token-file") so it
//      is re-read when it changes (Kubernetes Secret / systemd credential rotation).
//   2. AK/SK signing: OS_ACCESS_KEY + OS_SECRET_KEY. X-Project-Id is --project-id, else
//      OS_PROJECT_ID.
//   3. IAM password: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_DOMAIN_NAME (or
//      OS_USER_DOMAIN_NAME) and the project: --project-id, else OS_PROJECT_ID, else
//      OS_PROJECT_NAME. Chosen as soon as one of OS_AUTH_URL/OS_USERNAME/OS_PASSWORD is
//      set; a missing piece is then an error naming it, not a silent fall-through.
//   4. OS_CLOUD: the named entry of clouds.yaml (see clouds_yaml.h), inside which the
//      same order applies: auth.token, ak+sk, password. The file's other entries that name
//      a project (auth.project_id) serve requests for that project (per_project).
//
// Whatever the method, credentials follow the request's project: AK/SK sends it as
// X-Project-Id, and IAM keeps one token per project.
//
// Secrets (OS_TOKEN, OS_ACCESS_KEY, OS_SECRET_KEY, OS_USERNAME, OS_PASSWORD) may each come
// from the file named by <VAR>_FILE instead; setting both VAR and VAR_FILE is an error.
// Failing both, the systemd credential $CREDENTIALS_DIRECTORY/<name> is used, with the
// names of deploy/systemd: token, access-key, secret-key, password. A file's content
// is trimmed of surrounding whitespace. Empty variables count as unset.
//
// Errors are terminal "Config" errors that name variables, files and keys, never values.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/result.h"
#include "controller/auth/clouds_yaml.h"
#include "controller/auth/iam_token_authenticator.h"
#include "controller/base/clock.h"
#include "controller/cloud/api_call_observer.h"
#include "controller/cloud/authenticator.h"

namespace mactl {

struct CredentialSources {
  EnvLookup env;                                               // the environment (required)
  std::optional<std::filesystem::path> token_file;             // --token-file
  std::string project_id;                                      // --project-id; "" when not given
  CloudsYamlSearch clouds_yaml;                                // where OS_CLOUD is looked up
  std::optional<std::filesystem::path> credentials_directory;  // $CREDENTIALS_DIRECTORY
};

// Sources for the real process: clouds.yaml search from env and working_directory,
// credentials_directory from $CREDENTIALS_DIRECTORY.
CredentialSources DefaultCredentialSources(EnvLookup env,
                                           std::optional<std::filesystem::path> token_file,
                                           std::string project_id,
                                           const std::filesystem::path& working_directory);

struct CredentialChoice {
  std::string method;  // "token", "token-file", "aksk", "iam-password"
  // Where it came from, e.g. "OS_TOKEN", "--token-file", "OS_SECRET_KEY_FILE",
  // "clouds.yaml /etc/openstack/clouds.yaml (cloud \"otc\")". Secret-free.
  std::string source;
  std::string token;                 // "token" (secret)
  std::filesystem::path token_file;  // "token-file"
  std::string access_key;            // "aksk"
  std::string secret_key;            // "aksk" (secret)
  // "aksk": X-Project-Id ("" = not sent). "iam-password": also in iam.project_id.
  std::string project_id;
  // "iam-password": auth_url, user_name, password (secret), domain_name, project_id or
  // project_name. TLS options and timeouts are filled in by MakeAuthenticator.
  IamPasswordOptions iam;
  std::string region;              // OS_REGION_NAME or clouds.yaml region_name; informational
  std::vector<std::string> notes;  // secret-free remarks for the start-up log
  // OS_CLOUD only: the credentials for requests to other projects, one per project_id (each
  // with an empty per_project). Requests for any other project use this choice.
  std::vector<CredentialChoice> per_project;

  // One secret-free line for the start-up log.
  std::string Describe() const;
};

Result<CredentialChoice> ChooseCredentials(const CredentialSources& sources);

struct AuthenticatorDeps {
  explicit AuthenticatorDeps(const Clock& c) : clock(c) {}
  const Clock& clock;
  ApiCallObserver* observer = nullptr;  // IAM token requests are reported as "auth"
  std::string ca_file;                  // for the IAM endpoint, like --ca-file
  bool insecure_skip_tls_verify = false;
  Duration renew_before = std::chrono::hours(1);
  // The IAM token request gets the API calls' bounds (HttpCloudClientOptions): per-step
  // timeouts, a total deadline (unset: connect + 2 × read) and a body cap.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::optional<std::chrono::milliseconds> total_timeout;
  std::size_t max_response_bytes = std::size_t{16} << 20;
};

// Builds the Authenticator for a choice (routing by project when it has per_project
// entries). The result owns everything it needs except
// deps.clock and deps.observer, which must outlive it. Fails when a token file cannot
// be read or the IAM URL is invalid.
Result<std::unique_ptr<Authenticator>> MakeAuthenticator(const CredentialChoice& choice,
                                                         const AuthenticatorDeps& deps);

}  // namespace mactl
