#include "controller/election/http_etcd_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <fstream>
#include <utility>

#include "controller/base/sanitize.h"
#include "controller/election/etcd_codec.h"

namespace mactl {
namespace {

Error ConfigError(std::string message) { return EtcdConfigError(std::move(message)); }

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

std::optional<std::uint64_t> ParseLength(const std::string& text) {
  std::uint64_t n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return n;
}

Error TransportError(std::string_view what) {
  return MakeError(ErrorClass::kRetryable, "Etcd.Transport", std::string(what));
}

}  // namespace

Result<std::unique_ptr<HttpEtcdClient>> HttpEtcdClient::Create(HttpEtcdClientOptions options,
                                                               const Clock& clock) {
  if (options.endpoints.empty()) return ConfigError("no etcd endpoint given");
  std::vector<EtcdEndpoint> endpoints;
  for (const std::string& url : options.endpoints) {
    Result<EtcdEndpoint> endpoint = ParseEtcdEndpoint(url);
    if (!endpoint.ok()) return endpoint.error();
    const bool tls_files =
        !options.ca_file.empty() || !options.cert_file.empty() || !options.key_file.empty();
    if (tls_files && endpoint->scheme != "https") {
      return ConfigError("etcd CA, certificate and key files need https:// endpoints");
    }
    endpoints.push_back(std::move(endpoint).value());
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return ConfigError("the etcd client certificate and key must be given together");
  }
  for (const std::string* file : {&options.ca_file, &options.cert_file, &options.key_file}) {
    if (!file->empty() && !Readable(*file)) {
      return ConfigError("etcd TLS file " + SanitizeForLog(*file, 200) + " cannot be read");
    }
  }
  if (options.username.empty() != options.password.empty()) {
    return ConfigError("ETCD_USERNAME and ETCD_PASSWORD must be set together");
  }
  if (options.request_timeout.count() <= 0) return ConfigError("etcd timeout must be positive");
  if (options.max_response_bytes == 0) return ConfigError("etcd answer bound must be positive");
  return std::unique_ptr<HttpEtcdClient>(
      new HttpEtcdClient(std::move(options), std::move(endpoints), clock));
}

HttpEtcdClient::HttpEtcdClient(HttpEtcdClientOptions options, std::vector<EtcdEndpoint> endpoints,
                               const Clock& clock)
    : options_(std::move(options)), endpoints_(std::move(endpoints)), clock_(clock) {}

Result<EtcdLease> HttpEtcdClient::GrantLease(std::int64_t ttl_seconds) {
  Result<std::string> body =
      Call("lease grant", "/v3/lease/grant", etcd_wire::EncodeLeaseGrant(ttl_seconds));
  if (!body.ok()) return body.error();
  return etcd_wire::DecodeLeaseGrant(body.value());
}

Result<std::int64_t> HttpEtcdClient::KeepAlive(std::int64_t lease_id) {
  Result<std::string> body =
      Call("lease keepalive", "/v3/lease/keepalive", etcd_wire::EncodeLeaseId(lease_id));
  if (!body.ok()) return body.error();
  return etcd_wire::DecodeKeepAlive(body.value(), lease_id);
}

Status HttpEtcdClient::RevokeLease(std::int64_t lease_id) {
  Result<std::string> body =
      Call("lease revoke", "/v3/lease/revoke", etcd_wire::EncodeLeaseId(lease_id));
  if (!body.ok()) {
    if (body.error().code == "Etcd.NotFound") return OkStatus();  // already gone
    return body.error();
  }
  return etcd_wire::DecodeHeaderOnly(body.value());
}

Result<EtcdCreateResult> HttpEtcdClient::CreateWithLease(const std::string& key,
                                                         const std::string& value,
                                                         std::int64_t lease_id) {
  Result<std::string> body =
      Call("create txn", "/v3/kv/txn", etcd_wire::EncodeCreateTxn(key, value, lease_id));
  if (!body.ok()) return body.error();
  return etcd_wire::DecodeCreateTxn(body.value());
}

Result<EtcdRangeResult> HttpEtcdClient::RangePrefix(const std::string& prefix) {
  Result<std::string> body = Call("range", "/v3/kv/range", etcd_wire::EncodeRangePrefix(prefix));
  if (!body.ok()) return body.error();
  Result<EtcdRangeResult> range = etcd_wire::DecodeRange(body.value());
  if (!range.ok()) return range;
  for (const EtcdKeyValue& kv : range->kvs) {
    if (kv.key.compare(0, prefix.size(), prefix) != 0) {
      return MakeError(ErrorClass::kRetryable, "Etcd.MalformedResponse",
                       "etcd range answer holds a key outside the prefix asked for");
    }
  }
  return range;
}

Result<bool> HttpEtcdClient::CreateRevisionIs(const std::string& key,
                                              std::int64_t create_revision) {
  Result<std::string> body =
      Call("check txn", "/v3/kv/txn", etcd_wire::EncodeCreateRevisionTxn(key, create_revision));
  if (!body.ok()) return body.error();
  return etcd_wire::DecodeCreateRevisionTxn(body.value(), create_revision);
}

Status HttpEtcdClient::DeleteKey(const std::string& key) {
  Result<std::string> body = Call("delete", "/v3/kv/deleterange", etcd_wire::EncodeDeleteKey(key));
  if (!body.ok()) return body.error();
  return etcd_wire::DecodeHeaderOnly(body.value());
}

Result<std::string> HttpEtcdClient::Call(std::string_view operation, const std::string& path,
                                         const std::string& body) {
  const bool password_auth = !options_.username.empty();
  const std::size_t first = preferred_.load();
  std::optional<Error> last_error;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const std::size_t index = (first + i) % endpoints_.size();
    const EtcdEndpoint& endpoint = endpoints_[index];
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string token;
      if (password_auth) {
        std::unique_lock lock(token_mu_);
        if (token_.empty()) {
          lock.unlock();
          Result<std::string> fresh = Authenticate(endpoint);
          if (!fresh.ok()) {
            last_error = fresh.error();
            break;
          }
          lock.lock();
          token_ = fresh.value();
        }
        token = token_;
      }
      Result<Answer> answer = Send(endpoint, path, body, token);
      if (!answer.ok()) {
        last_error = answer.error();
        break;
      }
      if (answer->status == 200) {
        preferred_.store(index);
        return std::move(answer.value().body);
      }
      Error error = etcd_wire::DecodeErrorAnswer(operation, answer->status, answer->body);
      if (error.error_class == ErrorClass::kReauthenticate && password_auth && attempt == 0) {
        std::lock_guard lock(token_mu_);
        if (token_ == token) token_.clear();  // renewed at the next attempt
        continue;
      }
      if (!error.retryable()) return error;  // another endpoint would say the same
      last_error = std::move(error);
      break;
    }
  }
  Error error = last_error.value_or(TransportError("no etcd endpoint"));
  error.message = std::string(operation) + " failed on every etcd endpoint; last: " + error.message;
  return error;
}

Result<std::string> HttpEtcdClient::Authenticate(const EtcdEndpoint& endpoint) {
  Result<Answer> answer =
      Send(endpoint, "/v3/auth/authenticate",
           etcd_wire::EncodeAuthenticate(options_.username, options_.password), "");
  if (!answer.ok()) return answer.error();
  if (answer->status != 200) {
    Error error = etcd_wire::DecodeErrorAnswer("authenticate", answer->status, answer->body);
    // Wrong credentials are not fixed by asking again.
    if (error.error_class == ErrorClass::kReauthenticate) error.error_class = ErrorClass::kTerminal;
    return error;
  }
  return etcd_wire::DecodeAuthToken(answer->body);
}

Result<HttpEtcdClient::Answer> HttpEtcdClient::Send(const EtcdEndpoint& endpoint,
                                                    const std::string& path,
                                                    const std::string& body,
                                                    const std::string& token) {
  const std::string where =
      endpoint.scheme + "://" + endpoint.host + ":" + std::to_string(endpoint.port);
  try {
    std::unique_ptr<httplib::Client> client =
        options_.cert_file.empty()
            ? std::make_unique<httplib::Client>(where)
            : std::make_unique<httplib::Client>(where, options_.cert_file, options_.key_file);
    if (!client->is_valid()) {
      return MakeError(ErrorClass::kTerminal, "Config.Etcd",
                       "etcd endpoint " + where + " or its TLS files are not usable");
    }
    client->set_connection_timeout(options_.request_timeout);
    client->set_read_timeout(options_.request_timeout);
    client->set_write_timeout(options_.request_timeout);
    client->set_follow_location(false);
    client->set_tcp_nodelay(true);  // a POST's body must not wait for the ACK of its head
    if (endpoint.scheme == "https") {
      if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file);
      client->enable_server_certificate_verification(true);
    }
    httplib::Request request;
    request.method = "POST";
    request.path = path;
    request.body = body;
    request.headers.emplace("Content-Type", "application/json");
    request.headers.emplace("Host", endpoint.host);
    if (!token.empty()) request.headers.emplace("Authorization", token);
    const SteadyTime deadline = clock_.Now() + options_.request_timeout;
    bool too_large = false;
    bool late = false;
    Answer answer;
    request.response_handler = [&](const httplib::Response& response) {
      answer.status = response.status;
      if (clock_.Now() >= deadline) {
        late = true;
        return false;
      }
      const auto length = response.has_header("Content-Length")
                              ? ParseLength(response.get_header_value("Content-Length"))
                              : std::nullopt;
      too_large = length.has_value() && *length > options_.max_response_bytes;
      return !too_large;
    };
    request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t,
                                   std::uint64_t) {
      late = clock_.Now() >= deadline;
      too_large = answer.body.size() + size > options_.max_response_bytes;
      if (late || too_large) return false;
      answer.body.append(data, size);
      return true;
    };
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    if (!client->send(request, response, error)) {
      if (too_large) {
        return TransportError("etcd " + where + " answer is over " +
                              std::to_string(options_.max_response_bytes) + " bytes");
      }
      if (late) return TransportError("etcd " + where + " did not answer in time");
      // etcd's gateway ends its error answers with an HTTP trailer (Grpc-Trailer-Content-Type)
      // that cpp-httplib 0.11 cannot parse: the status and the whole body have arrived, then
      // the read of the trailer fails. Such an answer is still the error etcd meant (invalid
      // token, lease not found), so it is classified, not taken for a broken connection.
      if (error == httplib::Error::Read && answer.status >= 400 && !answer.body.empty()) {
        return answer;
      }
      return TransportError("etcd " + where + ": transport error " + httplib::to_string(error));
    }
    answer.status = response.status;
    return answer;
  } catch (const std::exception& e) {
    return TransportError("etcd " + where + ": " + SanitizeForLog(e.what(), 200));
  }
}

}  // namespace mactl
