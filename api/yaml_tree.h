#pragma once

// A small, owned YAML tree built from yaml-cpp's event parser. Going through events
// instead of YAML::Load lets the manifest decoder reject aliases (alias bombs), detect
// duplicate keys, cap nodes and depth, and tell quoted from plain scalars — none of
// which YAML::Node offers (docs/architecture.md, "Library facts").

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mactl {

struct YamlEntry;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 0;  // 1-based
  int column = 0;
  std::string value;  // scalars
  bool quoted = false;
  std::vector<YamlNode> items;     // sequences
  std::vector<YamlEntry> entries;  // maps, in document order

  std::string_view KindName() const;
};

// One key: value of a map. A struct, not std::pair<YamlNode, YamlNode>: with libstdc++ 12 in
// C++20, clang evaluates the pair's conditionally explicit default constructor while
// instantiating the pair, which needs YamlNode's destructor, which needs the still
// incomplete pair; clang rejects that cycle where GCC does not.
struct YamlEntry {
  YamlNode key;
  YamlNode value;
};

struct YamlProblem {
  int line = 0;
  int column = 0;
  std::string reason;
};

struct YamlDocument {
  YamlNode root;
  int line = 0;  // where the document starts
  int column = 0;
  std::vector<YamlProblem> problems;  // aliases, limits: the document is unusable
};

struct YamlLimits {
  std::size_t max_documents = 10000;
  std::size_t max_nodes_per_document = 10000;
  std::size_t max_depth = 64;
  std::size_t max_scalar_bytes = 64 << 10;
};

struct YamlParseResult {
  std::vector<YamlDocument> documents;  // null documents are skipped
  // A syntax error ends the file: yaml-cpp cannot resume after one.
  bool syntax_error = false;
  YamlProblem error;
};

YamlParseResult ParseYaml(std::string_view content, const YamlLimits& limits);

}  // namespace mactl
