#include "controller/auth/clouds_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

namespace mactl {
namespace {

namespace fs = std::filesystem;

// A clouds.yaml is a few KiB; anything near this is not one.
constexpr std::uintmax_t kMaxCloudsYamlBytes = 1024 * 1024;

Error ConfigError(const fs::path& file, const std::string& what) {
  return MakeError(ErrorClass::kTerminal, "Config", file.string() + ": " + what);
}

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ")";
}

// Copies map[key] into *out when it is a scalar; a null value counts as unset.
Status ReadString(const fs::path& file, const YAML::Node& map, const std::string& path,
                  const char* key, std::string* out) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) return OkStatus();
  if (!value.IsScalar()) {
    // Names the key and the position only: the value may be a secret.
    return ConfigError(file, path + "." + key + " must be a string" + Where(value));
  }
  *out = value.as<std::string>();
  return OkStatus();
}

// Reads clouds.<cloud>; nullopt when the file has no such entry.
Result<std::optional<CloudConfig>> LoadEntry(const fs::path& file, std::string_view cloud) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return ConfigError(file, "cannot read: " + ec.message());
  if (size > kMaxCloudsYamlBytes) return ConfigError(file, "larger than 1 MiB");
  std::ifstream in(file, std::ios::binary);
  if (!in) return ConfigError(file, "cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();

  try {
    const YAML::Node root = YAML::Load(text.str());
    if (!root.IsDefined() || root.IsNull()) return ConfigError(file, "is empty");
    if (!root.IsMap()) return ConfigError(file, "top level must be a mapping with a clouds key");
    const YAML::Node clouds = root["clouds"];
    if (!clouds.IsDefined() || clouds.IsNull()) return std::optional<CloudConfig>();
    if (!clouds.IsMap()) return ConfigError(file, "clouds must be a mapping" + Where(clouds));
    const std::string key(cloud);
    const YAML::Node entry = clouds[key];
    if (!entry.IsDefined() || entry.IsNull()) return std::optional<CloudConfig>();
    const std::string path = "clouds." + key;
    if (!entry.IsMap()) return ConfigError(file, path + " must be a mapping" + Where(entry));

    CloudConfig c;
    c.name = key;
    c.file = file;
    for (const auto& [name, field] : {std::pair{"region_name", &c.region_name},
                                      std::pair{"ak", &c.ak}, std::pair{"sk", &c.sk}}) {
      if (Status s = ReadString(file, entry, path, name, field); !s.ok()) return s.error();
    }
    const YAML::Node auth = entry["auth"];
    if (auth.IsDefined() && !auth.IsNull()) {
      const std::string auth_path = path + ".auth";
      if (!auth.IsMap()) return ConfigError(file, auth_path + " must be a mapping" + Where(auth));
      std::string domain_name;
      for (const auto& [name, field] : {
               std::pair{"auth_url", &c.auth_url},
               std::pair{"username", &c.username},
               std::pair{"password", &c.password},
               std::pair{"user_domain_name", &c.user_domain_name},
               std::pair{"domain_name", &domain_name},
               std::pair{"project_name", &c.project_name},
               std::pair{"project_id", &c.project_id},
               std::pair{"token", &c.token},
               std::pair{"ak", &c.ak},
               std::pair{"sk", &c.sk},
           }) {
        if (Status s = ReadString(file, auth, auth_path, name, field); !s.ok()) return s.error();
      }
      if (c.user_domain_name.empty()) c.user_domain_name = domain_name;
    }
    return std::optional<CloudConfig>(std::move(c));
  } catch (const YAML::Exception& e) {
    // e.msg is the parser's reason ("illegal map value", ...), never the document text.
    std::string where;
    if (!e.mark.is_null()) {
      where = "line " + std::to_string(e.mark.line + 1) + ", column " +
              std::to_string(e.mark.column + 1) + ": ";
    }
    return ConfigError(file, "invalid YAML: " + where + e.msg);
  }
}

std::vector<std::string> CloudNames(const fs::path& file) {
  std::vector<std::string> names;
  try {
    const YAML::Node root = YAML::LoadFile(file.string());
    if (root.IsMap() && root["clouds"].IsMap()) {
      for (const auto& kv : root["clouds"]) {
        if (kv.first.IsScalar()) names.push_back(kv.first.as<std::string>());
      }
    }
  } catch (const YAML::Exception&) {
    // Only used to enrich an error message; the file already parsed once.
  }
  return names;
}

std::optional<fs::path> FirstExisting(const std::vector<fs::path>& candidates) {
  for (const fs::path& p : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

void Override(std::string& base, const std::string& secure) {
  if (!secure.empty()) base = secure;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

CloudsYamlSearch DefaultCloudsYamlSearch(const EnvLookup& env,
                                         const std::filesystem::path& working_directory) {
  std::vector<fs::path> dirs = {working_directory};
  if (const auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    dirs.push_back(fs::path(*xdg) / "openstack");
  } else if (const auto home = env("HOME"); home && !home->empty()) {
    dirs.push_back(fs::path(*home) / ".config" / "openstack");
  }
  dirs.emplace_back("/etc/openstack");

  CloudsYamlSearch search;
  const auto fill = [&](std::string_view override_var, const char* file_name,
                        std::vector<fs::path>& out) {
    if (const auto file = env(override_var); file && !file->empty()) {
      out.emplace_back(*file);
      return;
    }
    for (const fs::path& d : dirs) out.push_back(d / file_name);
  };
  fill("OS_CLIENT_CONFIG_FILE", "clouds.yaml", search.clouds_files);
  fill("OS_CLIENT_SECURE_FILE", "secure.yaml", search.secure_files);
  return search;
}

Result<CloudConfig> LoadCloudFromFile(const std::filesystem::path& file, std::string_view cloud) {
  Result<std::optional<CloudConfig>> entry = LoadEntry(file, cloud);
  if (!entry.ok()) return entry.error();
  if (!entry->has_value()) {
    std::string known;
    for (const std::string& n : CloudNames(file)) known += (known.empty() ? "" : ", ") + n;
    return ConfigError(file, "has no cloud named \"" + std::string(cloud) + "\" (OS_CLOUD); " +
                                 (known.empty() ? "it defines none" : "it defines: " + known));
  }
  return std::move(entry.value()).value();
}

Result<CloudConfig> FindCloud(const CloudsYamlSearch& search, std::string_view cloud) {
  const std::optional<fs::path> file = FirstExisting(search.clouds_files);
  if (!file) {
    std::string looked;
    for (const fs::path& p : search.clouds_files)
      looked += (looked.empty() ? "" : ", ") + p.string();
    return MakeError(ErrorClass::kTerminal, "Config",
                     "OS_CLOUD is \"" + std::string(cloud) +
                         "\" but no clouds.yaml was found (looked in " + looked + ")");
  }
  Result<CloudConfig> config = LoadCloudFromFile(*file, cloud);
  if (!config.ok()) return config;
  if (const std::optional<fs::path> secure_file = FirstExisting(search.secure_files)) {
    Result<std::optional<CloudConfig>> secure = LoadEntry(*secure_file, cloud);
    if (!secure.ok()) return secure.error();
    if (secure->has_value()) {
      const CloudConfig& s = **secure;
      CloudConfig& c = config.value();
      c.secure_file = *secure_file;
      Override(c.auth_url, s.auth_url);
      Override(c.username, s.username);
      Override(c.password, s.password);
      Override(c.user_domain_name, s.user_domain_name);
      Override(c.project_name, s.project_name);
      Override(c.project_id, s.project_id);
      Override(c.token, s.token);
      Override(c.ak, s.ak);
      Override(c.sk, s.sk);
      Override(c.region_name, s.region_name);
    }
  }
  return config;
}

ProjectClouds FindProjectClouds(const CloudsYamlSearch& search, std::string_view chosen) {
  ProjectClouds out;
  const std::optional<fs::path> file = FirstExisting(search.clouds_files);
  if (!file) return out;
  for (const std::string& name : CloudNames(*file)) {
    if (name == chosen) continue;
    Result<CloudConfig> config = FindCloud(search, name);
    if (!config.ok()) {
      out.skipped.push_back(config.error().message);
    } else if (!config->project_id.empty()) {
      out.entries.push_back(std::move(config.value()));
    }
  }
  return out;
}

}  // namespace mactl
