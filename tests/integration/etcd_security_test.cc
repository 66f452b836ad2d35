// The etcd client against a real etcd that demands TLS with client certificates, and one with
// password auth enabled: what --etcd-ca-file/--etcd-cert-file/--etcd-key-file and
// ETCD_USERNAME/ETCD_PASSWORD configure.

#include <gtest/gtest.h>

#include "controller/election/http_etcd_client.h"
#include "integration/etcd_cluster.h"

namespace mactl::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A certificate `name`.pem/.key signed by the test CA of MakeTestPki (whose key is ca.key
// beside it) with the given extensions.
bool MakeCert(const TestPki& pki, const fs::path& dir, const std::string& name,
              const std::string& cn, const std::string& extensions) {
  const fs::path ext = dir / (name + ".ext");
  WriteFile(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + extensions);
  const std::string quiet = " >>" + (dir / "openssl-client.log").string() + " 2>&1";
  const std::vector<std::string> commands = {
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
          (dir / (name + ".key")).string() + " -out " + (dir / (name + ".csr")).string() +
          " -subj '/CN=" + cn + "'" + quiet,
      "openssl x509 -req -in " + (dir / (name + ".csr")).string() + " -CA " + pki.ca_cert.string() +
          " -CAkey " + (pki.ca_cert.parent_path() / "ca.key").string() +
          " -CAcreateserial -days 2 -extfile " + ext.string() + " -out " +
          (dir / (name + ".pem")).string() + quiet,
  };
  for (const std::string& command : commands) {
    if (std::system(command.c_str()) != 0) return false;
  }
  return true;
}

Result<std::unique_ptr<HttpEtcdClient>> Client(const HttpEtcdClientOptions& options,
                                               const Clock& clock) {
  return HttpEtcdClient::Create(options, clock);
}

TEST(EtcdSecurityTest, TlsWithClientCertificatesWorksAndIsRequired) {
  if (!EtcdCluster::Available()) GTEST_FAIL() << "etcd-server is not installed";
  // A refused TLS handshake can raise SIGPIPE inside OpenSSL; the daemon ignores it (main).
  signal(SIGPIPE, SIG_IGN);
  TempDir dir;
  const TestPki pki = MakeTestPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok) << pki.log;
  const fs::path certs = dir.path() / "pki";
  ASSERT_TRUE(MakeCert(pki, certs, "client", "root", "extendedKeyUsage=clientAuth\n"));
  // etcd's gateway dials the server itself with the server certificate as its client
  // certificate, so with --client-cert-auth that one needs clientAuth too.
  ASSERT_TRUE(MakeCert(pki, certs, "etcd", "etcd",
                       "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1\n"));
  EtcdCluster cluster(
      dir, 1,
      {"--cert-file", (certs / "etcd.pem").string(), "--key-file", (certs / "etcd.key").string(),
       "--trusted-ca-file", pki.ca_cert.string(), "--client-cert-auth"},
      "https");
  const SystemClock clock;
  HttpEtcdClientOptions options;
  options.endpoints = cluster.ClientUrls();
  options.ca_file = pki.ca_cert.string();
  options.cert_file = (dir.path() / "pki" / "client.pem").string();
  options.key_file = (dir.path() / "pki" / "client.key").string();
  options.request_timeout = milliseconds(1000);
  auto client = Client(options, clock);
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  std::string last_error;
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto probe = client.value()->GrantLease(5);
        if (!probe.ok()) last_error = probe.error().ToString();
        return probe.ok();
      },
      seconds(20)))
      << last_error << "\n"
      << cluster.Logs();
  const auto lease = client.value()->GrantLease(5);
  ASSERT_TRUE(lease.ok());
  const auto created = client.value()->CreateWithLease("/sec/a", "me", lease->id);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_TRUE(created->created);
  EXPECT_TRUE(client.value()->CreateRevisionIs("/sec/a", created->revision).value());
  // Revoking twice: the second answer is etcd's NotFound error (which ends with an HTTP
  // trailer), recognised as "already gone".
  EXPECT_TRUE(client.value()->RevokeLease(lease->id).ok());
  const Status again = client.value()->RevokeLease(lease->id);
  EXPECT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_FALSE(client.value()->CreateRevisionIs("/sec/a", created->revision).value());

  // Without a client certificate the server refuses the handshake.
  HttpEtcdClientOptions no_cert = options;
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  const auto anonymous = Client(no_cert, clock);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE(anonymous.value()->RangePrefix("/sec/").ok());
  // With the system CAs instead of the test CA the server is not trusted.
  HttpEtcdClientOptions system_ca = options;
  system_ca.ca_file.clear();
  const auto untrusting = Client(system_ca, clock);
  ASSERT_TRUE(untrusting.ok());
  const auto refused = untrusting.value()->RangePrefix("/sec/");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("SSL"), std::string::npos) << refused.error().message;
}

TEST(EtcdSecurityTest, PasswordAuthGetsATokenAndAWrongPasswordIsTerminal) {
  if (!EtcdCluster::Available()) GTEST_FAIL() << "etcd-server is not installed";
  TempDir dir;
  // Simple tokens that expire after a second unused, to see the client get a new one.
  EtcdCluster cluster(dir, 1, {"--auth-token-ttl", "1"});
  ASSERT_TRUE(cluster.WaitHealthy()) << cluster.Logs();
  // Enable auth through the gateway: a root user with the root role.
  httplib::Client admin("127.0.0.1", std::stoi(cluster.ClientUrl(0).substr(17)));
  for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v3/auth/user/add", R"({"name":"root","password":"s3cret-pw"})"},
           {"/v3/auth/role/add", R"({"name":"root"})"},
           {"/v3/auth/user/grant", R"({"user":"root","role":"root"})"},
           {"/v3/auth/enable", "{}"}}) {
    const auto res = admin.Post(path, body, "application/json");
    ASSERT_TRUE(res && res->status == 200) << path << ": " << (res ? res->body : "no answer");
  }
  const SystemClock clock;
  HttpEtcdClientOptions options;
  options.endpoints = cluster.ClientUrls();
  options.request_timeout = milliseconds(1000);
  // No credentials: reading keys is refused (etcd 3.4 grants leases to anybody).
  auto anonymous = Client(options, clock);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE(anonymous.value()->RangePrefix("/sec/").ok());

  options.username = "root";
  options.password = "s3cret-pw";
  auto client = Client(options, clock);
  ASSERT_TRUE(client.ok());
  const auto lease = client.value()->GrantLease(5);
  ASSERT_TRUE(lease.ok()) << lease.error().ToString();
  EXPECT_GT(client.value()->KeepAlive(lease->id).value(), 0);
  EXPECT_TRUE(client.value()->RangePrefix("/sec/").ok());
  // The token expires; etcd answers 401 "invalid auth token" and the client authenticates again.
  std::this_thread::sleep_for(milliseconds(2500));
  const auto after_expiry = client.value()->RangePrefix("/sec/");
  EXPECT_TRUE(after_expiry.ok()) << after_expiry.error().ToString();

  options.password = "wrong-password";
  auto wrong = Client(options, clock);
  ASSERT_TRUE(wrong.ok());
  const auto denied = wrong.value()->GrantLease(5);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().error_class, ErrorClass::kTerminal) << denied.error().ToString();
  EXPECT_EQ(denied.error().message.find("wrong-password"), std::string::npos);
}

}  // namespace
}  // namespace mactl::integration
