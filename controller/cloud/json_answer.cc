#include "controller/cloud/json_answer.h"

#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mactl::json_answer {
namespace {

using nlohmann::json;

std::string Bounded(std::string s) {
  if (s.size() <= kMaxQuotedValueBytes) return s;
  s.resize(kMaxQuotedValueBytes);
  // Do not end inside a UTF-8 sequence.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80) != 0) s.pop_back();
  return s + "...";
}

// Finds the first key repeated within one object, at any depth, in a pass of its own over
// the text (a parser callback could do it during the parse, but nlohmann's callback parser
// is quadratic in the length of an array of objects, and a list or search page is one).
class DuplicateKeyFinder final : public json::json_sax_t {
 public:
  std::optional<std::string> duplicate;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const json::string_t&) override { return true; }
  bool string(json::string_t&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool start_object(std::size_t) override {
    open_objects_.emplace_back();
    return true;
  }
  bool end_object() override {
    open_objects_.pop_back();
    return true;
  }
  bool key(json::string_t& key) override {
    if (open_objects_.back().insert(key).second) return true;
    duplicate = std::move(key);
    return false;  // the first is enough
  }
  bool parse_error(std::size_t, const std::string&, const json::exception&) override {
    return false;
  }

 private:
  std::vector<std::unordered_set<std::string>> open_objects_;  // the keys seen in each
};

std::string NotJson(const json::exception& e) {
  return "not valid JSON (" + std::string(e.what()).substr(0, 80) + ")";
}

}  // namespace

std::string Quoted(const json& v) {
  return Bounded(v.dump(-1, ' ', true, json::error_handler_t::replace));
}

std::string Found(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::string:
      return "string " + Quoted(v);
    case json::value_t::number_float:
      return "float " + Quoted(v);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + Quoted(v);
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "unexpected value";
}

const json* Member(const json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(name);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string ParseObject(std::string_view body, std::size_t max_bytes, json& root) {
  if (body.size() > max_bytes) {
    return "body too large (" + std::to_string(body.size()) + " bytes, limit " +
           std::to_string(max_bytes) + ")";
  }
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return "empty body";
  try {
    root = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return "not valid JSON (error at byte " + std::to_string(e.byte) + ")";
  } catch (const json::exception& e) {
    return NotJson(e);
  }
  if (!root.is_object()) return "expected a JSON object, found " + Found(root);
  DuplicateKeyFinder finder;
  try {
    json::sax_parse(body.begin(), body.end(), &finder);
  } catch (const json::exception& e) {
    return NotJson(e);
  }
  if (finder.duplicate) return "duplicate key " + Quoted(json(*finder.duplicate));
  return "";
}

}  // namespace mactl::json_answer
