#pragma once

// What the v1 and v2 answer decoders (modelarts_types, modelarts_v2_types) share: parsing an
// answer body into one JSON object under the same limits, and the wording of a decode error.
// Exceptions from nlohmann stop here.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mactl::json_answer {

// Longest excerpt of an offending value quoted in a decode error.
inline constexpr std::size_t kMaxQuotedValueBytes = 40;

// A value as JSON text, escaped to ASCII (so no control byte survives) and bounded, never
// ending inside a UTF-8 sequence: safe to log.
std::string Quoted(const nlohmann::json& v);

// "float 1.5", "string \"8\"", "object", "array": what a decode error says was found.
std::string Found(const nlohmann::json& v);

// The member, or nullptr when absent, null (read as "not sent") or object is no object.
const nlohmann::json* Member(const nlohmann::json& object, std::string_view name);

// Parses body into root, which must be a JSON object of at most max_bytes in which no object,
// at any depth, repeats a key (nlohmann keeps the last value of a repeated key silently, so
// {"is_success": false, "is_success": true} would otherwise read as a success). Returns ""
// on success, else why not.
std::string ParseObject(std::string_view body, std::size_t max_bytes, nlohmann::json& root);

}  // namespace mactl::json_answer
