#include "controller/cloud/http_endpoint.h"

#include <gtest/gtest.h>

namespace mactl {
namespace {

TEST(ParseHttpEndpointTest, SplitsSchemeHostPortAndBasePath) {
  auto a = ParseHttpEndpoint("https://modelarts.eu-de.otc.t-systems.com");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->scheme, "https");
  EXPECT_EQ(a->host, "modelarts.eu-de.otc.t-systems.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->base_path, "");
  EXPECT_EQ(a->HostHeader(), "modelarts.eu-de.otc.t-systems.com");

  auto b = ParseHttpEndpoint("HTTP://127.0.0.1:8081/proxy/modelarts//");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scheme, "http");
  EXPECT_EQ(b->port, 8081);
  EXPECT_EQ(b->base_path, "/proxy/modelarts");
  EXPECT_EQ(b->HostHeader(), "127.0.0.1:8081");

  auto c = ParseHttpEndpoint("http://[::1]:9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "[::1]");
  EXPECT_EQ(c->HostHeader(), "[::1]:9000");

  auto d = ParseHttpEndpoint("https://host:443/");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->HostHeader(), "host");
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("a b/c?d&e=f%\xC3\xA9"), "a%20b%2Fc%3Fd%26e%3Df%25%C3%A9");
}

}  // namespace
}  // namespace mactl
