#include "controller/auth/static_token_authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace mactl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TokenSent(Authenticator& auth, Status* status_out = nullptr) {
  OutgoingRequest request;
  request.method = "GET";
  const Status status = auth.Apply(request);
  if (status_out != nullptr) *status_out = status;
  if (!status.ok()) return "<error>";
  std::string token;
  for (const auto& [name, value] : request.headers) {
    if (name == "X-Auth-Token") token = value;
  }
  return token;
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mactl-token-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "token";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes content and pins the mtime, so tests never depend on timestamp granularity.
  void Write(const std::string& content, fs::file_time_type mtime) {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out << content;
    }
    fs::last_write_time(path_, mtime);
  }

  fs::path dir_;
  fs::path path_;
  const fs::file_time_type t0_ = fs::file_time_type::clock::now() - std::chrono::hours(1);
};

TEST(StaticTokenTest, SendsTheTokenAsXAuthToken) {
  StaticTokenAuthenticator auth = StaticTokenAuthenticator::FromToken("abc.DEF-123\n");
  OutgoingRequest request;
  request.headers.emplace_back("Content-Type", "application/json");
  ASSERT_TRUE(auth.Apply(request).ok());
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[1].first, "X-Auth-Token");
  EXPECT_EQ(request.headers[1].second, "abc.DEF-123");  // trailing newline trimmed
  EXPECT_EQ(auth.Describe(), "token");
  auth.OnUnauthorized(OutgoingRequest{});  // nothing to renew; the same token keeps being sent
  EXPECT_EQ(TokenSent(auth), "abc.DEF-123");
}

TEST(StaticTokenTest, EmptyTokenIsAnError) {
  StaticTokenAuthenticator auth = StaticTokenAuthenticator::FromToken(" \n");
  Status status = OkStatus();
  TokenSent(auth, &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "Auth.Token");
}

TEST(StaticTokenTest, MovedAuthenticatorKeepsTheToken) {
  StaticTokenAuthenticator moved(StaticTokenAuthenticator::FromToken("tok"));
  EXPECT_EQ(TokenSent(moved), "tok");
}

TEST_F(TokenFileTest, ReadsAndTrimsTheFile) {
  Write("file-token-1 \r\n\n", t0_);
  auto auth = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(auth.value()->Describe(), "token-file");
  EXPECT_EQ(TokenSent(*auth.value()), "file-token-1");
}

TEST_F(TokenFileTest, RereadsWhenTheFileChanges) {
  Write("first-token", t0_);
  auto auth = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(TokenSent(*auth.value()), "first-token");
  // Same size, newer mtime (a Secret rotation).
  Write("secnd-token", t0_ + std::chrono::seconds(10));
  EXPECT_EQ(TokenSent(*auth.value()), "secnd-token");
  // Same mtime, different size.
  Write("third-token-longer", t0_ + std::chrono::seconds(10));
  EXPECT_EQ(TokenSent(*auth.value()), "third-token-longer");
}

TEST_F(TokenFileTest, UnchangedStampMeansNoRereadUntilUnauthorized) {
  Write("token-AAAA", t0_);
  auto auth = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(TokenSent(*auth.value()), "token-AAAA");
  // Rewritten with the same size and the same mtime: the stat check cannot see it...
  Write("token-BBBB", t0_);
  EXPECT_EQ(TokenSent(*auth.value()), "token-AAAA");
  // ...but a 401 forces a re-read.
  auth.value()->OnUnauthorized(OutgoingRequest{});
  EXPECT_EQ(TokenSent(*auth.value()), "token-BBBB");
}

TEST_F(TokenFileTest, FollowsAKubernetesStyleSymlinkSwap) {
  const fs::path v1 = dir_ / "..2024_01";
  const fs::path v2 = dir_ / "..2024_02";
  fs::create_directories(v1);
  fs::create_directories(v2);
  { std::ofstream(v1 / "token") << "token-one"; }
  { std::ofstream(v2 / "token") << "token-two"; }
  fs::last_write_time(v1 / "token", t0_);
  fs::last_write_time(v2 / "token", t0_ + std::chrono::seconds(5));
  fs::create_directory_symlink(v1, dir_ / "..data");
  fs::create_symlink(dir_ / "..data" / "token", dir_ / "link");
  auto auth = StaticTokenAuthenticator::FromFile(dir_ / "link");
  ASSERT_TRUE(auth.ok()) << auth.error().ToString();
  EXPECT_EQ(TokenSent(*auth.value()), "token-one");
  fs::create_directory_symlink(v2, dir_ / "..data_tmp");
  fs::rename(dir_ / "..data_tmp", dir_ / "..data");
  EXPECT_EQ(TokenSent(*auth.value()), "token-two");
}

TEST_F(TokenFileTest, EmptyOrMissingFileIsAnErrorNamingTheFileOnly) {
  Write("  \n", t0_);
  auto empty = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr(path_.string()));
  EXPECT_THAT(empty.error().message, HasSubstr("empty"));

  auto missing = StaticTokenAuthenticator::FromFile(dir_ / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "Auth.TokenFile");
  EXPECT_THAT(missing.error().message, HasSubstr((dir_ / "nope").string()));
}

TEST_F(TokenFileTest, ContentNeverAppearsInErrors) {
  const std::string secret = "s3cr3t-line-one\ns3cr3t-line-two";
  Write(secret, t0_);
  auto bad = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().ToString(), Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(bad.error().message, HasSubstr("control characters"));

  const std::string big(kMaxTokenFileBytes + 1, 'k');
  Write(big, t0_);
  auto too_big = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.error().ToString(), Not(HasSubstr("kkkk")));
}

TEST_F(TokenFileTest, FileVanishingLaterIsAnErrorAndTheOldTokenIsNotSent) {
  Write("good-token", t0_);
  auto auth = StaticTokenAuthenticator::FromFile(path_);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(TokenSent(*auth.value()), "good-token");
  fs::remove(path_);
  Status status = OkStatus();
  EXPECT_EQ(TokenSent(*auth.value(), &status), "<error>");
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.error().retryable());
  EXPECT_THAT(status.error().ToString(), Not(HasSubstr("good-token")));
  // Back again (same stamp as before): read again, not served from the stale cache.
  Write("new-token!", t0_);
  EXPECT_EQ(TokenSent(*auth.value()), "new-token!");
}

}  // namespace
}  // namespace mactl
