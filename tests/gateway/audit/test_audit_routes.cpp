// GET /api/audit and /api/audit/export called as handlers, and the FhirReadApi hook: reads,
// searches and $everything through the real FHIR read API (SQLite store in a temp dir) are
// recorded with the token's name, the person and the outcome.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/audit/audit_routes.h"
#include "gateway/store/phr_store.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using namespace phrgate::audit;

namespace {

std::string s(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

http::Request request(std::string principal, std::vector<std::pair<std::string, std::string>> query = {}) {
  http::Request r;
  r.method = "GET";
  r.principal = std::move(principal);
  r.peer = "127.0.0.1:4000";
  r.query = std::move(query);
  return r;
}

rapidjson::Document body(const http::Response& res) {
  rapidjson::Document d;
  d.Parse(res.body.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

store::FhirResource resource(std::string type, std::string id, std::string person) {
  store::FhirResource r;
  r.type = type;
  r.id = id;
  r.person_id = person;
  r.json = R"({"resourceType":")" + type + R"(","id":")" + id + R"("})";
  return r;
}

struct Fixture {
  phrgate::testing::TempDir dir;
  AuditTrail trail{[this] {
    AuditTrailOptions o;
    o.path = dir.file("audit.db");
    o.role_of = [](std::string_view) { return std::string("reader"); };
    o.gather_delay = std::chrono::milliseconds(1);
    return o;
  }()};
  std::unique_ptr<store::PhrStore> store = store::open_sqlite_store(dir.file("phr.db"));
  AuditRoutesOptions options;

  std::vector<StoredAuditRecord> all() {
    REQUIRE(trail.flush());
    AuditQuery q;
    q.limit = 1000;
    q.oldest_first = true;
    return trail.query(q).records;
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "FHIR reads are recorded with actor, person, target and outcome") {
  auto p1 = resource("Patient", "p1", "p1");
  p1.identifiers = {{"urn:oid:1.2.3", "MRN1"}};
  store->write({p1, resource("Observation", "o1", "p1")});
  admin::FhirReadApiOptions fo;
  fo.on_access = fhir_access_recorder(trail.recorder());
  admin::FhirReadApi api(*store, fo);

  CHECK(api.read(request("phr-app"), "Observation", "o1").status == 200);
  CHECK(api.read(request("phr-app"), "Observation", "missing").status == 404);
  CHECK(api.search(request("phr-app", {{"patient", "Patient/p1"}}), "Observation").status == 200);
  CHECK(api.search(request("phr-app", {{"identifier", "urn:oid:1.2.3|MRN1"}}), "Patient").status == 200);
  CHECK(api.everything(request("phr-app"), "p1").status == 200);
  CHECK(api.read(request("phr-app"), "Observation", "bad id!").status == 400);  // refused before the store

  auto records = all();
  REQUIRE(records.size() == 5);
  const AuditRecord& read = records[0].record;
  CHECK(read.actor == "phr-app");
  CHECK(read.role == "reader");
  CHECK(read.action == "read");
  CHECK(read.target_type == "Observation");
  CHECK(read.target_id == "o1");
  CHECK(read.person_id == "p1");
  CHECK(read.outcome == "success");
  CHECK(read.client == "127.0.0.1:4000");
  CHECK(records[1].record.outcome == "failure");
  CHECK(records[1].record.person_id.empty());
  CHECK(records[2].record.action == "search");
  CHECK(records[2].record.person_id == "p1");
  CHECK(records[3].record.action == "search");
  CHECK(records[3].record.person_id == "p1");  // the Patient found by identifier
  CHECK(records[4].record.action == "everything");
  CHECK(records[4].record.person_id == "p1");
}

TEST_CASE_METHOD(Fixture, "GET /api/audit: filters, cursor, validation; the query itself is recorded") {
  for (int i = 0; i < 5; ++i) {
    AuditRecord r;
    r.actor = i < 3 ? "app" : "ops";
    r.action = i < 3 ? "read" : "replay";
    r.person_id = i < 3 ? "p1" : "";
    r.at_ms = 1000 * (i + 1);
    trail.record(r);
  }
  REQUIRE(trail.flush());

  auto res = audit_query_route(trail, options, request("admin", {{"actor", "app"}, {"limit", "2"}}));
  REQUIRE(res.status == 200);
  auto d = body(res);
  REQUIRE(d["events"].Size() == 2);
  CHECK(s(d["events"][0]["at"]) == "1970-01-01T00:00:03.000Z");
  CHECK(s(d["events"][0]["actor"]) == "app");
  CHECK(d["events"][0]["detail"].IsObject());
  REQUIRE(d["next_cursor"].IsString());
  auto next = body(audit_query_route(trail, options,
                                     request("admin", {{"actor", "app"}, {"limit", "2"}, {"cursor", s(d["next_cursor"])}})));
  REQUIRE(next["events"].Size() == 1);
  CHECK(next["next_cursor"].IsNull());

  auto windowed = body(audit_query_route(
      trail, options, request("admin", {{"since", "1970-01-01T00:00:02Z"}, {"until", "4000"}, {"action", "read"}})));
  CHECK(windowed["events"].Size() == 2);
  auto by_person = body(audit_query_route(trail, options, request("admin", {{"person", "p1"}})));
  CHECK(by_person["events"].Size() == 3);

  CHECK(audit_query_route(trail, options, request("admin", {{"since", "last week"}})).status == 400);
  CHECK(audit_query_route(trail, options, request("admin", {{"limit", "0"}})).status == 400);
  CHECK(audit_query_route(trail, options, request("admin", {{"cursor", "x"}})).status == 400);

  AuditQuery q;
  q.action = "audit-query";
  REQUIRE(trail.flush());
  auto queries = trail.query(q).records;
  REQUIRE(queries.size() == 4);  // the four answered 200; refused ones are not
  CHECK(queries[0].record.actor == "admin");
  CHECK(queries[0].record.person_id == "p1");
  CHECK(queries[0].record.detail_json == R"({"filters":"person","returned":3})");
}

TEST_CASE_METHOD(Fixture, "GET /api/audit/export: a Bundle of AuditEvents, oldest first, with a next link") {
  for (int i = 0; i < 3; ++i) {
    AuditRecord r;
    r.actor = "app";
    r.action = "read";
    r.person_id = "p" + std::to_string(i);
    r.target_type = "Patient";
    r.target_id = r.person_id;
    r.at_ms = 1000 * (i + 1);
    trail.record(r);
  }
  REQUIRE(trail.flush());
  auto res = audit_export_route(trail, options, request("admin", {{"since", "1970-01-01"}, {"limit", "2"}}));
  REQUIRE(res.status == 200);
  CHECK(res.content_type.rfind("application/fhir+json", 0) == 0);
  auto b = body(res);
  CHECK(s(b["resourceType"]) == "Bundle");
  CHECK(s(b["type"]) == "collection");
  REQUIRE(b["entry"].Size() == 2);
  CHECK(s(b["entry"][0]["resource"]["entity"][0]["what"]["reference"]) == "Patient/p0");
  CHECK(s(b["entry"][1]["resource"]["entity"][0]["what"]["reference"]) == "Patient/p1");
  const std::string next = s(b["link"][0]["url"]);
  CHECK(next.find("/api/audit/export?cursor=") == 0);
  CHECK(next.find("since=0") != std::string::npos);

  auto rest = body(audit_export_route(trail, options, request("admin", {{"cursor", next.substr(next.find('=') + 1, next.find('&') - next.find('=') - 1)}})));
  REQUIRE(rest["entry"].Size() >= 1);
  CHECK(s(rest["entry"][0]["resource"]["entity"][0]["what"]["reference"]) == "Patient/p2");
}
