#pragma once

// The etcd v3 JSON gateway's wire format, encoded and decoded with the same suspicion as the
// ModelArts answers: keys and values are base64 (checked strictly), int64s are JSON strings of
// digits (checked), and fields that are false, zero or empty are omitted (read as such). A
// decoder never throws; a body that does not fit is a "Etcd.MalformedResponse" error that
// quotes a bounded, sanitised excerpt.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/result.h"
#include "controller/election/etcd_client.h"

namespace mactl::etcd_wire {

std::string Base64Encode(std::string_view bytes);
// Standard alphabet with padding only; nullopt for anything else.
std::optional<std::string> Base64Decode(std::string_view text);

// The end of the key range that holds exactly the keys starting with `prefix` (etcd's
// clientv3.GetPrefixRangeEnd); "\0" (everything from prefix on) for a prefix of 0xff bytes.
std::string PrefixRangeEnd(std::string_view prefix);

// Request bodies.
std::string EncodeLeaseGrant(std::int64_t ttl_seconds);
std::string EncodeLeaseId(std::int64_t lease_id);  // keepalive and revoke
std::string EncodeCreateTxn(const std::string& key, const std::string& value,
                            std::int64_t lease_id);
std::string EncodeRangePrefix(const std::string& prefix);
std::string EncodeCreateRevisionTxn(const std::string& key, std::int64_t create_revision);
std::string EncodeDeleteKey(const std::string& key);
std::string EncodeAuthenticate(const std::string& name, const std::string& password);

// Answers with HTTP 200.
Result<EtcdLease> DecodeLeaseGrant(std::string_view body);
// The TTL granted anew, 0 when the lease is gone. The answer must name `lease_id`.
Result<std::int64_t> DecodeKeepAlive(std::string_view body, std::int64_t lease_id);
Result<EtcdCreateResult> DecodeCreateTxn(std::string_view body);
Result<EtcdRangeResult> DecodeRange(std::string_view body);
// Whether the key still has `create_revision` (the answer must show it when it does).
Result<bool> DecodeCreateRevisionTxn(std::string_view body, std::int64_t create_revision);
Status DecodeHeaderOnly(std::string_view body);  // revoke, delete
Result<std::string> DecodeAuthToken(std::string_view body);

// gRPC status codes the gateway reports in {"error","code","message"} bodies.
inline constexpr int kGrpcNotFound = 5;
inline constexpr int kGrpcUnauthenticated = 16;

// An error answer (any HTTP status, or a 200 stream message holding "error") classified:
// unavailable, deadline, no leader, timeouts and 5xx are retryable (another endpoint may
// answer), an unauthenticated or invalid-token answer asks for a new token, the rest is
// terminal. Code "Etcd.<gRPC code name>" (e.g. "Etcd.NotFound") or "Etcd.HTTP.<status>".
Error DecodeErrorAnswer(std::string_view operation, int http_status, std::string_view body);

}  // namespace mactl::etcd_wire
