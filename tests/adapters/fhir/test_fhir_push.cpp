// Adapter tests for the FHIR push receiver (adapters/fhir/fhir_push_routes.h): real sockets on
// 127.0.0.1 (port 0), a real SQLite inbox in a temp dir. Covers authentication (401/403),
// 415, structural (400) and conversion (422) failures kept as Rejected rows, 200/201 answered
// after the commit, duplicates, and a failing commit (503, nothing queued).
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <atomic>
#include <future>
#include <thread>

#include "adapters/fhir/fhir_push_routes.h"
#include "adapters/fhir/fhir_to_phr.h"
#include "gateway/core/resource_id.h"
#include "gateway/queue/inbox.h"
#include "tests/adapters/fhir/fhir_fixtures.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using phrgate::testing::http_request;
using phrgate::testing::HttpHeaders;

namespace {

constexpr const char* kIngest = "ingest-secret-0123456789";
constexpr const char* kReader = "reader-secret-0123456789";
constexpr const char* kAdmin = "admin-secret-0123456789";

struct PushServer {
  phrgate::testing::TempDir dir{"phrgate-fhir-push-"};
  std::atomic<bool> fail_commits{false};
  std::atomic<int> notified{0};
  std::unique_ptr<queue::Inbox> inbox;
  boost::asio::io_context io;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;

  PushServer() {
    queue::SqliteInboxOptions io_opts;
    io_opts.path = dir.file("inbox.db");
    io_opts.fail_commit_hook = [this] { return fail_commits.load(); };
    inbox = queue::open_sqlite_inbox(io_opts);
    http::HttpServerOptions o;
    o.tokens = {{"emr-push", sha256_hex(kIngest), http::Role::Ingest},
                {"reader", sha256_hex(kReader), http::Role::Reader},
                {"ops", sha256_hex(kAdmin), http::Role::Admin}};
    server = std::make_unique<http::HttpServer>(io, o);
    fhir::add_fhir_push_routes(*server, {*inbox, [this] { ++notified; }, {}, nullptr, std::chrono::seconds(10)});
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~PushServer() {
    server->stop();
    thread.join();
  }

  phrgate::testing::HttpResult post(const std::string& target, const std::string& body, const char* token = kIngest,
                                    const std::string& content_type = "application/fhir+json") {
    HttpHeaders h{{"Content-Type", content_type}};
    if (token) h.emplace_back("Authorization", std::string("Bearer ") + token);
    return http_request("127.0.0.1", server->port(), "POST", target, body, h);
  }

  std::vector<queue::InboxRow> rows() {
    inbox->flush();
    std::vector<queue::InboxRow> out;
    for (int64_t id = 1; id < 100; ++id)
      if (auto r = inbox->get(id)) out.push_back(*r);
    return out;
  }
};

std::string issue_code(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.HasMember("issue")) return {};
  return d["issue"][0]["code"].GetString();
}

std::string transaction_bundle() {
  std::string b = phrgate::testing::synthea_like_bundle();
  return b;
}

}  // namespace

TEST_CASE("FHIR push: tokens are checked before anything is stored", "[fhir][push]") {
  PushServer s;
  const std::string body = transaction_bundle();
  CHECK(s.post("/fhir", body, nullptr).status == 401);
  CHECK(s.post("/fhir", body, kReader).status == 403);
  CHECK(s.post("/fhir/Patient", body, "wrong-token-0123456789").status == 401);
  CHECK(s.rows().empty());
}

TEST_CASE("FHIR push: wrong content type is 415 and nothing is stored", "[fhir][push]") {
  PushServer s;
  auto r = s.post("/fhir", transaction_bundle(), kIngest, "text/plain");
  CHECK(r.status == 415);
  CHECK(issue_code(r.body) == "not-supported");
  CHECK(s.rows().empty());
  // application/json with parameters is fine.
  CHECK(s.post("/fhir", transaction_bundle(), kIngest, "application/json; charset=utf-8").status == 200);
}

TEST_CASE("FHIR push: a transaction Bundle is committed, then answered with locations", "[fhir][push]") {
  PushServer s;
  const std::string body = transaction_bundle();
  auto r = s.post("/fhir", body);
  REQUIRE(r.status == 200);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE(!d.HasParseError());
  CHECK(std::string(d["type"].GetString()) == "transaction-response");
  REQUIRE(d["entry"].Size() == 7);
  const std::string person = derive_resource_id("Patient", {"http://hospital.smarthealthit.org", "MRN-4711"});
  CHECK(std::string(d["entry"][0]["response"]["status"].GetString()) == "201 Created");
  CHECK(std::string(d["entry"][0]["response"]["location"].GetString()) == "Patient/" + person);
  CHECK(std::string(d["entry"][4]["response"]["location"].GetString()) ==
        "Observation/" + derive_resource_id("Observation", {"emr-push", "0b5e1c4e-1111-4a2b-9c3d-000000000005"}));
  CHECK(std::string(d["entry"][6]["response"]["status"].GetString()) == "200 OK");  // CapabilityStatement dropped
  CHECK(s.notified == 1);

  auto rows = s.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].status == queue::InboxStatus::Pending);
  CHECK(rows[0].content_type == "application/fhir+json");
  CHECK(rows[0].sender == "emr-push");
  CHECK(rows[0].source == "emr-push");
  CHECK(rows[0].payload == body);
  CHECK(rows[0].control_id == "sha256:" + sha256_hex(body));

  // The same payload again (a client's retry) is acknowledged but not queued twice.
  CHECK(s.post("/fhir", body).status == 200);
  CHECK(s.rows().size() == 1);
  // The admin token is accepted on ingest routes.
  const std::string with_id = R"({"resourceType":"Bundle","type":"batch","identifier":{"system":"urn:x","value":"b1"},)"
                              R"("entry":[{"resource":{"resourceType":"Patient","identifier":[{"value":"9"}]},)"
                              R"("request":{"method":"POST","url":"Patient"}},{"request":{"method":"DELETE","url":"Patient/1"}}]})";
  auto b = s.post("/fhir", with_id, kAdmin);
  REQUIRE(b.status == 200);
  d.Parse(b.body.c_str());
  CHECK(std::string(d["type"].GetString()) == "batch-response");
  REQUIRE(d["entry"].Size() == 2);
  CHECK(std::string(d["entry"][1]["response"]["status"].GetString()) == "405 Method Not Allowed");
  rows = s.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].control_id == "urn:x|b1");
  CHECK(rows[1].sender == "ops");
}

TEST_CASE("FHIR push: one resource gets 201 with a Location", "[fhir][push]") {
  PushServer s;
  const std::string body = R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"7"},)"
                           R"("identifier":[{"system":"http://hospital.example.org/mrn","value":"M1"}]})";
  auto r = s.post("/fhir/Patient", body);
  REQUIRE(r.status == 201);
  REQUIRE(r.header("Location"));
  CHECK(*r.header("Location") ==
        "/fhir/Patient/" + derive_resource_id("Patient", {"http://hospital.example.org/mrn", "M1"}));
  auto rows = s.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].control_id == "Patient/p1/_history/7");
  CHECK(rows[0].message_type == "Patient");
}

TEST_CASE("FHIR push: bad payloads get 4xx with an OperationOutcome and are kept as Rejected rows", "[fhir][push]") {
  PushServer s;
  struct Case {
    std::string target, body;
    int status;
  };
  const std::vector<Case> cases = {
      {"/fhir", "{not json: Ada Testperson", 400},
      {"/fhir", R"({"resourceType":"Patient","identifier":[{"value":"1"}]})", 400},  // not a batch Bundle
      {"/fhir", R"({"resourceType":"Bundle","type":"collection"})", 400},
      {"/fhir/Observation", R"({"resourceType":"Patient","identifier":[{"value":"1"}]})", 400},  // type mismatch
      {"/fhir/Observation", R"({"resourceType":"Observation","code":{"text":"x"}})", 400},  // status missing
      {"/fhir/Observation",
       R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/MRN-SECRET"}})",
       422},
      {"/fhir/Pateint", R"({"resourceType":"Patient"})", 404},
  };
  for (const auto& c : cases) {
    INFO(c.target << " " << c.body);
    auto r = s.post(c.target, c.body);
    CHECK(r.status == c.status);
    CHECK(!issue_code(r.body).empty());
    CHECK(r.body.find("Ada") == std::string::npos);
    CHECK(r.body.find("SECRET") == std::string::npos);
  }
  auto rows = s.rows();
  REQUIRE(rows.size() == cases.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].status == queue::InboxStatus::Rejected);
    CHECK(rows[i].payload == cases[i].body);
    CHECK(!rows[i].error.empty());
    CHECK(rows[i].sender == "emr-push");
  }
  CHECK(s.inbox->stats().pending == 0);
  CHECK(s.notified == 0);
}

TEST_CASE("FHIR push: a failed commit is 503 and nothing is acknowledged", "[fhir][push]") {
  PushServer s;
  s.fail_commits = true;
  auto r = s.post("/fhir", transaction_bundle());
  CHECK(r.status == 503);
  CHECK(issue_code(r.body) == "transient");
  s.fail_commits = false;
  CHECK(s.rows().empty());
  CHECK(s.notified == 0);
  // The client's retry then succeeds.
  CHECK(s.post("/fhir", transaction_bundle()).status == 200);
  CHECK(s.rows().size() == 1);
}
