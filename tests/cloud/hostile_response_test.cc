// Hostile answers from the ModelArts endpoint (or whatever sits in front of it: a proxy, a
// captive portal, a broken gateway), beyond what modelarts_types_test.cc and
// http_cloud_client_test.cc already cover. Each must end as a typed, bounded, printable
// Error (or a value that is never acted on), never a crash, a hang or an accepted stop.
// docs/bad-inputs.md lists every row.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/auth/static_token_authenticator.h"
#include "controller/cloud/http_cloud_client.h"
#include "controller/cloud/job_status.h"
#include "controller/cloud/modelarts_types.h"
#include "controller/core/decision.h"
#include "fakes/fake_clock.h"

namespace mactl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kVersionBody[] =
    R"({"is_success": true, "job_id": 10, "job_name": "bert", "version_id": 11,
        "version_name": "V0011", "status": 8, "create_time": 1, "duration": 2})";
constexpr char kListBody[] =
    R"({"is_success": true, "job_total_count": 1, "jobs": [{"job_id": 10, "job_name": "bert",
        "version_id": 11, "status": 8, "create_time": 1, "duration": 2, "version_count": 2}]})";
constexpr char kVersionsBody[] =
    R"({"is_success": true, "job_id": 10, "version_count": 1,
        "versions": [{"version_id": 11, "status": 8}]})";

// Printable, single-line, valid UTF-8: what may go into a log line, an Error or /status.
bool IsSafeText(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f) return false;
    std::size_t extra = 0;
    if (u >= 0x80) {
      if ((u & 0xE0u) == 0xC0u) {
        extra = 1;
      } else if ((u & 0xF0u) == 0xE0u) {
        extra = 2;
      } else if ((u & 0xF8u) == 0xF0u) {
        extra = 3;
      } else {
        return false;
      }
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0u) != 0x80u) return false;
    }
    i += 1 + extra;
  }
  return true;
}

// ---- The decoders -------------------------------------------------------------------

TEST(HostileDecode, EveryTruncationOfEveryAnswerIsAnErrorNeverAValue) {
  const std::string stop = R"({"is_success": true})";
  for (std::size_t n = 0; n < sizeof(kListBody) - 1; ++n) {
    EXPECT_FALSE(DecodeJobListPage(std::string(kListBody, n)).value.has_value()) << n;
  }
  for (std::size_t n = 0; n < sizeof(kVersionBody) - 1; ++n) {
    EXPECT_FALSE(DecodeVersionDetail(std::string(kVersionBody, n)).value.has_value()) << n;
  }
  for (std::size_t n = 0; n < sizeof(kVersionsBody) - 1; ++n) {
    EXPECT_FALSE(DecodeVersionListPage(std::string(kVersionsBody, n)).value.has_value()) << n;
  }
  for (std::size_t n = 0; n < stop.size(); ++n) {
    const auto d = DecodeStopResponse(stop.substr(0, n));
    EXPECT_FALSE(d.value.has_value()) << n;
    EXPECT_FALSE(d.decode_error.empty()) << n;
  }
}

TEST(HostileDecode, DeepNestingInAnIgnoredFieldNeitherCrashesNorHidesTheAnswer) {
  std::string body = kVersionBody;
  body.pop_back();
  body += R"(, "extra": )" + std::string(200000, '[') + std::string(200000, ']') + "}";
  const auto start = std::chrono::steady_clock::now();
  const auto d = DecodeVersionDetail(body);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->status, 8);
}

TEST(HostileDecode, HugeButAllowedListDecodesInBoundedTime) {
  std::string body = R"({"is_success": true, "job_total_count": 100000, "jobs": [)";
  for (int i = 1; i <= 100000; ++i) {
    if (i > 1) body += ",";
    body += R"({"job_id": )" + std::to_string(i) + R"(, "version_id": 1, "status": 8})";
  }
  body += "]}";
  ASSERT_LT(body.size(), kMaxDecodedBodyBytes);
  const auto start = std::chrono::steady_clock::now();
  const auto d = DecodeJobListPage(body);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(d.value.has_value()) << d.decode_error;
  EXPECT_EQ(d.value->jobs.size(), 100000u);
}

TEST(HostileDecode, IsSuccessOfTheWrongTypeOrDuplicatedIsNeverReadAsSuccess) {
  for (const char* body :
       {R"({"is_success": 1})", R"({"is_success": "true"})", R"({"is_success": [true]})",
        R"({"is_success": null})", R"({"is_success": {}})"}) {
    EXPECT_FALSE(DecodeStopResponse(body).value.has_value()) << body;
  }
  // JSON leaves duplicate keys to the parser; the decoders refuse them, so a body that
  // says two things is never a success.
  const auto dup = DecodeStopResponse(R"({"is_success": true, "is_success": false})");
  EXPECT_FALSE(dup.value.has_value());
}

TEST(HostileDecode, BrokenUnicodeEscapesAreDecodeErrors) {
  for (const char* body : {R"({"is_success": true, "job_id": 10, "version_id": 11, "status": 8,
                             "job_name": "\ud800"})",
                           R"({"is_success": true, "job_id": 10, "version_id": 11, "status": 8,
                             "job_name": "\u12"})"}) {
    const auto d = DecodeVersionDetail(body);
    EXPECT_FALSE(d.value.has_value()) << body;
    EXPECT_THAT(d.decode_error, HasSubstr("not valid JSON"));
  }
}

TEST(HostileDecode, StatusesOutsideTheTableDecodeButAreNeverActedOn) {
  for (const int status : {-1, 23, 255, 1000, INT_MAX, INT_MIN}) {
    const std::string body = R"({"is_success": true, "job_id": 10, "version_id": 11, "status": )" +
                             std::to_string(status) + "}";
    const auto d = DecodeVersionDetail(body);
    ASSERT_TRUE(d.value.has_value()) << body << " " << d.decode_error;
    EXPECT_EQ(d.value->status, status);
    EXPECT_EQ(ClassifyJobStatus(status), StatusClass::kUnknown) << status;
    const Decision decision = Decide(DesiredState::kStopped, status, DecisionContext{});
    EXPECT_EQ(decision.action, Action::kNone) << status;
    EXPECT_EQ(decision.reason, "StatusUnknown") << status;
    EXPECT_EQ(decision.phase, Phase::kPending) << status;
    EXPECT_EQ(decision.next, NextCheck::kPoll) << status;
  }
}

// ---- The HTTP client against a scripted in-process server ---------------------------

// A gzip member whose content is `prefix` followed by 1 + 258 * copies spaces, built by
// hand with fixed-Huffman deflate (a literal space, then back-references of length 258 at
// distance 1), so the test needs no zlib of its own.
class BitWriter {
 public:
  void Bits(std::uint32_t value, int count) {  // LSB first
    for (int i = 0; i < count; ++i) Bit((value >> i) & 1u);
  }
  void Code(std::uint32_t code, int length) {  // Huffman codes go MSB first
    for (int i = length - 1; i >= 0; --i) Bit((code >> i) & 1u);
  }
  void Literal(unsigned char c) {
    if (c < 144) {
      Code(0x30u + c, 8);
    } else {
      Code(0x190u + (c - 144u), 9);
    }
  }
  std::string Finish() {
    if (used_ > 0) out_.push_back(static_cast<char>(current_));
    return out_;
  }

 private:
  void Bit(std::uint32_t bit) {
    current_ = static_cast<std::uint8_t>(current_ | (bit << used_));
    if (++used_ == 8) {
      out_.push_back(static_cast<char>(current_));
      current_ = 0;
      used_ = 0;
    }
  }
  std::string out_;
  std::uint8_t current_ = 0;
  int used_ = 0;
};

std::uint32_t Crc32(std::uint32_t crc, const std::string& data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (const char ch : data)
    crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

void PutLe32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

std::string GzipOfPrefixAndSpaces(const std::string& prefix, std::size_t copies) {
  BitWriter w;
  w.Bits(1, 1);  // BFINAL
  w.Bits(1, 2);  // BTYPE 01: fixed Huffman
  for (const char c : prefix) w.Literal(static_cast<unsigned char>(c));
  w.Literal(' ');
  for (std::size_t i = 0; i < copies; ++i) {
    w.Code(0xC5, 8);  // length symbol 285: 258 bytes
    w.Code(0, 5);     // distance code 0: distance 1
  }
  w.Code(0, 7);  // end of block (symbol 256)
  const std::string content = prefix + std::string(1 + 258 * copies, ' ');
  std::string gz = {'\x1f', '\x8b', '\x08', '\0', '\0', '\0', '\0', '\0', '\0', '\xff'};
  gz += w.Finish();
  PutLe32(gz, Crc32(0, content));
  PutLe32(gz, static_cast<std::uint32_t>(content.size()));
  return gz;
}

class OpenThrottle final : public RequestThrottle {
 public:
  bool Acquire() override { return true; }
};

class CountingObserver final : public ApiCallObserver {
 public:
  void OnApiCall(std::string_view, int, std::chrono::duration<double>) override { ++calls; }
  std::atomic<int> calls{0};
};

constexpr char kSecret[] = "hostile-test-S3CRET-token";

class HostileServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard lock(mu_);
      accept_encodings_.push_back(req.get_header_value("Accept-Encoding"));
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // One handler serving whatever answer the test set last.
    const auto handler = [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      if (answer_.custom) return answer_.custom(res);
      res.status = answer_.status;
      for (const auto& [k, v] : answer_.headers) res.set_header(k, v);
      res.set_content(answer_.body, answer_.content_type);
    };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  void TearDown() override {
    if (client_ != nullptr) client_->Stop();
    server_.stop();
    thread_.join();
  }
  HttpCloudClient& Client(HttpCloudClientOptions options = {}) {
    return Client(std::move(options), clock_);
  }
  HttpCloudClient& Client(HttpCloudClientOptions options, const Clock& clock) {
    options.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    auto created = HttpCloudClient::Create(options, auth_, throttle_, observer_, clock);
    EXPECT_TRUE(created.ok());
    client_ = std::move(created).value();
    return *client_;
  }
  void Serve(int status, std::string body, std::string content_type = "application/json",
             httplib::Headers headers = {}) {
    std::lock_guard lock(mu_);
    answer_ = Answer{status, std::move(body), std::move(content_type), std::move(headers), {}};
  }
  // Every error must be bounded, printable, single-line and free of the credential.
  static void ExpectSafe(const Error& e) {
    const std::string text = e.ToString();
    EXPECT_LT(text.size(), 2048u);
    EXPECT_TRUE(IsSafeText(text)) << text;
    EXPECT_THAT(text, Not(HasSubstr("S3CRET")));
  }

  const VersionRef ref_{"p", 10, 11};
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  struct Answer {
    int status = 200;
    std::string body;
    std::string content_type;
    httplib::Headers headers;
    std::function<void(httplib::Response&)> custom;  // when set, answers instead
  };
  Answer answer_;                              // guarded by mu_
  std::vector<std::string> accept_encodings_;  // guarded by mu_
  SystemClock clock_;
  testing::FakeClock fake_clock_;  // for the total deadline: a slow peer advances it
  StaticTokenAuthenticator auth_ = StaticTokenAuthenticator::FromToken(kSecret);
  OpenThrottle throttle_;
  CountingObserver observer_;
  std::unique_ptr<HttpCloudClient> client_;
};

TEST_F(HostileServerTest, HtmlErrorPageFromAGatewayIsRetryableAndQuotedSafely) {
  const std::string page =
      "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
      "<body>" +
      std::string(200000, 'x') + "\r\n</body></html>\n";
  Serve(502, page, "text/html");
  const auto r = Client().GetVersion(ref_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error_class, ErrorClass::kRetryable);
  EXPECT_EQ(r.error().http_status, 502);
  ExpectSafe(r.error());
}

TEST_F(HostileServerTest, HtmlOn200FromACaptivePortalIsAMalformedRetryableAnswer) {
  Serve(200, "<html><body>Please log in to the hotel Wi-Fi</body></html>", "text/html");
  auto& client = Client();
  const auto r = client.GetVersion(ref_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "MalformedResponse");
  EXPECT_EQ(r.error().error_class, ErrorClass::kRetryable);
  ExpectSafe(r.error());
  // The stop in particular is not taken as accepted.
  const Status stop = client.StopVersion(ref_);
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().error_class, ErrorClass::kRetryable);
}

TEST_F(HostileServerTest, StopAnsweredWith200AndNoIsSuccessIsNotAnAcceptedStop) {
  for (const char* body : {"{}", R"({"result": "ok"})", R"({"is_success": "true"})", "null", ""}) {
    SCOPED_TRACE(body);
    Serve(200, body);
    const Status stop = Client().StopVersion(ref_);
    ASSERT_FALSE(stop.ok());
    ExpectSafe(stop.error());
  }
}

TEST_F(HostileServerTest, NonUtf8AndControlBytesInBodiesAreEscapedInErrors) {
  const std::string body =
      "{\"is_success\": false, \"error_code\": \"ModelArts.\xff\xfe\", "
      "\"error_message\": \"bad\x1b[31m\xc3\x28\r\nInjected: line\"}";
  Serve(500, body);
  const auto r = Client().ListJobs("p", 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error_class, ErrorClass::kRetryable);
  ExpectSafe(r.error());
}

TEST_F(HostileServerTest, NonUtf8On200IsMalformedAndEscaped) {
  Serve(200, "{\"is_success\": true, \"jobs\": [], \"x\": \"\xff\xfe\x80\"}");
  const auto r = Client().ListJobs("p", 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "MalformedResponse");
  ExpectSafe(r.error());
}

TEST_F(HostileServerTest, NegativeAndOverflowingIdsAreMalformed) {
  for (const char* body :
       {R"({"is_success": true, "job_id": -10, "version_id": 11, "status": 8})",
        R"({"is_success": true, "job_id": 10, "version_id": 18446744073709551616, "status": 8})",
        R"({"is_success": true, "job_id": 10, "version_id": 11, "status": 2147483648})",
        R"({"is_success": true, "job_id": 10, "version_id": 11, "status": 1e400})"}) {
    SCOPED_TRACE(body);
    Serve(200, body);
    const auto r = Client().GetVersion(ref_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "MalformedResponse");
    ExpectSafe(r.error());
  }
}

TEST_F(HostileServerTest, RedirectsAreNotFollowed) {
  Serve(302, "", "text/plain", {{"Location", "http://127.0.0.1:9/elsewhere"}});
  const auto r = Client().GetVersion(ref_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 302);
  EXPECT_EQ(observer_.calls.load(), 1);
  ExpectSafe(r.error());
}

TEST_F(HostileServerTest, GzipBombIsCappedAfterDecompression) {
  // The client never asks for compression, but httplib inflates any answer that says
  // Content-Encoding: gzip. 20 MiB of JSON arrive as ~130 KiB on the wire.
  const std::string prefix = R"({"is_success": true, "job_total_count": 0, "jobs": []})";
  const std::string bomb = GzipOfPrefixAndSpaces(prefix, 81300);
  ASSERT_LT(bomb.size(), 200u << 10);
  Serve(200, bomb, "application/json", {{"Content-Encoding", "gzip"}});
  // Under a generous cap the same answer decodes: the bomb is well-formed gzip.
  HttpCloudClientOptions generous;
  generous.max_response_bytes = 32u << 20;
  const auto ok = Client(generous).ListJobs("p", 1, 10);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_TRUE(ok->jobs.empty());
  client_->Stop();
  HttpCloudClientOptions capped;
  capped.max_response_bytes = 1u << 20;
  const auto r = Client(capped).ListJobs("p", 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ResponseTooLarge");
  EXPECT_EQ(r.error().error_class, ErrorClass::kRetryable);
  ExpectSafe(r.error());
}

// httplib's read timeout applies to each read, so a peer that trickles a byte at a time
// would hold the request far beyond read_timeout (45 s for this answer); total_timeout
// bounds the whole exchange. The peer advances the client's clock 300 ms before each byte
// instead of sleeping.
TEST_F(HostileServerTest, TrickledAnswerIsBoundedInTotalTime) {
  {
    std::lock_guard lock(mu_);
    answer_.custom = [this](httplib::Response& res) {
      const std::string body = kVersionBody;
      res.set_content_provider(
          body.size(), "application/json",
          [this, body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            fake_clock_.Advance(300ms);
            return sink.write(body.data() + offset, 1);
          });
    };
  }
  HttpCloudClientOptions options;
  options.read_timeout = 1000ms;
  options.total_timeout = 300ms;
  const SteadyTime start = fake_clock_.Now();
  const auto r = Client(options, fake_clock_).GetVersion(ref_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "Transport.Timeout");
  EXPECT_EQ(r.error().error_class, ErrorClass::kRetryable);
  EXPECT_EQ(observer_.calls.load(), 1);
  ExpectSafe(r.error());
  // Only the peer moves the client's clock: the cut came at or past the deadline.
  EXPECT_GE(fake_clock_.Now() - start, 300ms);
}

// A version detail for another job or version (a proxy or cache answering the wrong object)
// is a retryable malformed answer, never the status of the version asked for.
TEST_F(HostileServerTest, DetailOfAnotherVersionIsNotTakenForTheOneAskedFor) {
  Serve(200, R"({"is_success": true, "job_id": 99, "version_id": 98, "status": 8})");
  const auto r = Client().GetVersion(ref_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "MalformedResponse");
  EXPECT_TRUE(r.error().retryable());
  EXPECT_NE(r.error().message.find("job 99 version 98"), std::string::npos) << r.error().message;
}

TEST_F(HostileServerTest, DetailOfAnotherJobWithTheSameVersionIdIsRejected) {
  Serve(200, R"({"is_success": true, "job_id": 12, "version_id": 11, "status": 8})");
  const auto r = Client().GetVersion(ref_);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace mactl
