#include "api/training_job.h"

#include <algorithm>
#include <cstddef>

namespace mactl {
namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool IsValidTrainingJobId(std::string_view s) {
  constexpr std::size_t kLength = 36;
  if (s.size() != kLength) return false;
  for (std::size_t i = 0; i < kLength; ++i) {
    const bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_here ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

std::string NormalizeTrainingJobId(std::string_view valid_id) {
  std::string out(valid_id);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

bool IsValidTrainingJobName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

}  // namespace mactl
