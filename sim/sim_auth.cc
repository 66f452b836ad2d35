#include "sim/sim_auth.h"

#include <cstddef>

namespace mactl::sim {
namespace {

// Compares without an early exit so timing does not reveal how much of a token matched.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char other = i < b.size() ? b[i] : '\0';
    diff |=
        static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(other));
  }
  return diff == 0;
}

}  // namespace

AuthDecision SimAuth::Authenticate(const httplib::Request& req) const {
  if (!token_) return {};
  if (!req.has_header("X-Auth-Token")) {
    return {false, 401, "ModelArts.0201", "the X-Auth-Token header is missing"};
  }
  if (!ConstantTimeEquals(req.get_header_value("X-Auth-Token"), *token_)) {
    return {false, 401, "ModelArts.0203", "the token is invalid"};
  }
  return {};
}

}  // namespace mactl::sim
