#include "controller/election/etcd_codec.h"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "controller/base/sanitize.h"

namespace mactl::etcd_wire {
namespace {

using nlohmann::json;

constexpr std::size_t kExcerptBytes = 200;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Error Malformed(std::string_view what, std::string_view body) {
  return MakeError(ErrorClass::kRetryable, "Etcd.MalformedResponse",
                   "etcd answer could not be decoded: " + std::string(what) +
                       "; body: " + SanitizeForLog(body, kExcerptBytes));
}

// Parses without exceptions; nullopt when the text is not one JSON object.
std::optional<json> ParseObject(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

// An optional member: absent means zero/false/empty. Sets `error` when present with the
// wrong type.
const json* Member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// An int64 written as a JSON string of decimal digits (an optional leading '-'); absent is 0.
std::optional<std::int64_t> Int64Field(const json& object, const char* name) {
  const json* field = Member(object, name);
  if (field == nullptr) return 0;
  if (!field->is_string()) return std::nullopt;
  const std::string& text = field->get_ref<const std::string&>();
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> BoolField(const json& object, const char* name) {
  const json* field = Member(object, name);
  if (field == nullptr) return false;
  if (!field->is_boolean()) return std::nullopt;
  return field->get<bool>();
}

std::optional<std::string> StringField(const json& object, const char* name) {
  const json* field = Member(object, name);
  if (field == nullptr) return std::string();
  if (!field->is_string()) return std::nullopt;
  return field->get<std::string>();
}

std::optional<std::string> BytesField(const json& object, const char* name) {
  const std::optional<std::string> text = StringField(object, name);
  if (!text.has_value()) return std::nullopt;
  return Base64Decode(*text);
}

// An optional nested object; absent is an empty object.
std::optional<json> ObjectField(const json& object, const char* name) {
  const json* field = Member(object, name);
  if (field == nullptr) return json::object();
  if (!field->is_object()) return std::nullopt;
  return *field;
}

// header.revision, which must be positive: every answer from a working member has one.
std::optional<std::int64_t> HeaderRevision(const json& object) {
  const std::optional<json> header = ObjectField(object, "header");
  if (!header.has_value()) return std::nullopt;
  const std::optional<std::int64_t> revision = Int64Field(*header, "revision");
  if (!revision.has_value() || *revision <= 0) return std::nullopt;
  return revision;
}

std::optional<EtcdKeyValue> DecodeKeyValue(const json& item) {
  if (!item.is_object()) return std::nullopt;
  EtcdKeyValue kv;
  const auto key = BytesField(item, "key");
  const auto value = BytesField(item, "value");
  const auto create = Int64Field(item, "create_revision");
  const auto mod = Int64Field(item, "mod_revision");
  const auto version = Int64Field(item, "version");
  const auto lease = Int64Field(item, "lease");
  if (!key || !value || !create || !mod || !version || !lease) return std::nullopt;
  if (key->empty() || *create <= 0 || *mod < *create || *version <= 0 || *lease < 0) {
    return std::nullopt;
  }
  kv.key = *key;
  kv.value = *value;
  kv.create_revision = *create;
  kv.mod_revision = *mod;
  kv.version = *version;
  kv.lease = *lease;
  return kv;
}

// The "kvs" array of a range answer; absent is empty.
std::optional<std::vector<EtcdKeyValue>> DecodeKvs(const json& range) {
  std::vector<EtcdKeyValue> kvs;
  const json* items = Member(range, "kvs");
  if (items == nullptr) return kvs;
  if (!items->is_array()) return std::nullopt;
  for (const json& item : *items) {
    std::optional<EtcdKeyValue> kv = DecodeKeyValue(item);
    if (!kv.has_value()) return std::nullopt;
    kvs.push_back(std::move(*kv));
  }
  return kvs;
}

// A gateway stream message is {"result": {...}} or {"error": {...}}; the first line counts.
std::string_view FirstLine(std::string_view body) {
  const std::size_t newline = body.find('\n');
  return newline == std::string_view::npos ? body : body.substr(0, newline);
}

const char* GrpcCodeName(std::int64_t code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<std::int64_t>(kNames.size())) return nullptr;
  return kNames[static_cast<std::size_t>(code)];
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string Json(const json& value) { return value.dump(); }

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16);
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += rest == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const bool padding = static_cast<int>(j) >= 4 - pad;
      const int v = padding ? 0 : value_of(text[i + j]);
      if (v < 0) return std::nullopt;
      n = n << 6 | static_cast<std::uint32_t>(v);
    }
    // Non-canonical encodings (bits set under the padding) are rejected too.
    if ((pad == 1 && (n & 0xFF) != 0) || (pad == 2 && (n & 0xFFFF) != 0)) return std::nullopt;
    out += static_cast<char>(n >> 16 & 0xFF);
    if (pad < 2) out += static_cast<char>(n >> 8 & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xFF) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string EncodeLeaseGrant(std::int64_t ttl_seconds) {
  return Json({{"TTL", std::to_string(ttl_seconds)}});
}

std::string EncodeLeaseId(std::int64_t lease_id) {
  return Json({{"ID", std::to_string(lease_id)}});
}

std::string EncodeCreateTxn(const std::string& key, const std::string& value,
                            std::int64_t lease_id) {
  const std::string k = Base64Encode(key);
  return Json(
      {{"compare",
        json::array(
            {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}})},
       {"success", json::array({{{"request_put",
                                  {{"key", k},
                                   {"value", Base64Encode(value)},
                                   {"lease", std::to_string(lease_id)}}}}})},
       {"failure", json::array({{{"request_range", {{"key", k}}}}})}});
}

std::string EncodeRangePrefix(const std::string& prefix) {
  return Json({{"key", Base64Encode(prefix)},
               {"range_end", Base64Encode(PrefixRangeEnd(prefix))},
               {"sort_target", "CREATE"},
               {"sort_order", "ASCEND"}});
}

std::string EncodeCreateRevisionTxn(const std::string& key, std::int64_t create_revision) {
  const std::string k = Base64Encode(key);
  // The range in the success branch is what makes etcd answer linearizably: a transaction
  // without a non-serializable range counts as serializable and is answered by any member
  // from its local state, even one cut off from the quorum.
  return Json({{"compare", json::array({{{"key", k},
                                         {"target", "CREATE"},
                                         {"result", "EQUAL"},
                                         {"create_revision", std::to_string(create_revision)}}})},
               {"success", json::array({{{"request_range", {{"key", k}}}}})}});
}

std::string EncodeDeleteKey(const std::string& key) { return Json({{"key", Base64Encode(key)}}); }

std::string EncodeAuthenticate(const std::string& name, const std::string& password) {
  return Json({{"name", name}, {"password", password}});
}

Result<EtcdLease> DecodeLeaseGrant(std::string_view body) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  const auto error = StringField(*object, "error");
  if (!error.has_value()) return Malformed("\"error\" is not a string", body);
  if (!error->empty()) {
    return MakeError(ErrorClass::kRetryable, "Etcd.LeaseGrant",
                     "etcd refused the lease: " + SanitizeForLog(*error, kExcerptBytes));
  }
  const auto id = Int64Field(*object, "ID");
  const auto ttl = Int64Field(*object, "TTL");
  if (!id.has_value() || *id <= 0) return Malformed("lease \"ID\" missing or not positive", body);
  if (!ttl.has_value() || *ttl <= 0)
    return Malformed("lease \"TTL\" missing or not positive", body);
  return EtcdLease{*id, *ttl};
}

Result<std::int64_t> DecodeKeepAlive(std::string_view body, std::int64_t lease_id) {
  const std::string_view line = FirstLine(body);
  const std::optional<json> object = ParseObject(line);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  if (Member(*object, "error") != nullptr) return DecodeErrorAnswer("keepalive", 200, line);
  const std::optional<json> result = ObjectField(*object, "result");
  if (!result.has_value() || Member(*object, "result") == nullptr) {
    return Malformed("no \"result\" object", body);
  }
  const auto id = Int64Field(*result, "ID");
  const auto ttl = Int64Field(*result, "TTL");
  if (!id.has_value() || *id != lease_id) return Malformed("answer is for another lease", body);
  if (!ttl.has_value() || *ttl < 0) return Malformed("\"TTL\" is not a non-negative int64", body);
  return *ttl;
}

Result<EtcdCreateResult> DecodeCreateTxn(std::string_view body) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  const auto revision = HeaderRevision(*object);
  const auto succeeded = BoolField(*object, "succeeded");
  if (!revision.has_value()) return Malformed("no positive header.revision", body);
  if (!succeeded.has_value()) return Malformed("\"succeeded\" is not a boolean", body);
  EtcdCreateResult out;
  out.created = *succeeded;
  out.revision = *revision;
  if (out.created) return out;
  // The failure branch read the key: one response_range with one key.
  const json* responses = Member(*object, "responses");
  if (responses == nullptr || !responses->is_array() || responses->size() != 1 ||
      !(*responses)[0].is_object()) {
    return Malformed("failed create has no single range response", body);
  }
  const auto range = ObjectField((*responses)[0], "response_range");
  if (!range.has_value()) return Malformed("\"response_range\" is not an object", body);
  const auto kvs = DecodeKvs(*range);
  if (!kvs.has_value()) return Malformed("bad \"kvs\" in the range response", body);
  // The key may have vanished between the compare and the read only within one
  // transaction, which etcd rules out: an empty answer is a broken peer.
  if (kvs->size() != 1) return Malformed("failed create did not return the existing key", body);
  out.existing = (*kvs)[0];
  return out;
}

Result<EtcdRangeResult> DecodeRange(std::string_view body) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  const auto revision = HeaderRevision(*object);
  if (!revision.has_value()) return Malformed("no positive header.revision", body);
  const auto more = BoolField(*object, "more");
  if (!more.has_value()) return Malformed("\"more\" is not a boolean", body);
  if (*more) return Malformed("the range was truncated (\"more\")", body);
  auto kvs = DecodeKvs(*object);
  if (!kvs.has_value()) return Malformed("bad \"kvs\"", body);
  for (std::size_t i = 1; i < kvs->size(); ++i) {
    if ((*kvs)[i].create_revision <= (*kvs)[i - 1].create_revision) {
      return Malformed("keys are not in ascending create revision", body);
    }
  }
  return EtcdRangeResult{*revision, std::move(*kvs)};
}

Result<bool> DecodeCreateRevisionTxn(std::string_view body, std::int64_t create_revision) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  if (!HeaderRevision(*object).has_value()) return Malformed("no positive header.revision", body);
  const auto succeeded = BoolField(*object, "succeeded");
  if (!succeeded.has_value()) return Malformed("\"succeeded\" is not a boolean", body);
  if (!*succeeded) return false;
  // Success read the key: it must be there, with the revision compared.
  const json* responses = Member(*object, "responses");
  if (responses == nullptr || !responses->is_array() || responses->size() != 1 ||
      !(*responses)[0].is_object()) {
    return Malformed("successful check has no single range response", body);
  }
  const auto range = ObjectField((*responses)[0], "response_range");
  const auto kvs = range.has_value() ? DecodeKvs(*range) : std::nullopt;
  if (!kvs.has_value() || kvs->size() != 1 || (*kvs)[0].create_revision != create_revision) {
    return Malformed("successful check did not return the key with that revision", body);
  }
  return true;
}

Status DecodeHeaderOnly(std::string_view body) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  if (!HeaderRevision(*object).has_value()) return Malformed("no positive header.revision", body);
  return OkStatus();
}

Result<std::string> DecodeAuthToken(std::string_view body) {
  const std::optional<json> object = ParseObject(body);
  if (!object.has_value()) return Malformed("not a JSON object", body);
  const auto token = StringField(*object, "token");
  if (!token.has_value() || token->empty()) return Malformed("no \"token\" string", body);
  // The token goes into a header: refuse anything that could split it.
  for (const char c : *token) {
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) {
      return Malformed("the token has characters a header cannot carry", "(token withheld)");
    }
  }
  return *token;
}

Error DecodeErrorAnswer(std::string_view operation, int http_status, std::string_view body) {
  const std::string op(operation);
  std::optional<json> object = ParseObject(FirstLine(body));
  // A stream's error message nests the status: {"error": {"grpc_code", "http_code", ...}}.
  if (object.has_value() && Member(*object, "error") != nullptr && (*object)["error"].is_object()) {
    json inner = (*object)["error"];
    if (inner.contains("grpc_code") && !inner.contains("code")) inner["code"] = inner["grpc_code"];
    object = std::move(inner);
  }
  std::int64_t code = -1;
  std::string message;
  if (object.has_value()) {
    const json* c = Member(*object, "code");
    if (c != nullptr && c->is_number_integer()) code = c->get<std::int64_t>();
    message = StringField(*object, "message").value_or("");
    if (message.empty()) message = StringField(*object, "error").value_or("");
  }
  if (message.empty()) message = std::string(body);
  const std::string shown = SanitizeForLog(message, kExcerptBytes);
  const char* name = GrpcCodeName(code);
  const std::string error_code =
      name != nullptr ? std::string("Etcd.") + name : "Etcd.HTTP." + std::to_string(http_status);
  const std::string text = op + " failed (HTTP " + std::to_string(http_status) + "): " + shown;
  ErrorClass error_class = ErrorClass::kTerminal;
  if (code == kGrpcUnauthenticated || Contains(message, "invalid auth token") ||
      http_status == 401) {
    error_class = ErrorClass::kReauthenticate;
  } else if (code == 14 || code == 4 || code == 1 || code == 10 || http_status >= 500 ||
             Contains(message, "no leader") || Contains(message, "timed out") ||
             Contains(message, "leader changed") || Contains(message, "too many requests")) {
    error_class = ErrorClass::kRetryable;
  }
  return MakeError(error_class, error_code, text, http_status);
}

}  // namespace mactl::etcd_wire
