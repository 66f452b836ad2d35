#include "controller/auth/clouds_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>

namespace mactl {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "clouds_yaml_test.XXXXXX").string();
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path Write(const fs::path& relative, const std::string& content) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p;
  }

 private:
  fs::path path_;
};

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr char kOtcCloud[] = R"(
clouds:
  otc:
    profile: otc
    region_name: eu-de
    auth:
      username: alice
      password: 'pw-SECRET-1'
      project_name: eu-de_demo
      user_domain_name: OTC00000000001000000xxx
      auth_url: 'https://iam.eu-de.otc.t-systems.com:443/v3'
    interface: public
    identity_api_version: 3
    ak: AKCLOUDLEVEL
    sk: 'sk-SECRET-2'
  other:
    auth:
      token: tok-SECRET-3
      project_id: 0123
      domain_name: Default
)";

TEST(CloudsYamlTest, ReadsTheDocumentedOtcLayout) {
  TempDir dir;
  const fs::path file = dir.Write("clouds.yaml", kOtcCloud);
  const Result<CloudConfig> c = LoadCloudFromFile(file, "otc");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->name, "otc");
  EXPECT_EQ(c->file, file);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pw-SECRET-1");
  EXPECT_EQ(c->project_name, "eu-de_demo");
  EXPECT_EQ(c->user_domain_name, "OTC00000000001000000xxx");
  EXPECT_EQ(c->auth_url, "https://iam.eu-de.otc.t-systems.com:443/v3");
  EXPECT_EQ(c->region_name, "eu-de");
  EXPECT_EQ(c->ak, "AKCLOUDLEVEL");
  EXPECT_EQ(c->sk, "sk-SECRET-2");
  EXPECT_EQ(c->token, "");
}

TEST(CloudsYamlTest, TokenDomainNameFallbackAndRawScalars) {
  TempDir dir;
  const Result<CloudConfig> c = LoadCloudFromFile(dir.Write("clouds.yaml", kOtcCloud), "other");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->token, "tok-SECRET-3");
  EXPECT_EQ(c->project_id, "0123");  // kept as written, not read as an (octal) number
  EXPECT_EQ(c->user_domain_name, "Default");
}

TEST(CloudsYamlTest, AkSkUnderAuthAreReadToo) {
  TempDir dir;
  const fs::path file = dir.Write("c.yaml", "clouds:\n  x:\n    auth:\n      ak: A\n      sk: S\n");
  const Result<CloudConfig> c = LoadCloudFromFile(file, "x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ak, "A");
  EXPECT_EQ(c->sk, "S");
}

TEST(CloudsYamlTest, UnknownCloudListsTheKnownOnes) {
  TempDir dir;
  const fs::path file = dir.Write("clouds.yaml", kOtcCloud);
  const Result<CloudConfig> c = LoadCloudFromFile(file, "prod");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr(file.string()));
  EXPECT_THAT(c.error().message, HasSubstr("\"prod\""));
  EXPECT_THAT(c.error().message, HasSubstr("otc, other"));
  EXPECT_THAT(c.error().message, Not(HasSubstr("SECRET")));
}

TEST(CloudsYamlTest, ErrorsNameFileAndKeyButNoValue) {
  TempDir dir;
  const fs::path wrong_type =
      dir.Write("a.yaml", "clouds:\n  x:\n    auth:\n      password: [pw-SECRET-4, more]\n");
  Result<CloudConfig> c = LoadCloudFromFile(wrong_type, "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr(wrong_type.string()));
  EXPECT_THAT(c.error().message, HasSubstr("clouds.x.auth.password must be a string"));
  EXPECT_THAT(c.error().message, HasSubstr("line 4"));
  EXPECT_THAT(c.error().message, Not(HasSubstr("SECRET")));

  const fs::path broken =
      dir.Write("b.yaml", "clouds:\n  x:\n    auth: {password: 'pw-SECRET-5'\n");
  c = LoadCloudFromFile(broken, "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("invalid YAML"));
  EXPECT_THAT(c.error().message, Not(HasSubstr("SECRET")));

  c = LoadCloudFromFile(dir.path() / "missing.yaml", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("missing.yaml"));

  c = LoadCloudFromFile(dir.Write("c.yaml", "- a\n- b\n"), "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("top level"));
}

TEST(CloudsYamlTest, DefaultSearchOrder) {
  const CloudsYamlSearch s =
      DefaultCloudsYamlSearch(Env({{"HOME", "/home/u"}}), fs::path("/work/dir"));
  EXPECT_THAT(s.clouds_files, ElementsAre(fs::path("/work/dir/clouds.yaml"),
                                          fs::path("/home/u/.config/openstack/clouds.yaml"),
                                          fs::path("/etc/openstack/clouds.yaml")));
  EXPECT_THAT(s.secure_files, ElementsAre(fs::path("/work/dir/secure.yaml"),
                                          fs::path("/home/u/.config/openstack/secure.yaml"),
                                          fs::path("/etc/openstack/secure.yaml")));
  const CloudsYamlSearch xdg = DefaultCloudsYamlSearch(
      Env({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "/xdg"}}), fs::path("/w"));
  EXPECT_EQ(xdg.clouds_files.at(1), fs::path("/xdg/openstack/clouds.yaml"));
  const CloudsYamlSearch forced = DefaultCloudsYamlSearch(
      Env({{"OS_CLIENT_CONFIG_FILE", "/run/c.yaml"}, {"OS_CLIENT_SECURE_FILE", "/run/s.yaml"}}),
      fs::path("/w"));
  EXPECT_THAT(forced.clouds_files, ElementsAre(fs::path("/run/c.yaml")));
  EXPECT_THAT(forced.secure_files, ElementsAre(fs::path("/run/s.yaml")));
}

TEST(CloudsYamlTest, FindCloudUsesTheFirstExistingFileAndMergesSecureYaml) {
  TempDir dir;
  CloudsYamlSearch search;
  search.clouds_files = {dir.path() / "cwd" / "clouds.yaml", dir.path() / "home" / "clouds.yaml",
                         dir.path() / "etc" / "clouds.yaml"};
  search.secure_files = {dir.path() / "cwd" / "secure.yaml", dir.path() / "home" / "secure.yaml"};
  dir.Write("home/clouds.yaml",
            "clouds:\n  otc:\n    auth:\n      username: bob\n      password: old\n"
            "      auth_url: https://iam.example/v3\n");
  dir.Write("etc/clouds.yaml", "clouds:\n  otc:\n    auth:\n      username: not-me\n");
  dir.Write("home/secure.yaml", "clouds:\n  otc:\n    auth:\n      password: from-secure\n");

  const Result<CloudConfig> c = FindCloud(search, "otc");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->file, dir.path() / "home" / "clouds.yaml");
  EXPECT_EQ(c->secure_file, dir.path() / "home" / "secure.yaml");
  EXPECT_EQ(c->username, "bob");
  EXPECT_EQ(c->password, "from-secure");
  EXPECT_EQ(c->auth_url, "https://iam.example/v3");
}

TEST(CloudsYamlTest, FindCloudWithoutAnyFileSaysWhereItLooked) {
  TempDir dir;
  CloudsYamlSearch search;
  search.clouds_files = {dir.path() / "a" / "clouds.yaml", dir.path() / "b" / "clouds.yaml"};
  const Result<CloudConfig> c = FindCloud(search, "otc");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr((dir.path() / "a" / "clouds.yaml").string()));
  EXPECT_THAT(c.error().message, HasSubstr((dir.path() / "b" / "clouds.yaml").string()));
}

}  // namespace
}  // namespace mactl
