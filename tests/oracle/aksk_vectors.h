#pragma once

// The AK/SK test vectors signed by the vendor's own signer (tests/oracle/aksk-vectors.json,
// made by tests/oracle/make-aksk-vectors.js; docs/testing.md). The tests of our signer and
// of the simulator's verifier compare against these, never against our own signer.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "controller/base/clock.h"
#include "nlohmann/json.hpp"

namespace mactl::testing {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct AkSkVector {
  std::string name;
  bool client_header_set = false;  // headers are exactly those the controller signs
  std::string method;
  std::string host;
  std::string path;          // as on the wire, percent-encoded
  StringPairs query;         // decoded, in the order sent
  std::string query_string;  // as on the wire
  StringPairs headers;       // as sent, with host and X-Sdk-Date, without Authorization
  std::string body;
  std::string access_key;
  std::string secret_key;
  WallTime signed_at;
  std::string authorization;  // what the vendor's signer produced
  std::string sdk_date;

  // The path with the query string, as in the request line.
  std::string Target() const { return query_string.empty() ? path : path + "?" + query_string; }
  // The value of a header (exact name), or "" when absent.
  std::string Header(const std::string& header_name) const {
    for (const auto& [key, value] : headers) {
      if (key == header_name) return value;
    }
    return "";
  }
};

inline StringPairs ReadPairs(const nlohmann::json& array) {
  StringPairs out;
  for (const nlohmann::json& pair : array) {
    out.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
  }
  return out;
}

inline std::vector<AkSkVector> LoadAkSkVectors() {
  const std::string path = std::string(MACTL_SOURCE_DIR) + "/tests/oracle/aksk-vectors.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json doc = nlohmann::json::parse(text.str());
  std::vector<AkSkVector> out;
  for (const nlohmann::json& v : doc.at("vectors")) {
    AkSkVector vec;
    vec.name = v.at("name").get<std::string>();
    vec.client_header_set = v.at("client_header_set").get<bool>();
    vec.method = v.at("method").get<std::string>();
    vec.host = v.at("host").get<std::string>();
    vec.path = v.at("path").get<std::string>();
    vec.query = ReadPairs(v.at("query"));
    vec.query_string = v.at("query_string").get<std::string>();
    vec.headers = ReadPairs(v.at("headers"));
    vec.body = v.at("body").get<std::string>();
    vec.access_key = v.at("access_key").get<std::string>();
    vec.secret_key = v.at("secret_key").get<std::string>();
    vec.signed_at = WallTime(std::chrono::seconds(v.at("sdk_date_epoch_seconds").get<int64_t>()));
    vec.authorization = v.at("expected").at("authorization").get<std::string>();
    vec.sdk_date = v.at("expected").at("x_sdk_date").get<std::string>();
    out.push_back(std::move(vec));
  }
  return out;
}

// The vector whose name contains `part`; throws when there is none.
inline AkSkVector FindAkSkVector(const std::string& part) {
  for (AkSkVector& v : LoadAkSkVectors()) {
    if (v.name.find(part) != std::string::npos) return v;
  }
  throw std::runtime_error("no AK/SK vector named like " + part);
}

}  // namespace mactl::testing
