#pragma once

// JSON written straight into a string, laid out exactly as nlohmann::json::dump(2, ' ', false,
// error_handler_t::replace) lays it out, so /status can be streamed without building a json
// tree per object (docs/benchmarks.md, "/status at 100,000 objects"). The writer does not sort
// keys: a caller that must match a dumped json object writes its keys in sorted order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mactl {

// `text` as a quoted JSON string, as json::dump does it with ensure_ascii off: '"', '\\' and
// control characters escaped (\b \t \n \f \r, the others \u00XX), every other byte of valid
// UTF-8 as it is, and each ill-formed sequence (its longest valid start, or one bad byte)
// replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view text);

class JsonWriter {
 public:
  // Appends to `out`; `depth` is how many levels down the first value sits (its closing
  // brackets and inner lines are indented by that many levels more).
  explicit JsonWriter(std::string& out, std::size_t depth = 0);

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // The next member's name; its value follows with one of the calls below.
  void Key(std::string_view name);

  void String(std::string_view text);
  void Int(std::int64_t value);
  void Uint(std::uint64_t value);
  void Bool(bool value);
  void Null();

 private:
  // Separates and indents a value, unless it follows its key.
  void BeforeValue();
  void NewLine(std::size_t depth);
  void Open(char bracket);
  void Close(char bracket);

  std::string& out_;
  const std::size_t base_depth_;
  std::vector<bool> has_members_;  // per open object or array: something written in it
  bool after_key_ = false;
};

}  // namespace mactl
