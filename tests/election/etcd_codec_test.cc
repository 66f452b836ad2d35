#include "controller/election/etcd_codec.h"

#include <gtest/gtest.h>

namespace mactl::etcd_wire {
namespace {

// Answers as etcd 3.4.23's gateway wrote them (recorded on loopback).
constexpr char kGrant[] =
    R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
    R"("revision":"1","raft_term":"2"},"ID":"4111120323751620357","TTL":"5"})";
constexpr char kKeepAlive[] =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"1","raft_term":"2"},)"
    R"("ID":"4111120323751620359","TTL":"5"}})"
    "\n";
constexpr char kKeepAliveGone[] =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"1","raft_term":"2"},)"
    R"("ID":"12345"}})";
constexpr char kCreated[] =
    R"({"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},)"
    R"("succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]})";
constexpr char kExists[] =
    R"({"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},"responses":)"
    R"([{"response_range":{"header":{"revision":"2"},"kvs":[{"key":"L3AveA==",)"
    R"("create_revision":"2","mod_revision":"2","version":"1","value":"bWU=",)"
    R"("lease":"4111120323751620359"}],"count":"1"}}]})";
constexpr char kRange[] =
    R"({"header":{"revision":"9"},"kvs":[)"
    R"({"key":"L3AveA==","create_revision":"2","mod_revision":"2","version":"1","value":"bWU=",)"
    R"("lease":"7"},{"key":"L3AveQ==","create_revision":"5","mod_revision":"5","version":"1",)"
    R"("lease":"8"}],"count":"2"})";

TEST(EtcdCodecTest, Base64RoundTripsAndRejectsEverythingNonCanonical) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\x00\x01"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(text)), text);
  }
  EXPECT_EQ(Base64Encode("/p/x"), "L3AveA==");
  for (const char* bad :
       {"L3AveA=", "L3Av eA==", "L3A=eA==", "L3AveA=a", "L3Ave-==", "Zh==", "Zm9=", "===="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(EtcdCodecTest, PrefixRangeEndIsTheNextKeyAfterAllPrefixedOnes) {
  EXPECT_EQ(PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixRangeEnd("a\xff"), "b");
  EXPECT_EQ(PrefixRangeEnd("\xff\xff"), std::string(1, '\0'));
}

TEST(EtcdCodecTest, RequestsCarryInt64sAsStringsAndBytesAsBase64) {
  EXPECT_EQ(EncodeLeaseGrant(15), R"({"TTL":"15"})");
  EXPECT_EQ(EncodeLeaseId(42), R"({"ID":"42"})");
  // The success branch's range makes etcd answer it linearizably (with quorum only).
  EXPECT_EQ(EncodeCreateRevisionTxn("/p/x", 7),
            R"({"compare":[{"create_revision":"7","key":"L3AveA==","result":"EQUAL",)"
            R"("target":"CREATE"}],"success":[{"request_range":{"key":"L3AveA=="}}]})");
  const std::string create = EncodeCreateTxn("/p/x", "me", 9);
  EXPECT_NE(create.find(R"("request_put":{"key":"L3AveA==","lease":"9","value":"bWU="})"),
            std::string::npos);
  EXPECT_NE(create.find(R"("create_revision":"0")"), std::string::npos);
  EXPECT_EQ(EncodeRangePrefix("/a/"),
            R"({"key":"L2Ev","range_end":"L2Ew","sort_order":"ASCEND","sort_target":"CREATE"})");
}

TEST(EtcdCodecTest, DecodesRecordedAnswers) {
  const Result<EtcdLease> lease = DecodeLeaseGrant(kGrant);
  ASSERT_TRUE(lease.ok()) << lease.error().ToString();
  EXPECT_EQ(lease->id, 4111120323751620357);
  EXPECT_EQ(lease->ttl_seconds, 5);

  const Result<std::int64_t> ttl = DecodeKeepAlive(kKeepAlive, 4111120323751620359);
  ASSERT_TRUE(ttl.ok()) << ttl.error().ToString();
  EXPECT_EQ(ttl.value(), 5);
  // The TTL is omitted when zero: the lease is gone.
  const Result<std::int64_t> gone = DecodeKeepAlive(kKeepAliveGone, 12345);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone.value(), 0);

  const Result<EtcdCreateResult> created = DecodeCreateTxn(kCreated);
  ASSERT_TRUE(created.ok()) << created.error().ToString();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->revision, 2);

  // "succeeded" omitted means false; the failure branch's range names the existing key.
  const Result<EtcdCreateResult> exists = DecodeCreateTxn(kExists);
  ASSERT_TRUE(exists.ok()) << exists.error().ToString();
  EXPECT_FALSE(exists->created);
  ASSERT_TRUE(exists->existing.has_value());
  EXPECT_EQ(exists->existing->key, "/p/x");
  EXPECT_EQ(exists->existing->value, "me");
  EXPECT_EQ(exists->existing->lease, 4111120323751620359);

  const Result<EtcdRangeResult> range = DecodeRange(kRange);
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  ASSERT_EQ(range->kvs.size(), 2u);
  EXPECT_EQ(range->kvs[1].key, "/p/y");
  EXPECT_EQ(range->kvs[1].value, "");  // omitted when empty
  EXPECT_EQ(range->revision, 9);
  // No "kvs" at all: nobody campaigns.
  const Result<EtcdRangeResult> empty = DecodeRange(R"({"header":{"revision":"3"}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());

  constexpr char kStillThere[] =
      R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_range":{"header":)"
      R"({"revision":"3"},"kvs":[{"key":"L3AveA==","create_revision":"2","mod_revision":"2",)"
      R"("version":"1","value":"bWU=","lease":"7"}],"count":"1"}}]})";
  EXPECT_EQ(DecodeCreateRevisionTxn(kStillThere, 2).value(), true);
  EXPECT_EQ(DecodeCreateRevisionTxn(R"({"header":{"revision":"3"}})", 2).value(), false);
  // Success that does not show the key, or shows another revision, is not believed.
  EXPECT_FALSE(DecodeCreateRevisionTxn(R"({"header":{"revision":"3"},"succeeded":true})", 2).ok());
  EXPECT_FALSE(DecodeCreateRevisionTxn(kStillThere, 5).ok());
  EXPECT_EQ(DecodeAuthToken(R"({"header":{"revision":"3"},"token":"abc.15"})").value(), "abc.15");
}

TEST(EtcdCodecTest, RejectsHostileAnswers) {
  const auto malformed = [](const Status& s) {
    return !s.ok() && s.error().code == "Etcd.MalformedResponse" && s.error().retryable();
  };
  const auto grant = [](const char* body) {
    const auto r = DecodeLeaseGrant(body);
    return r.ok() ? OkStatus() : Status(r.error());
  };
  EXPECT_TRUE(malformed(grant(R"({"ID":4111120323751620357,"TTL":"5"})")));  // a number
  EXPECT_TRUE(malformed(grant(R"({"ID":"41x","TTL":"5"})")));
  EXPECT_TRUE(malformed(grant(R"({"ID":"99999999999999999999","TTL":"5"})")));  // overflow
  EXPECT_TRUE(malformed(grant(R"({"ID":"-3","TTL":"5"})")));
  EXPECT_TRUE(malformed(grant(R"({"TTL":"5"})")));
  EXPECT_TRUE(malformed(grant(R"({"ID":"3"})")));
  EXPECT_TRUE(malformed(grant(R"([1,2])")));
  EXPECT_TRUE(malformed(grant("not json")));
  EXPECT_FALSE(grant(R"({"ID":"3","TTL":"5","error":"lease exists"})").ok());

  const auto keepalive = [](const char* body) {
    const auto r = DecodeKeepAlive(body, 7);
    return r.ok() ? OkStatus() : Status(r.error());
  };
  EXPECT_TRUE(malformed(keepalive(R"({"result":{"ID":"8","TTL":"5"}})")));  // another lease
  EXPECT_TRUE(malformed(keepalive(R"({"ID":"7","TTL":"5"})")));             // not wrapped
  EXPECT_TRUE(malformed(keepalive(R"({"result":{"ID":"7","TTL":"-1"}})")));
  EXPECT_TRUE(malformed(keepalive(R"({"result":"x"})")));

  const auto create = [](const char* body) {
    const auto r = DecodeCreateTxn(body);
    return r.ok() ? OkStatus() : Status(r.error());
  };
  EXPECT_TRUE(malformed(create(R"({"succeeded":true})")));  // no header revision
  EXPECT_TRUE(malformed(create(R"({"header":{"revision":"2"},"succeeded":"true"})")));
  EXPECT_TRUE(malformed(create(R"({"header":{"revision":"2"}})")));  // failed, no range
  EXPECT_TRUE(
      malformed(create(R"({"header":{"revision":"2"},"responses":[{"response_range":{}}]})")));

  const auto range = [](const char* body) {
    const auto r = DecodeRange(body);
    return r.ok() ? OkStatus() : Status(r.error());
  };
  EXPECT_TRUE(malformed(range(R"({"header":{"revision":"2"},"kvs":[{"key":"!!!!",)"
                              R"("create_revision":"2","mod_revision":"2","version":"1"}]})")));
  EXPECT_TRUE(malformed(range(R"({"header":{"revision":"2"},"kvs":[{"key":"L3AveA==",)"
                              R"("create_revision":"0","mod_revision":"2","version":"1"}]})")));
  EXPECT_TRUE(malformed(range(R"({"header":{"revision":"2"},"kvs":{}})")));
  EXPECT_TRUE(malformed(range(R"({"header":{"revision":"2"},"more":true})")));
  EXPECT_TRUE(malformed(
      range(R"({"header":{"revision":"9"},"kvs":[)"
            R"({"key":"L3AveA==","create_revision":"5","mod_revision":"5","version":"1"},)"
            R"({"key":"L3AveQ==","create_revision":"2","mod_revision":"2","version":"1"}]})")));

  EXPECT_FALSE(DecodeAuthToken(R"({"token":"a\r\nX-Evil: 1"})").ok());
  EXPECT_FALSE(DecodeAuthToken(R"({"token":""})").ok());
}

TEST(EtcdCodecTest, ClassifiesErrorAnswers) {
  const Error not_found = DecodeErrorAnswer(
      "lease revoke", 404,
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
  EXPECT_EQ(not_found.code, "Etcd.NotFound");
  EXPECT_EQ(not_found.error_class, ErrorClass::kTerminal);
  EXPECT_NE(not_found.message.find("requested lease not found"), std::string::npos);

  const Error no_leader = DecodeErrorAnswer(
      "range", 503,
      R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})");
  EXPECT_EQ(no_leader.code, "Etcd.Unavailable");
  EXPECT_TRUE(no_leader.retryable());

  const Error token = DecodeErrorAnswer(
      "range", 401,
      R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
  EXPECT_EQ(token.error_class, ErrorClass::kReauthenticate);

  // A stream's error message, and a body that is not JSON at all.
  const Error stream = DecodeErrorAnswer(
      "keepalive", 200, R"({"error":{"grpc_code":14,"http_code":503,"message":"no leader"}})");
  EXPECT_EQ(stream.code, "Etcd.Unavailable");
  const Error junk = DecodeErrorAnswer("range", 502,
                                       "<html>\x01"
                                       "bad gateway</html>");
  EXPECT_EQ(junk.code, "Etcd.HTTP.502");
  EXPECT_TRUE(junk.retryable());
  EXPECT_EQ(junk.message.find('\x01'), std::string::npos);
}

}  // namespace
}  // namespace mactl::etcd_wire
