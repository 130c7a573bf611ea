// Adapter tests for the claim code HTTP API over real sockets (127.0.0.1, port 0): roles,
// issue (201, code once, no-store), list without codes, revoke, redeem by the PHR backend's
// phr-role token for a held record and for an identifier linked elsewhere (the decision hook
// gets what the daemon needs to move records), refusals that reveal nothing, and 429.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <rapidjson/document.h>
#include <thread>

#include "gateway/core/resource_id.h"
#include "gateway/identity/claim_routes.h"
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
constexpr const char* kPhrToken = "phr-backend-secret";

const Demographics kEmil = test::person("Emil", "Sørensen", "1988-04-09", "M", "40 Cedar Street", "55401",
                                        "6125550177");
const Demographics kAda = test::person("Ada", "Okonkwo", "1972-11-30", "F", "9 Birch Road", "10001", "2125550100");

struct Api {
  TempDir dir{"phrgate-claim-routes-"};
  std::unique_ptr<PersonIndex> index;
  std::unique_ptr<ClaimCodeBook> book;
  std::mutex decisions_mu;
  std::vector<IdentityDecision> decisions;
  boost::asio::io_context io;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  Resolution emil, held, ada;

  Api() {
    MatchSettings s = test::default_settings();
    s.upper_threshold = 200.0;  // every match is held for review
    index = PersonIndex::open(dir.file("identity.db"), s);
    emil = index->resolve({"urn:h1", "M1"}, kEmil);
    held = index->resolve({"urn:h2", "SECRET-MRN-2"}, kEmil);
    ada = index->resolve({"urn:h3", "M3"}, kAda);
    REQUIRE(held.kind == Resolution::Kind::Review);
    ClaimCodeBookOptions co;
    co.path = dir.file("identity-claims.db");
    book = std::make_unique<ClaimCodeBook>(co);
    HttpServerOptions o;
    o.tokens = {{"ops", phrgate::sha256_hex(kOperatorToken), Role::Operator},
                {"reader", phrgate::sha256_hex(kReaderToken), Role::Reader},
                {"phr", phrgate::sha256_hex(kPhrToken), Role::Phr}};
    server = std::make_unique<HttpServer>(io, o);
    add_claim_routes(*server, *index, *book, [this](const IdentityDecision& d) {
      std::lock_guard lock(decisions_mu);
      decisions.push_back(d);
    });
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
  std::vector<IdentityDecision> taken() {
    std::lock_guard lock(decisions_mu);
    return std::exchange(decisions, {});
  }
};

rapidjson::Document json(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::string redeem_body(const std::string& code, const std::string& person) {
  return R"({"code":")" + code + R"(","person_id":")" + person + "\"}";
}

struct Issued {
  int64_t id = 0;
  std::string code;
};

Issued issue(Api& api, const std::string& system, const std::string& value) {
  auto r = api.call("POST", "/api/identity/claims", R"({"system":")" + system + R"(","value":")" + value + "\"}");
  REQUIRE(r.status == 201);
  auto d = json(r.body);
  // Issuing is audited through the hook (no link changes).
  const auto audited = api.taken();
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action == "claim_issue");
  CHECK(audited[0].actor == "ops");
  return {d["id"].GetInt64(), d["code"].GetString()};
}

}  // namespace

TEST_CASE("claim routes check roles", "[identity][claims][routes]") {
  Api api;
  const std::string body = R"({"system":"urn:h1","value":"M1"})";
  CHECK(api.call("POST", "/api/identity/claims", body, kReaderToken).status == 403);
  CHECK(api.call("POST", "/api/identity/claims", body, kPhrToken).status == 403);
  CHECK(api.call("POST", "/api/identity/claims", body, "wrong-token").status == 401);
  CHECK(api.call("GET", "/api/identity/claims", {}, kReaderToken).status == 403);
  CHECK(api.call("GET", "/api/identity/claims", {}, kPhrToken).status == 403);
  CHECK(api.call("DELETE", "/api/identity/claims/1", {}, kPhrToken).status == 403);
  const Issued c = issue(api, "urn:h1", "M1");
  // Operators issue codes but do not redeem them: that is the PHR backend's phr-role token.
  CHECK(api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, api.emil.person_id)).status == 403);
  CHECK(api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, api.emil.person_id), kReaderToken).status ==
        403);
  CHECK(api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, api.emil.person_id), kPhrToken).status ==
        200);
}

TEST_CASE("issue, list and redeem a code for a held record", "[identity][claims][routes]") {
  Api api;
  auto r = api.call("POST", "/api/identity/claims", R"({"system":"urn:h2","value":"SECRET-MRN-2"})");
  REQUIRE(r.status == 201);
  REQUIRE(r.header("Cache-Control"));
  CHECK(*r.header("Cache-Control") == "no-store");
  auto d = json(r.body);
  const std::string code = d["code"].GetString();
  const int64_t id = d["id"].GetInt64();
  CHECK(code.size() == 11);
  CHECK(d["expires_ms"].GetInt64() > 0);
  CHECK(*r.header("Location") == "/api/identity/claims/" + std::to_string(id));
  auto audited = api.taken();
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action == "claim_issue");
  CHECK(audited[0].person_id.empty());  // held: no person yet

  r = api.call("GET", "/api/identity/claims?status=active");
  REQUIRE(r.status == 200);
  CHECK(r.body.find(code) == std::string::npos);
  CHECK(r.body.find(code.substr(0, 5) + code.substr(6)) == std::string::npos);
  d = json(r.body);
  CHECK(d["total"].GetInt64() == 1);
  CHECK(d["items"][0]["id"].GetInt64() == id);
  CHECK(d["items"][0]["status"] == "active");
  CHECK(d["items"][0]["issued_by"] == "ops");

  r = api.call("POST", "/api/identity/claims/redeem", redeem_body(code, api.emil.person_id), kPhrToken);
  REQUIRE(r.status == 200);
  d = json(r.body);
  CHECK(d["status"] == "linked");
  CHECK(d["person_id"] == api.emil.person_id.c_str());
  CHECK(api.index->person_of({"urn:h2", "SECRET-MRN-2"}) == api.emil.person_id);

  // The daemon releases the messages held under the review item (action link + review_id).
  auto decisions = api.taken();
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].action == "link");
  CHECK(decisions[0].review_id == api.held.review_id);
  CHECK(decisions[0].actor == "claim:" + std::to_string(id));
  CHECK(decisions[0].person_id == api.emil.person_id);

  // Single use.
  r = api.call("POST", "/api/identity/claims/redeem", redeem_body(code, api.emil.person_id), kPhrToken);
  CHECK(r.status == 400);
  CHECK(api.taken().empty());
  r = api.call("GET", "/api/identity/claims?status=redeemed");
  d = json(r.body);
  REQUIRE(d["total"].GetInt64() == 1);
  CHECK(d["items"][0]["closed_by"] == ("claim:" + std::to_string(id)).c_str());
  CHECK(d["items"][0]["person_id"] == api.emil.person_id.c_str());
}

TEST_CASE("a redeemed code moves an identifier and its records from another person", "[identity][claims][routes]") {
  Api api;
  const Issued c = issue(api, "urn:h3", "M3");
  auto r = api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, api.emil.person_id), kPhrToken);
  REQUIRE(r.status == 200);
  CHECK(json(r.body)["status"] == "linked");
  CHECK(api.index->person_of({"urn:h3", "M3"}) == api.emil.person_id);
  // What the daemon's hook needs to move the records (identifier_moved) and audit it.
  auto decisions = api.taken();
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].action == "unlink");
  CHECK(decisions[0].from_person == api.ada.person_id);
  CHECK(decisions[0].person_id == api.emil.person_id);
  CHECK(decisions[0].identifier == SourceIdentifier{"urn:h3", "M3"});
  CHECK(decisions[0].review_id == 0);

  // The person's own identifier: nothing moves, the claim is audited as "claim".
  const Issued own = issue(api, "urn:h1", "M1");
  r = api.call("POST", "/api/identity/claims/redeem", redeem_body(own.code, api.emil.person_id), kPhrToken);
  REQUIRE(r.status == 200);
  CHECK(json(r.body)["status"] == "unchanged");
  decisions = api.taken();
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].action == "claim");
  CHECK(decisions[0].review_id == 0);
}

TEST_CASE("revoked, reissued and wrong codes are refused alike", "[identity][claims][routes]") {
  Api api;
  const Issued revoked = issue(api, "urn:h3", "M3");
  CHECK(api.call("DELETE", "/api/identity/claims/" + std::to_string(revoked.id)).status == 200);
  const auto audited = api.taken();
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action == "claim_revoke");
  CHECK(api.call("DELETE", "/api/identity/claims/" + std::to_string(revoked.id)).status == 409);
  CHECK(api.call("DELETE", "/api/identity/claims/999").status == 404);
  CHECK(api.call("DELETE", "/api/identity/claims/abc").status == 404);

  const Issued old_code = issue(api, "urn:h2", "SECRET-MRN-2");
  const Issued new_code = issue(api, "urn:h2", "SECRET-MRN-2");
  auto d = json(api.call("GET", "/api/identity/claims?status=revoked").body);
  CHECK(d["total"].GetInt64() == 2);

  const std::string person = api.emil.person_id;
  const auto wrong = api.call("POST", "/api/identity/claims/redeem", redeem_body("ZZZZZ-ZZZZZ", person), kPhrToken);
  const auto was_revoked = api.call("POST", "/api/identity/claims/redeem", redeem_body(revoked.code, person), kPhrToken);
  const auto was_replaced =
      api.call("POST", "/api/identity/claims/redeem", redeem_body(old_code.code, person), kPhrToken);
  CHECK(wrong.status == 400);
  CHECK(was_revoked.status == 400);
  CHECK(was_replaced.status == 400);
  CHECK(was_revoked.body == wrong.body);
  CHECK(was_replaced.body == wrong.body);
  CHECK(wrong.body.find("OperationOutcome") != std::string::npos);
  for (const auto* r : {&wrong, &was_revoked, &was_replaced}) {
    CHECK(r->body.find(person) == std::string::npos);
    CHECK(r->body.find(revoked.code) == std::string::npos);
    CHECK(r->body.find(old_code.code) == std::string::npos);
  }
  CHECK(api.call("POST", "/api/identity/claims/redeem", redeem_body(new_code.code, person), kPhrToken).status == 200);
  CHECK(api.index->person_of({"urn:h3", "M3"}) == api.ada.person_id);  // the revoked code changed nothing
}

TEST_CASE("too many wrong codes for a person get 429", "[identity][claims][routes]") {
  Api api;
  const Issued c = issue(api, "urn:h2", "SECRET-MRN-2");
  for (int i = 0; i < 5; ++i)
    CHECK(api.call("POST", "/api/identity/claims/redeem", redeem_body("00000-0000" + std::to_string(i), api.emil.person_id),
                   kPhrToken)
              .status == 400);
  auto r = api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, api.emil.person_id), kPhrToken);
  CHECK(r.status == 429);
  REQUIRE(r.header("Retry-After"));
  CHECK(std::stol(*r.header("Retry-After")) > 0);
  CHECK(r.body.find(api.emil.person_id) == std::string::npos);
  CHECK(api.index->person_of({"urn:h2", "SECRET-MRN-2"}) == std::nullopt);
}

TEST_CASE("claim API errors are OperationOutcomes without echoed input", "[identity][claims][routes]") {
  Api api;
  auto r = api.call("POST", "/api/identity/claims", R"({"system":"urn:secret-system","value":"SECRET-MRN-42"})");
  CHECK(r.status == 404);
  CHECK(r.body.find("SECRET-MRN-42") == std::string::npos);
  CHECK(r.body.find("OperationOutcome") != std::string::npos);
  CHECK(api.call("POST", "/api/identity/claims", "not json").status == 400);
  CHECK(api.call("POST", "/api/identity/claims", R"({"system":"urn:h1"})").status == 400);
  CHECK(api.call("GET", "/api/identity/claims?status=bogus").status == 400);
  CHECK(api.call("GET", "/api/identity/claims?_count=-1").status == 400);
  CHECK(api.call("POST", "/api/identity/claims/redeem", R"({"code":"ABCDE-FGHJK"})", kPhrToken).status == 400);
  const Issued c = issue(api, "urn:h1", "M1");
  r = api.call("POST", "/api/identity/claims/redeem", redeem_body(c.code, "PERSON-SECRET"), kPhrToken);
  CHECK(r.status == 422);
  CHECK(r.body.find("PERSON-SECRET") == std::string::npos);
  CHECK(r.body.find(c.code) == std::string::npos);
}
