// Adapter tests for the person index HTTP API over real sockets (127.0.0.1, port 0): the
// review list with candidates, link, reject, unlink, merge, person view, roles, and
// OperationOutcome errors that never echo what was sent.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <future>
#include <rapidjson/document.h>
#include <thread>

#include "gateway/core/resource_id.h"
#include "gateway/identity/identity_routes.h"
#include "tests/gateway/identity/identity_test_data.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

using namespace phrgate::identity;
using phrgate::http::HttpServer;
using phrgate::http::HttpServerOptions;
using phrgate::http::Role;
using phrgate::testing::http_request;
using phrgate::testing::HttpHeaders;
using phrgate::testing::TempDir;

namespace {

constexpr const char* kOperatorToken = "operator-secret";
constexpr const char* kReaderToken = "reader-secret";

struct Api {
  TempDir dir{"phrgate-identity-routes-"};
  std::unique_ptr<PersonIndex> index;
  boost::asio::io_context io;
  std::unique_ptr<HttpServer> server;
  std::thread thread;

  Api() {
    MatchSettings s = test::default_settings();
    s.upper_threshold = 200.0;  // every match is held for review
    index = PersonIndex::open(dir.file("identity.db"), s);
    HttpServerOptions o;
    o.tokens = {{"ops", phrgate::sha256_hex(kOperatorToken), Role::Operator},
                {"reader", phrgate::sha256_hex(kReaderToken), Role::Reader}};
    server = std::make_unique<HttpServer>(io, o);
    add_identity_routes(*server, *index);
    server->start();
    thread = std::thread([this] { io.run(); });
  }
  ~Api() {
    server->stop();
    thread.join();
  }
  phrgate::testing::HttpResult call(const std::string& method, const std::string& target, std::string body = {},
                                    const char* token = kOperatorToken) {
    HttpHeaders h{{"Authorization", std::string("Bearer ") + token}};
    if (!body.empty()) h.push_back({"Content-Type", "application/json"});
    return http_request("127.0.0.1", server->port(), method, target, std::move(body), h);
  }
};

rapidjson::Document json(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

const Demographics kEmil = test::person("Emil", "Sørensen", "1988-04-09", "M", "40 Cedar Street", "55401",
                                        "6125550177");

}  // namespace

TEST_CASE("review list, link and person view over HTTP", "[identity][routes]") {
  Api api;
  const auto a = api.index->resolve({"urn:h1", "M1"}, kEmil);
  const auto held = api.index->resolve({"urn:h2", "M2"}, kEmil);
  REQUIRE(held.kind == Resolution::Kind::Review);

  auto r = api.call("GET", "/api/identity/review");
  REQUIRE(r.status == 200);
  auto d = json(r.body);
  CHECK(d["total"].GetInt64() == 1);
  const auto& item = d["items"][0];
  CHECK(item["id"].GetInt64() == held.review_id);
  CHECK(std::string(item["identifier"]["value"].GetString()) == "M2");
  CHECK(std::string(item["candidates"][0]["person_id"].GetString()) == a.person_id);
  CHECK(item["candidates"][0]["score"].GetDouble() > 20);
  CHECK(item["candidates"][0]["explanation"]["fields"]["birth_date"]["level"] == "exact");

  const std::string link_path = "/api/identity/review/" + std::to_string(held.review_id) + "/link";
  r = api.call("POST", link_path, R"({"person_id":")" + a.person_id + "\"}");
  REQUIRE(r.status == 200);
  CHECK(json(r.body)["person_id"] == a.person_id.c_str());
  r = api.call("POST", link_path, R"({"person_id":")" + a.person_id + "\"}");
  CHECK(r.status == 409);

  r = api.call("GET", "/api/identity/persons/" + a.person_id);
  REQUIRE(r.status == 200);
  d = json(r.body);
  REQUIRE(d["identifiers"].Size() == 2);
  CHECK(d["identifiers"][1]["actor"] == "ops");
  CHECK(d["identifiers"][1]["reason"]["rule"] == "manual-link");
  CHECK(d["history"][0]["action"] == "manual_link");
}

TEST_CASE("reject, unlink and merge over HTTP", "[identity][routes]") {
  Api api;
  const auto a = api.index->resolve({"urn:h1", "M1"}, kEmil);
  const auto held = api.index->resolve({"urn:h2", "M2"}, kEmil);
  auto r = api.call("POST", "/api/identity/review/" + std::to_string(held.review_id) + "/reject");
  REQUIRE(r.status == 200);
  const std::string b = json(r.body)["person_id"].GetString();
  CHECK(b != a.person_id);

  r = api.call("POST", "/api/identity/merge", R"({"surviving":")" + a.person_id + R"(","merged":")" + b + "\"}");
  REQUIRE(r.status == 200);
  CHECK(api.index->person_of({"urn:h2", "M2"}) == a.person_id);

  r = api.call("POST", "/api/identity/unlink", R"({"system":"urn:h2","value":"M2"})");
  REQUIRE(r.status == 200);
  const std::string c = json(r.body)["person_id"].GetString();
  CHECK(api.index->person_of({"urn:h2", "M2"}) == c);
  r = api.call("POST", "/api/identity/unlink", R"({"system":"urn:h2","value":"M2","target_person":")" + a.person_id + "\"}");
  REQUIRE(r.status == 200);
  CHECK(api.index->person_of({"urn:h2", "M2"}) == a.person_id);

  r = api.call("GET", "/api/identity/persons/" + b);
  REQUIRE(r.status == 200);
  CHECK(json(r.body)["merged_into"] == a.person_id.c_str());
}

TEST_CASE("identity API errors are OperationOutcomes without echoed input", "[identity][routes]") {
  Api api;
  auto r = api.call("GET", "/api/identity/review", {}, kReaderToken);
  CHECK(r.status == 403);
  r = api.call("GET", "/api/identity/review?_count=-1");
  CHECK(r.status == 400);
  r = api.call("POST", "/api/identity/review/abc/link", R"({"person_id":"x"})");
  CHECK(r.status == 404);
  r = api.call("POST", "/api/identity/review/77/reject");
  CHECK(r.status == 404);
  r = api.call("POST", "/api/identity/review/77/link", "not json");
  CHECK(r.status == 400);
  r = api.call("POST", "/api/identity/review/77/link", "{}");
  CHECK(r.status == 400);
  r = api.call("POST", "/api/identity/unlink", R"({"system":"urn:secret-system","value":"SECRET-MRN-42"})");
  CHECK(r.status == 404);
  CHECK(r.body.find("SECRET-MRN-42") == std::string::npos);
  CHECK(r.body.find("OperationOutcome") != std::string::npos);
  r = api.call("POST", "/api/identity/merge", R"({"surviving":"PERSON-SECRET","merged":"other"})");
  CHECK(r.status == 422);
  CHECK(r.body.find("PERSON-SECRET") == std::string::npos);
  r = api.call("GET", "/api/identity/persons/PERSON-SECRET");
  CHECK(r.status == 404);
  CHECK(r.body.find("PERSON-SECRET") == std::string::npos);
}
