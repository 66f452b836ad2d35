// `get`: a running daemon's /status as a table, read page by page (README, "Command line").

#include <httplib.h>

#include <ostream>
#include <set>

#include "controller/base/sanitize.h"
#include "controller/cli/commands.h"

namespace mactl {
namespace {

using nlohmann::json;

// Objects per /status page: large enough that 100,000 objects take 200 requests, small enough
// that one page is a few hundred kilobytes.
constexpr int kGetPageSize = 500;

// What RenderStatusTable reads of one object; a page's other fields are dropped at once, so
// `get` over 100,000 objects keeps rows, not documents.
json TableFields(const json& object) {
  static const char* const kKept[] = {
      "name",          "kind",      "projectId",       "jobId",
      "trainingJobId", "versionId", "trainingJobName", "paused",
      "desiredState",  "phase",     "attempts",        "nextAttempt"};
  json slim = json::object();
  for (const char* key : kKept) {
    if (const auto it = object.find(key); it != object.end()) slim[key] = *it;
  }
  if (const auto observed = object.find("observed");
      observed != object.end() && observed->is_object()) {
    json o = json::object();
    for (const char* key : {"phase", "statusName"}) {
      if (const auto it = observed->find(key); it != observed->end()) o[key] = *it;
    }
    slim["observed"] = std::move(o);
  }
  json conditions = json::array();
  for (const json& c : object.value("conditions", json::array())) {
    if (c.is_object() && c.value("type", "") == "Ready") conditions.push_back(c);
  }
  slim["conditions"] = std::move(conditions);
  return slim;
}

struct Page {
  json body;
  std::string error;  // set when the page could not be had
};

Page FetchPage(httplib::Client& client, const Flags& flags, const httplib::Params& params) {
  const std::string where = flags.server + "/status";
  httplib::Result res = client.Get("/status", params, httplib::Headers{});
  if (!res) return {{}, "cannot reach " + flags.server + ": " + httplib::to_string(res.error())};
  json body = json::parse(res->body, nullptr, false);
  if (res->status == 400 && body.is_object() && body.contains("error")) {
    return {{}, where + " refused the query: " + SanitizeForLog(body.value("error", ""), 300)};
  }
  if (res->status != 200) return {{}, where + " answered HTTP " + std::to_string(res->status)};
  if (!body.is_object()) return {{}, where + " did not answer JSON"};
  return {std::move(body), ""};
}

httplib::Params QueryFor(const Flags& flags) {
  httplib::Params params;
  if (!flags.object_name.empty()) params.emplace("name", flags.object_name);
  for (const auto& [key, value] : flags.selector) params.emplace(key, value);
  params.emplace("limit", std::to_string(kGetPageSize));
  return params;
}

// Every page merged into one document: the first page's head, manifest errors and policies,
// every page's objects (only the table's fields unless JSON was asked for).
Page FetchAll(httplib::Client& client, const Flags& flags) {
  const httplib::Params base = QueryFor(flags);
  Page merged;
  std::set<std::string> tokens;
  httplib::Params params = base;
  for (;;) {
    Page page = FetchPage(client, flags, params);
    if (!page.error.empty()) return page;
    json objects = page.body.value("objects", json::array());
    const std::string next = page.body.value("continue", "");
    page.body.erase("continue");
    if (merged.body.is_null()) {
      merged.body = std::move(page.body);
      merged.body["objects"] = json::array();
      // The table shows a policy's counts, not each job it matched.
      if (flags.output != "json" && merged.body.contains("policies")) {
        for (json& p : merged.body["policies"]) {
          if (p.is_object()) p.erase("matches");
        }
      }
    }
    for (json& o : objects) {
      merged.body["objects"].push_back(flags.output == "json" ? std::move(o) : TableFields(o));
    }
    // A token seen before would loop forever: the daemon is not paging as documented.
    if (next.empty() || !tokens.insert(next).second) return merged;
    params = base;
    params.emplace("continue", next);
  }
}

}  // namespace

int RunGet(const Flags& flags, std::ostream& out, std::ostream& err) {
  try {
    httplib::Client client(flags.server);
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(30, 0);
    const Page status = FetchAll(client, flags);
    if (!status.error.empty()) {
      err << "get: " << status.error << "\n";
      return kExitError;
    }
    if (!flags.object_name.empty() && status.body.value("objects", json::array()).empty() &&
        status.body.value("policies", json::array()).empty()) {
      err << "get: no object named \"" << SanitizeForLog(flags.object_name, 253) << "\"\n";
      return kExitError;
    }
    if (flags.output == "json") {
      out << status.body.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return kExitOk;
    }
    out << RenderLeaderLine(status.body) << RenderStatusTable(status.body);
    return kExitOk;
  } catch (const std::exception& e) {
    err << "get: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace mactl
