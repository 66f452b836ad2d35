// `get`'s policy rows: one per TrainingJobPolicy of /status after the objects, with its limit,
// phase, counts and next due time; nothing when /status lists no policy (or an older daemon
// sends no "policies").

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "controller/cli/commands.h"

namespace mactl {
namespace {

using nlohmann::json;

TEST(PolicyTableTest, ShowsOneRowPerPolicyAfterTheObjects) {
  const json status = json::parse(R"({
    "objects": [],
    "policies": [
      {"name": "cap-exp", "kind": "TrainingJobPolicy", "projectId": "p", "maxRuntime": "72h",
       "paused": false, "phase": "Enforcing", "matched": 12, "overLimit": 1, "stops": 3,
       "nextDueAt": "2026-11-29T20:00:00Z", "matches": []},
      {"name": "cap-all", "kind": "TrainingJobPolicy", "projectId": "p", "maxRuntime": "168h",
       "paused": true, "phase": "Paused", "matched": 40, "overLimit": 2, "stops": 0,
       "nextDueAt": null, "matches": []}
    ]})");
  EXPECT_EQ(RenderPolicyTable(status),
            "\n"
            "NAME      KIND                PROJECT   LIMIT   PHASE             MATCHED   OVER   "
            "STOPS   NEXT DUE\n"
            "cap-exp   TrainingJobPolicy   p         72h     Enforcing         12        1      "
            "3       2026-11-29T20:00:00Z\n"
            "cap-all   TrainingJobPolicy   p         168h    Paused (paused)   40        2      "
            "0       -\n");
  const std::string table = RenderStatusTable(status);
  EXPECT_LT(table.find("NAME      KIND    "), table.find("cap-exp")) << table;
}

TEST(PolicyTableTest, ShowsNothingWithoutPolicies) {
  EXPECT_EQ(RenderPolicyTable(json{{"objects", json::array()}}), "");
  EXPECT_EQ(RenderPolicyTable(json{{"policies", json::array()}}), "");
  EXPECT_EQ(RenderStatusTable(json{{"objects", json::array()}}).find("MATCHED"), std::string::npos);
}

}  // namespace
}  // namespace mactl
