// The AuditEvent export: every element FHIR R4 requires (type, recorded, agent.requestor,
// source.observer), the codes from the FHIR code systems, the Patient entity, the outcome.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "gateway/audit/audit_event_fhir.h"

using namespace phrgate::audit;

namespace {

std::string s(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

rapidjson::Document event_of(const StoredAuditRecord& r) {
  rapidjson::Document d;
  d.Parse(audit_event_json(r, "phrgate-test").c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

StoredAuditRecord stored(std::string action, std::string outcome) {
  StoredAuditRecord r;
  r.id = 42;
  r.record.at_ms = 1500;
  r.record.actor = "phr-app";
  r.record.role = "reader";
  r.record.action = std::move(action);
  r.record.outcome = std::move(outcome);
  r.record.client = "10.1.2.3:5555";
  r.record.detail_json = "{}";
  return r;
}

void check_required_r4_elements(const rapidjson::Value& e) {
  CHECK(s(e["resourceType"]) == "AuditEvent");
  REQUIRE(e.HasMember("type"));  // 1..1 Coding
  CHECK(e["type"].HasMember("system"));
  CHECK(e["type"].HasMember("code"));
  REQUIRE(e.HasMember("recorded"));  // 1..1 instant
  CHECK(s(e["recorded"]).size() == 24);
  REQUIRE(e.HasMember("agent"));  // 1..*
  REQUIRE(e["agent"].IsArray());
  REQUIRE(e["agent"].Size() >= 1);
  for (const auto& a : e["agent"].GetArray()) CHECK(a["requestor"].IsBool());  // 1..1
  REQUIRE(e.HasMember("source"));                       // 1..1
  REQUIRE(e["source"].HasMember("observer"));           // 1..1 Reference
  CHECK(e["source"]["observer"].IsObject());
  if (e.HasMember("action")) {
    const std::string a = s(e["action"]);
    CHECK((a == "C" || a == "R" || a == "U" || a == "D" || a == "E"));
  }
  if (e.HasMember("outcome")) {
    const std::string o = s(e["outcome"]);
    CHECK((o == "0" || o == "4" || o == "8" || o == "12"));
  }
  if (e.HasMember("entity"))
    for (const auto& en : e["entity"].GetArray()) {
      CHECK(en.IsObject());
      CHECK_FALSE((en.HasMember("name") && en.HasMember("query")));  // sev-1
    }
}

}  // namespace

TEST_CASE("AuditEvent of a FHIR read: rest/read, action R, the token as agent, the Patient as entity") {
  StoredAuditRecord r = stored("read", "success");
  r.record.target_type = "Observation";
  r.record.target_id = "obs-1";
  r.record.person_id = "p1";
  auto e = event_of(r);
  check_required_r4_elements(e);
  CHECK(s(e["id"]) == "audit-42");
  CHECK(s(e["type"]["system"]) == "http://terminology.hl7.org/CodeSystem/audit-event-type");
  CHECK(s(e["type"]["code"]) == "rest");
  CHECK(s(e["subtype"][0]["system"]) == "http://hl7.org/fhir/restful-interaction");
  CHECK(s(e["subtype"][0]["code"]) == "read");
  CHECK(s(e["subtype"][1]["code"]) == "read");
  CHECK(s(e["action"]) == "R");
  CHECK(s(e["outcome"]) == "0");
  CHECK_FALSE(e.HasMember("outcomeDesc"));
  CHECK(s(e["recorded"]) == "1970-01-01T00:00:01.500Z");
  const auto& agent = e["agent"][0];
  CHECK(s(agent["who"]["identifier"]["value"]) == "phr-app");
  CHECK(s(agent["name"]) == "phr-app");
  CHECK(agent["requestor"].GetBool());
  CHECK(s(agent["role"][0]["text"]) == "reader");
  CHECK(s(agent["network"]["address"]) == "10.1.2.3");
  CHECK(s(agent["network"]["type"]) == "2");
  CHECK(s(e["source"]["observer"]["display"]) == "phrgate-test");
  CHECK(s(e["source"]["type"][0]["code"]) == "4");
  REQUIRE(e["entity"].Size() == 2);
  CHECK(s(e["entity"][0]["what"]["reference"]) == "Patient/p1");
  CHECK(s(e["entity"][0]["type"]["code"]) == "1");
  CHECK(s(e["entity"][0]["role"]["code"]) == "1");
  CHECK(s(e["entity"][1]["what"]["reference"]) == "Observation/obs-1");
  CHECK(s(e["entity"][1]["type"]["code"]) == "2");
}

TEST_CASE("AuditEvent of gateway operations: subtype operation, action codes, outcomes, message entity") {
  StoredAuditRecord replay = stored("replay", "failure");
  replay.record.target_type = "message";
  replay.record.target_id = "17";
  replay.record.detail_json = R"({"status":409})";
  auto e = event_of(replay);
  check_required_r4_elements(e);
  CHECK(s(e["subtype"][0]["code"]) == "operation");
  CHECK(s(e["subtype"][1]["code"]) == "replay");
  CHECK(s(e["action"]) == "E");
  CHECK(s(e["outcome"]) == "4");
  CHECK(s(e["outcomeDesc"]) == "failure");
  REQUIRE(e["entity"].Size() == 1);
  CHECK(s(e["entity"][0]["what"]["identifier"]["system"]) == "urn:phrgate:inbox-message");
  CHECK(s(e["entity"][0]["what"]["identifier"]["value"]) == "17");
  CHECK(s(e["entity"][0]["detail"][0]["valueString"]) == R"({"status":409})");

  CHECK(s(event_of(stored("discard", "success"))["action"]) == "D");
  CHECK(s(event_of(stored("merge", "success"))["action"]) == "U");
  CHECK(s(event_of(stored("search", "success"))["subtype"][0]["code"]) == "search-type");
  CHECK(s(event_of(stored("everything", "error"))["outcome"]) == "8");
  auto anonymous = stored("reload", "success");
  anonymous.record.actor.clear();
  anonymous.record.client.clear();
  auto a = event_of(anonymous);
  check_required_r4_elements(a);
  CHECK(s(a["agent"][0]["name"]) == "anonymous");
  CHECK_FALSE(a["agent"][0].HasMember("network"));
  CHECK_FALSE(a.HasMember("entity"));
}

TEST_CASE("AuditEvent bundle: a collection with every event and an optional next link") {
  std::vector<StoredAuditRecord> records{stored("read", "success"), stored("search", "success")};
  rapidjson::Document b;
  b.Parse(audit_event_bundle(records, "phrgate", "2026-11-25T00:00:00.000Z", "/api/audit/export?cursor=2").c_str());
  REQUIRE_FALSE(b.HasParseError());
  CHECK(s(b["resourceType"]) == "Bundle");
  CHECK(s(b["type"]) == "collection");
  REQUIRE(b["entry"].Size() == 2);
  for (const auto& entry : b["entry"].GetArray()) {
    check_required_r4_elements(entry["resource"]);
    CHECK(s(entry["fullUrl"]).rfind("urn:uuid:", 0) == 0);
    CHECK(s(entry["fullUrl"]).size() == 9 + 36);
  }
  CHECK(s(b["link"][0]["relation"]) == "next");

  rapidjson::Document empty;
  empty.Parse(audit_event_bundle({}, "phrgate", "2026-11-25T00:00:00.000Z", "").c_str());
  CHECK_FALSE(empty.HasMember("entry"));
  CHECK_FALSE(empty.HasMember("link"));
}
