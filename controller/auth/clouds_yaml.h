#pragma once

// OpenStack-style clouds.yaml (and secure.yaml) reading for OS_CLOUD.
//
// Keys read from clouds.<name>: auth.auth_url, auth.username, auth.password,
// auth.user_domain_name (or auth.domain_name), auth.project_name, auth.project_id,
// auth.token, region_name, and the AK/SK pair as `ak`/`sk`, either at the cloud level
// (where the OTC extensions for openstacksdk document them) or under auth. The
// spellings access_key/secret_key are not read: no OpenStack/OTC tooling documentation
// found uses them in clouds.yaml.
//
// secure.yaml has the same layout; for the chosen cloud, each key it sets overrides
// clouds.yaml (so passwords can live in a separate, more tightly protected file).

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"

namespace mactl {

// Looks up an environment variable; nullopt when unset. Injected so tests never touch
// the process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The real environment (getenv).
EnvLookup ProcessEnvironment();

struct CloudsYamlSearch {
  std::vector<std::filesystem::path> clouds_files;  // the first that exists is used
  std::vector<std::filesystem::path> secure_files;  // likewise
};

// OS_CLIENT_CONFIG_FILE (alone, when set), else ./clouds.yaml,
// $XDG_CONFIG_HOME/openstack/clouds.yaml (default ~/.config/openstack), then
// /etc/openstack/clouds.yaml; secure.yaml the same way (OS_CLIENT_SECURE_FILE).
CloudsYamlSearch DefaultCloudsYamlSearch(const EnvLookup& env,
                                         const std::filesystem::path& working_directory);

// One cloud's settings; empty strings for keys that are not set.
struct CloudConfig {
  std::string name;
  std::filesystem::path file;         // the clouds.yaml it came from
  std::filesystem::path secure_file;  // the secure.yaml that contributed, if any
  std::string auth_url;
  std::string username;
  std::string password;  // secret
  std::string user_domain_name;
  std::string project_name;
  std::string project_id;
  std::string token;  // secret
  std::string ak;
  std::string sk;  // secret
  std::string region_name;
};

// Reads clouds.<cloud> from one file. The entry missing from the file is an error that
// lists the clouds the file has. Errors name the file and the key, never a value.
Result<CloudConfig> LoadCloudFromFile(const std::filesystem::path& file, std::string_view cloud);

// Finds the first existing clouds file of `search`, reads the cloud from it and applies
// the first existing secure file's entry for the same cloud, if it has one.
Result<CloudConfig> FindCloud(const CloudsYamlSearch& search, std::string_view cloud);

// The other entries of the same clouds file that name a project (auth.project_id, after
// secure.yaml), for credentials per project. An entry that cannot be read is left out and
// named in `skipped`, with a secret-free reason: it must not stop the chosen one working.
struct ProjectClouds {
  std::vector<CloudConfig> entries;
  std::vector<std::string> skipped;
};
ProjectClouds FindProjectClouds(const CloudsYamlSearch& search, std::string_view chosen);

}  // namespace mactl
