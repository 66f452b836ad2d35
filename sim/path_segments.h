#pragma once

// A request path cut at its slashes, as the simulator's routes read it.

#include <string_view>
#include <vector>

namespace mactl::sim {

// "/a/b/c" → {"a", "b", "c"}; an empty segment stays ("/a//b" → {"a", "", "b"}), and a
// path that does not start with '/' has none.
inline std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') return parts;
  std::size_t start = 1;  // skip the leading '/'
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    parts.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace mactl::sim
