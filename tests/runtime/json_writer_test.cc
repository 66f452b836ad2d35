// JsonWriter: the same bytes as nlohmann::json::dump(2, ' ', false, replace), which /status
// answered with before it was streamed; escaping above all, since manifest file names and
// offending values may hold any byte.

#include "controller/runtime/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace mactl {
namespace {

using nlohmann::json;

std::string Dumped(const std::string& text) {
  return json(text).dump(2, ' ', false, json::error_handler_t::replace);
}

std::string Written(const std::string& text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(JsonString, EscapesQuotesBackslashAndControlCharacters) {
  EXPECT_EQ(Written("say \"hi\" \\ /"), R"("say \"hi\" \\ /")");
  EXPECT_EQ(Written("\b\t\n\f\r"), R"("\b\t\n\f\r")");
  EXPECT_EQ(Written(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(Written("\x7f"), "\"\x7f\"");  // DEL is not a control character to JSON
  EXPECT_EQ(Written(""), R"("")");
}

TEST(JsonString, PassesValidUtf8Through) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  EXPECT_EQ(Written(text), "\"" + text + "\"");
}

// Each ill-formed sequence (the longest valid start of one, or a byte that starts none) becomes
// one U+FFFD, and the byte that broke a sequence is read again: json::dump's "replace".
TEST(JsonString, ReplacesEachIllFormedSequenceOnce) {
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(Written("bad\xff.yaml"), "\"bad" + r + ".yaml\"");
  EXPECT_EQ(Written("\x80\xbf"), "\"" + r + r + "\"");                  // lone continuation bytes
  EXPECT_EQ(Written("\xc0\x80"), "\"" + r + r + "\"");                  // overlong NUL
  EXPECT_EQ(Written("\xe0\x80\x80"), "\"" + r + r + r + "\"");          // overlong, bad 2nd byte
  EXPECT_EQ(Written("\xed\xa0\x80"), "\"" + r + r + r + "\"");          // a UTF-16 surrogate
  EXPECT_EQ(Written("\xf4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // above U+10FFFF
  EXPECT_EQ(Written("\xe2\x82x"), "\"" + r + "x\"");                    // cut short, then ASCII
  EXPECT_EQ(Written("\xe2\x82\""), "\"" + r + "\\\"\"");                // cut short by a quote
  EXPECT_EQ(Written("a\xf0\x9f\x98"), "\"a" + r + "\"");                // cut short at the end
  EXPECT_EQ(Written("\xc3\xc3\xa9"), "\"" + r + "\xc3\xa9\"");          // a new start after a start
}

// The same bytes as json::dump for strings drawn from the bytes that matter to a decoder.
TEST(JsonString, MatchesJsonDumpOnRandomBytes) {
  const std::string alphabet =
      "a\"\\\n\x01\x1f\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xe1\xec\xed\xee\xef"
      "\xf0\xf1\xf3\xf4\xf5\xff";
  std::mt19937 random(16);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 12);
  for (int i = 0; i < 50000; ++i) {
    std::string text;
    for (int n = length(random); n > 0; --n) text += alphabet[pick(random)];
    ASSERT_EQ(Written(text), Dumped(text)) << "case " << i;
  }
}

TEST(JsonWriter, LaysOutLikeJsonDumpByTwo) {
  const json value = {{"a", json::array()},
                      {"b", json::object()},
                      {"c", {{"d", nullptr}, {"e", true}, {"f", -7}}},
                      {"g", json::array({1u, "x", json::array({false})})}};
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.EndArray();
  w.Key("b");
  w.BeginObject();
  w.EndObject();
  w.Key("c");
  w.BeginObject();
  w.Key("d");
  w.Null();
  w.Key("e");
  w.Bool(true);
  w.Key("f");
  w.Int(-7);
  w.EndObject();
  w.Key("g");
  w.BeginArray();
  w.Uint(1);
  w.String("x");
  w.BeginArray();
  w.Bool(false);
  w.EndArray();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out, value.dump(2));
}

// Started `depth` levels down, every line after the first is indented by that much more.
TEST(JsonWriter, IndentsFromItsDepth) {
  std::string out = "[[";
  JsonWriter w(out, 2);
  w.BeginObject();
  w.Key("k");
  w.BeginArray();
  w.Int(INT64_MIN);
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out, "[[{\n      \"k\": [\n        -9223372036854775808\n      ]\n    }");
}

}  // namespace
}  // namespace mactl
