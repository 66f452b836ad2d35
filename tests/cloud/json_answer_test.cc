// The parsing and error wording both answer decoders share (controller/cloud/json_answer.h).

#include "controller/cloud/json_answer.h"

#include <gtest/gtest.h>

#include <string>

namespace mactl::json_answer {
namespace {

using nlohmann::json;

TEST(JsonAnswerParseObject, RefusesWhatIsNotOneObjectWithDistinctKeys) {
  struct Case {
    std::string body;
    std::string error;
  };
  const Case cases[] = {
      {"", "empty body"},
      {" \r\n", "empty body"},
      {"{", "not valid JSON (error at byte 2)"},
      {"[1]", "expected a JSON object, found array"},
      {"\"x\"", "expected a JSON object, found string \"x\""},
      {R"({"a": 1, "a": 1})", "duplicate key \"a\""},
      {R"({"a": [{"b": {"c": 1, "c": 2}}]})", "duplicate key \"c\""},
      {std::string(65, ' ') + "{}", "body too large (67 bytes, limit 64)"},
  };
  for (const Case& c : cases) {
    json root;
    EXPECT_EQ(ParseObject(c.body, 64, root), c.error) << c.body;
  }
  json root;
  ASSERT_EQ(ParseObject(R"({"a": {"k": 1}, "b": {"k": 2}})", 64, root), "");
  EXPECT_EQ(root["b"]["k"], 2);
}

TEST(JsonAnswerQuoted, IsEscapedToAsciiAndBounded) {
  EXPECT_EQ(Quoted(json("\x1b[31m")), "\"\\u001b[31m\"");
  // A non-ASCII character is escaped, so the excerpt stays ASCII wherever it is cut.
  const std::string text = std::string(38, 'a') + "\xc3\xa9" + std::string(10, 'b');
  const std::string quoted = Quoted(json::parse("\"" + text + "\""));
  EXPECT_LE(quoted.size(), kMaxQuotedValueBytes + 3);
  EXPECT_EQ(quoted.substr(quoted.size() - 3), "...");
  for (const char ch : quoted) EXPECT_LT(static_cast<unsigned char>(ch), 0x80) << quoted;
}

TEST(JsonAnswerMember, NullAndNonObjectsReadAsAbsent) {
  const json object = json::parse(R"({"a": null, "b": 1})");
  EXPECT_EQ(Member(object, "a"), nullptr);
  EXPECT_EQ(Member(object, "missing"), nullptr);
  ASSERT_NE(Member(object, "b"), nullptr);
  EXPECT_EQ(*Member(object, "b"), 1);
  EXPECT_EQ(Member(json::array({1}), "b"), nullptr);
}

}  // namespace
}  // namespace mactl::json_answer
