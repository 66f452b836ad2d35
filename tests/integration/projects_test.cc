// Two projects managed at once, with each credential method that can span projects (a
// static token is scoped to one): IAM password (a token per project) and AK/SK (one key
// pair, X-Project-Id per request). The simulator checks the credentials on every request.

#include <gtest/gtest.h>

#include "integration/harness.h"

namespace mactl::integration {
namespace {

constexpr int kRunning = 8;
constexpr int kKilling = 9;
constexpr int kKilled = 12;
const std::string kSecondProject = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";

// kProject (--project-id) and kSecondProject, each with job 10 (two running versions).
fs::path WriteSeed(const TempDir& dir) {
  const json versions = json::array(
      {{{"version_id", 1}, {"status", kRunning}}, {{"version_id", 2}, {"status", kRunning}}});
  json projects = json::array();
  for (const std::string& project : {kProject, kSecondProject}) {
    projects.push_back(
        {{"project_id", project},
         {"jobs", json::array({{{"job_id", 10}, {"job_name", "train"}, {"versions", versions}}})}});
  }
  const fs::path path = dir.path() / "seed.json";
  WriteFile(path, json{{"projects", projects}}.dump(1));
  return path;
}

std::string ManifestIn(const std::string& project, const std::string& name, int version,
                       const std::string& desired) {
  return Manifest(name, 10, version, desired) + "  projectId: " + project + "\n";
}

// Version 1 desired Stopped and version 2 Running in both projects; the first project by
// default (--project-id), the second by spec.projectId.
fs::path WriteManifests(const TempDir& dir) {
  const fs::path manifests = dir.path() / "manifests";
  WriteFile(manifests / "first.yaml", Manifest("first-v1", 10, 1, "Stopped") + "---\n" +
                                          Manifest("first-v2", 10, 2, "Running"));
  WriteFile(manifests / "second.yaml", ManifestIn(kSecondProject, "second-v1", 1, "Stopped") +
                                           "---\n" +
                                           ManifestIn(kSecondProject, "second-v2", 2, "Running"));
  return manifests;
}

json VersionIn(const Simulator& sim, const std::string& project, int version) {
  for (const json& v : sim.Versions()) {
    if (v.value("project_id", "") == project && v.value("job_id", 0) == 10 &&
        v.value("version_id", 0) == version) {
      return v;
    }
  }
  return json();
}

bool Stopped(const Simulator& sim, const std::string& project) {
  const int s = VersionIn(sim, project, 1).value("status", -1);
  return s == kKilling || s == kKilled;
}

// Both projects' version 1 stopped once, version 2 left running, every object converged and
// no API call refused.
void ExpectBothProjectsConverged(const Simulator& sim, const Controller& controller) {
  ASSERT_TRUE(WaitFor([&] { return Stopped(sim, kProject) && Stopped(sim, kSecondProject); }))
      << controller.Status().dump(1) << sim.Requests().dump(1);
  ASSERT_TRUE(WaitFor([&] {
    for (const json& o : controller.Status().value("objects", json::array())) {
      if (o.value("phase", "") != "Converged") return false;
    }
    return true;
  })) << controller.Status().dump(1);
  for (const std::string& project : {kProject, kSecondProject}) {
    EXPECT_EQ(VersionIn(sim, project, 1).value("stop_calls", -1), 1) << project;
    EXPECT_EQ(VersionIn(sim, project, 2).value("stop_calls", -1), 0) << project;
    EXPECT_EQ(VersionIn(sim, project, 2).value("status", -1), kRunning) << project;
  }
  for (const json& r : sim.Requests()) {
    if (r.value("path", "").rfind("/v1/", 0) != 0 || r.value("status", 0) == 0) continue;
    EXPECT_LT(r.value("status", 0), 300) << r.dump();
  }
}

TEST(Projects, IamPasswordGetsATokenPerProjectAndStopsInBoth) {
  TempDir dir;
  const fs::path users = dir.path() / "iam-users";
  WriteFile(users, "alice:iam-Passw0rd-for-integration:acme\n");
  Simulator sim(dir, ExactArgs{},
                {"--seed", WriteSeed(dir).string(), "--project-id", kProject, "--kill-delay", "1s",
                 "--iam-users-file", users.string()});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  Controller controller(dir, WriteManifests(dir), sim.endpoint(), {"--resync", "500ms"},
                        {"OS_AUTH_URL=" + sim.endpoint() + "/v3", "OS_USERNAME=alice",
                         "OS_PASSWORD=iam-Passw0rd-for-integration", "OS_DOMAIN_NAME=acme"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ExpectBothProjectsConverged(sim, controller);
  // One token per project, not one per request (nor one for both: the simulator refuses a
  // token of another project with 403 ModelArts.0210).
  int issued = 0;
  for (const json& r : sim.Requests()) {
    if (r.value("operation", "") == "auth" && r.value("status", 0) == 201) ++issued;
  }
  EXPECT_EQ(issued, 2) << sim.Requests().dump(1);
}

TEST(Projects, AkSkSignsForEachProjectAndStopsInBoth) {
  TempDir dir;
  Simulator sim(dir, ExactArgs{},
                {"--seed", WriteSeed(dir).string(), "--project-id", kProject, "--kill-delay", "1s",
                 "--aksk", "AKPROJECTS0001:projects-secret-key-0123456789"});
  ASSERT_GT(sim.port(), 0) << sim.process().Stderr();
  Controller controller(
      dir, WriteManifests(dir), sim.endpoint(), {"--resync", "500ms"},
      {"OS_ACCESS_KEY=AKPROJECTS0001", "OS_SECRET_KEY=projects-secret-key-0123456789"});
  ASSERT_GT(controller.port(), 0) << controller.process().Stdout();
  ExpectBothProjectsConverged(sim, controller);
}

}  // namespace
}  // namespace mactl::integration
