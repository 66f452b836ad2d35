// The /status query: every documented parameter, and hostile values refused with a clear error.

#include "controller/runtime/status_query.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mactl {
namespace {

std::string ErrorOf(const QueryParams& params) {
  const Result<StatusQuery> query = ParseStatusQuery(params);
  return query ? std::string("(accepted)") : query.error().message;
}

TEST(StatusQuery, AcceptsTheDocumentedParameters) {
  const Result<StatusQuery> query = ParseStatusQuery({{"phase", "Error"},
                                                      {"kind", "TrainingJob"},
                                                      {"name", "bert-v10"},
                                                      {"limit", "500"},
                                                      {"continue", EncodeContinueToken("a")}});
  ASSERT_TRUE(query) << query.error().ToString();
  EXPECT_EQ(query->phase, "Error");
  EXPECT_EQ(query->kind, "TrainingJob");
  EXPECT_EQ(query->name, "bert-v10");
  EXPECT_EQ(query->limit, 500u);
  EXPECT_EQ(query->after, "a");
  EXPECT_TRUE(query->Paged());
  EXPECT_FALSE(ParseStatusQuery({})->Paged());
  EXPECT_FALSE(ParseStatusQuery({{"phase", "Pending"}})->Paged());
}

TEST(StatusQuery, RefusesHostileValuesSayingWhichParameterAndWhy) {
  EXPECT_EQ(ErrorOf({{"limit", "0"}}), "limit: want a whole number from 1 to 100000, got \"0\"");
  EXPECT_NE(ErrorOf({{"limit", "99999999999999999999999"}}).find("limit:"), std::string::npos);
  EXPECT_NE(ErrorOf({{"limit", "100001"}}).find("limit:"), std::string::npos);
  EXPECT_NE(ErrorOf({{"limit", "-1"}}).find("limit:"), std::string::npos);
  EXPECT_NE(ErrorOf({{"limit", "5x"}}).find("limit:"), std::string::npos);
  EXPECT_NE(ErrorOf({{"limit", ""}}).find("limit:"), std::string::npos);
  EXPECT_NE(ErrorOf({{"phase", "error"}}).find("phase: want Pending"), std::string::npos);
  EXPECT_NE(ErrorOf({{"kind", "Job"}}).find("kind: want"), std::string::npos);
  EXPECT_EQ(ErrorOf({{"name", ""}}), "name: must not be empty");
  EXPECT_NE(ErrorOf({{"name", std::string(5000, 'a')}}).find("longer than"), std::string::npos);
  EXPECT_NE(ErrorOf({{"color", "red"}}).find("unknown parameter \"color\""), std::string::npos);
  EXPECT_NE(ErrorOf({{"limit", "1"}, {"limit", "2"}}).find("more than once"), std::string::npos);
  // Control bytes in a value are not echoed raw.
  EXPECT_EQ(ErrorOf({{"phase", "x\n\x1b[31m"}}).find('\n'), std::string::npos);
}

TEST(StatusQuery, ContinueTokensRoundTripAndGarbageIsRefused) {
  for (const std::string name : {"a", "ab", "abc", "bert-finetune-v10", "x.y_z"}) {
    EXPECT_EQ(*DecodeContinueToken(EncodeContinueToken(name)), name);
  }
  const std::vector<std::string> garbage_tokens = {
      "", "!!!", "djE6", "YWJj", "djE6YQ=", "djE6Y", "%00", std::string(1000, 'A')};
  for (const std::string& garbage : garbage_tokens) {
    const Result<std::string> decoded = DecodeContinueToken(garbage);
    EXPECT_FALSE(decoded) << garbage;
  }
  EXPECT_NE(ErrorOf({{"continue", "garbage!"}}).find("continue: not a token"), std::string::npos);
}

}  // namespace
}  // namespace mactl
