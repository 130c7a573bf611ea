// Tests for the FHIR read API handlers, called directly with constructed Requests over a real
// SQLite PHR store in a temp dir; responses are parsed with RapidJSON. Covers metadata,
// search (identifier, patient, paging links, strict parameters), read (ETag, 304, 404, 400),
// $everything, base URLs and the 500 path without leaking store errors.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/admin/fhir_read_api.h"
#include "gateway/store/phr_store.h"
#include "tests/support/temp_dir.h"

using phrgate::admin::FhirReadApi;
using phrgate::admin::FhirReadApiOptions;
using phrgate::http::Request;
using phrgate::http::Response;
using phrgate::store::FhirResource;

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

Request get(const std::string& path, Query query = {}) {
  Request req;
  req.method = "GET";
  req.path = path;
  req.target = path;
  req.query = std::move(query);
  return req;
}

FhirResource resource(const std::string& type, const std::string& id, const std::string& person,
                      const std::string& note = "n") {
  FhirResource r;
  r.type = type;
  r.id = id;
  r.person_id = person;
  if (type == "Patient") {
    r.json = R"({"resourceType":"Patient","id":")" + id + R"(","active":true})";
  } else {
    r.json = R"({"resourceType":")" + type + R"(","id":")" + id +
             R"(","subject":{"reference":"Patient/)" + person + R"("},"note":")" + note + R"("})";
  }
  return r;
}

rapidjson::Document body_of(const Response& res) {
  CHECK(res.content_type == "application/fhir+json; charset=utf-8");
  rapidjson::Document doc;
  doc.Parse(res.body.c_str(), res.body.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string str(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

// The issue code of an OperationOutcome response with the expected status.
std::string outcome_code(const Response& res, int status) {
  CHECK(res.status == status);
  auto doc = body_of(res);
  REQUIRE(str(doc["resourceType"]) == "OperationOutcome");
  REQUIRE(doc["issue"].Size() == 1);
  CHECK(str(doc["issue"][0]["severity"]) == "error");
  return str(doc["issue"][0]["code"]);
}

std::string link(const rapidjson::Document& bundle, const std::string& relation) {
  for (const auto& l : bundle["link"].GetArray())
    if (str(l["relation"]) == relation) return str(l["url"]);
  return {};
}

std::vector<std::string> entry_urls(const rapidjson::Document& bundle) {
  std::vector<std::string> out;
  if (!bundle.HasMember("entry")) return out;
  for (const auto& e : bundle["entry"].GetArray()) {
    CHECK(str(e["search"]["mode"]) == "match");
    CHECK(e["resource"]["meta"].HasMember("versionId"));
    out.push_back(str(e["fullUrl"]));
  }
  return out;
}

struct Fixture {
  phrgate::testing::TempDir dir;
  std::unique_ptr<phrgate::store::PhrStore> store =
      phrgate::store::open_sqlite_store(dir.file("phr.db"));
  FhirReadApi api{*store, FhirReadApiOptions{"", "0.1.0", 50, 1000}};

  Fixture() {
    auto p1 = resource("Patient", "p1", "p1");
    p1.identifiers = {{"urn:oid:1.2.3", "MRN1"}, {"", "LOCAL7"}};
    auto p2 = resource("Patient", "p2", "p2");
    p2.identifiers = {{"urn:oid:9.9", "MRN1"}};
    std::vector<FhirResource> batch{p1, p2};
    for (int i = 1; i <= 7; ++i) batch.push_back(resource("Observation", "o" + std::to_string(i), "p1"));
    batch.push_back(resource("Encounter", "e1", "p1"));
    batch.push_back(resource("Observation", "x1", "p2"));
    store->write(batch);
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "metadata is a CapabilityStatement describing the read API") {
  auto res = api.metadata(get("/fhir/metadata"));
  CHECK(res.status == 200);
  auto doc = body_of(res);
  CHECK(str(doc["resourceType"]) == "CapabilityStatement");
  CHECK(str(doc["status"]) == "active");
  CHECK(str(doc["kind"]) == "instance");
  CHECK(str(doc["fhirVersion"]) == "4.0.1");
  CHECK(str(doc["software"]["version"]) == "0.1.0");
  REQUIRE(doc["format"].Size() == 1);
  CHECK(str(doc["format"][0]) == "json");
  CHECK(doc.HasMember("date"));
  const auto& rest = doc["rest"][0];
  CHECK(str(rest["mode"]) == "server");
  CHECK(rest["security"]["service"][0].HasMember("text"));

  std::vector<std::string> types;
  for (const auto& r : rest["resource"].GetArray()) {
    types.push_back(str(r["type"]));
    std::vector<std::string> interactions;
    for (const auto& i : r["interaction"].GetArray()) interactions.push_back(str(i["code"]));
    CHECK(interactions == std::vector<std::string>{"read", "search-type"});
    const std::string param = str(r["searchParam"][0]["name"]);
    if (types.back() == "Patient") {
      CHECK(param == "identifier");
      CHECK(str(r["operation"][0]["name"]) == "everything");
    } else {
      CHECK(param == "patient");
      CHECK(str(r["searchParam"][0]["type"]) == "reference");
    }
  }
  CHECK(types.size() == 16);
  CHECK(types.front() == "Patient");
  for (const char* t : {"Observation", "Encounter", "DiagnosticReport", "Provenance",
                        "AllergyIntolerance", "Condition", "Immunization", "MedicationRequest",
                        "Procedure", "ServiceRequest", "DocumentReference", "Coverage",
                        "RelatedPerson", "Appointment", "MedicationAdministration"})
    CHECK(std::find(types.begin(), types.end(), t) != types.end());

  CHECK(outcome_code(api.metadata(get("/fhir/metadata", {{"_format", "xml"}})), 406) ==
        "not-supported");
  CHECK(api.metadata(get("/fhir/metadata", {{"_format", "application/fhir json"}})).status == 200);
}

TEST_CASE_METHOD(Fixture, "Patient search by identifier, with and without a system") {
  auto run = [&](const std::string& value) {
    auto res = api.search(get("/fhir/Patient", {{"identifier", value}}), "Patient");
    CHECK(res.status == 200);
    return body_of(res);
  };
  auto doc = run("urn:oid:1.2.3|MRN1");
  CHECK(str(doc["resourceType"]) == "Bundle");
  CHECK(str(doc["type"]) == "searchset");
  CHECK(doc["total"].GetInt64() == 1);
  CHECK(entry_urls(doc) == std::vector<std::string>{"Patient/p1"});
  CHECK(str(doc["entry"][0]["resource"]["id"]) == "p1");

  doc = run("MRN1");  // any system
  CHECK(doc["total"].GetInt64() == 2);
  CHECK(entry_urls(doc) == std::vector<std::string>{"Patient/p1", "Patient/p2"});

  CHECK(run("|LOCAL7")["total"].GetInt64() == 1);  // no system
  CHECK(run("|MRN1")["total"].GetInt64() == 0);
  doc = run("urn:oid:0|MRN1");
  CHECK(doc["total"].GetInt64() == 0);
  CHECK_FALSE(doc.HasMember("entry"));

  auto bad = [&](Query q) { return api.search(get("/fhir/Patient", std::move(q)), "Patient"); };
  CHECK(outcome_code(bad({}), 400) == "required");
  CHECK(outcome_code(bad({{"identifier", "a,b"}}), 400) == "not-supported");
  CHECK(outcome_code(bad({{"identifier", "urn:x|"}}), 400) == "not-supported");
  CHECK(outcome_code(bad({{"identifier", "MRN1"}, {"identifier", "MRN2"}}), 400) ==
        "not-supported");
  CHECK(outcome_code(bad({{"patient", "p1"}}), 400) == "not-supported");
}

TEST_CASE_METHOD(Fixture, "search by patient pages with total, self, next and previous links") {
  auto res = api.search(get("/fhir/Observation", {{"patient", "p1"}, {"_count", "3"}}),
                        "Observation");
  CHECK(res.status == 200);
  auto doc = body_of(res);
  CHECK(doc["total"].GetInt64() == 7);
  CHECK(entry_urls(doc) ==
        std::vector<std::string>{"Observation/o1", "Observation/o2", "Observation/o3"});
  CHECK(link(doc, "self") == "/fhir/Observation?patient=p1&_count=3&_offset=0");
  CHECK(link(doc, "next") == "/fhir/Observation?patient=p1&_count=3&_offset=3");
  CHECK(link(doc, "previous").empty());

  doc = body_of(api.search(
      get("/fhir/Observation", {{"patient", "Patient/p1"}, {"_count", "3"}, {"_offset", "6"}}),
      "Observation"));
  CHECK(doc["total"].GetInt64() == 7);
  CHECK(entry_urls(doc) == std::vector<std::string>{"Observation/o7"});
  CHECK(link(doc, "next").empty());
  CHECK(link(doc, "previous") == "/fhir/Observation?patient=Patient%2Fp1&_count=3&_offset=3");

  doc = body_of(api.search(get("/fhir/Observation", {{"patient", "p1"}}), "Observation"));
  CHECK(doc["entry"].Size() == 7);  // default page size 50
  CHECK(link(doc, "self") == "/fhir/Observation?patient=p1&_count=50&_offset=0");

  doc = body_of(api.search(get("/fhir/Observation", {{"patient", "p1"}, {"_count", "0"}}),
                           "Observation"));
  CHECK(doc["total"].GetInt64() == 7);
  CHECK_FALSE(doc.HasMember("entry"));
  CHECK(link(doc, "next").empty());

  doc = body_of(api.search(get("/fhir/Observation", {{"patient", "p1"}, {"_count", "999999"}}),
                           "Observation"));
  CHECK(link(doc, "self") == "/fhir/Observation?patient=p1&_count=1000&_offset=0");

  CHECK(body_of(api.search(get("/fhir/Encounter", {{"patient", "p2"}}), "Encounter"))["total"]
            .GetInt64() == 0);
}

TEST_CASE_METHOD(Fixture, "search refuses missing, unknown and malformed parameters") {
  auto obs = [&](Query q) {
    return api.search(get("/fhir/Observation", std::move(q)), "Observation");
  };
  auto res = obs({});
  CHECK(outcome_code(res, 400) == "required");
  CHECK(str(body_of(res)["issue"][0]["diagnostics"]).find("'patient'") != std::string::npos);

  res = obs({{"patient", "p1"}, {"code", "1234-5"}});
  CHECK(outcome_code(res, 400) == "not-supported");
  CHECK(str(body_of(res)["issue"][0]["diagnostics"]).find("'code'") != std::string::npos);

  auto lenient = get("/fhir/Observation", {{"patient", "p1"}, {"code", "1234-5"}});
  lenient.headers["prefer"] = "handling=lenient";
  auto doc = body_of(api.search(lenient, "Observation"));
  CHECK(doc["total"].GetInt64() == 7);
  CHECK(link(doc, "self") == "/fhir/Observation?patient=p1&_count=50&_offset=0");

  CHECK(outcome_code(obs({{"patient", "p1"}, {"_count", "-1"}}), 400) == "invalid");
  CHECK(outcome_code(obs({{"patient", "p1"}, {"_count", "ten"}}), 400) == "invalid");
  CHECK(outcome_code(obs({{"patient", "p1"}, {"_offset", "1e3"}}), 400) == "invalid");
  CHECK(outcome_code(obs({{"patient", "p1"}, {"_format", "xml"}}), 406) == "not-supported");
  CHECK(obs({{"patient", "p1"}, {"_format", "json"}}).status == 200);
  CHECK(outcome_code(obs({{"patient", "Patient/bad id"}}), 400) == "invalid");
  CHECK(outcome_code(obs({{"patient", "Group/g1"}}), 400) == "invalid");
  CHECK(outcome_code(api.search(get("/fhir/Medication", {{"patient", "p1"}}), "Medication"),
                     404) == "not-supported");
}

TEST_CASE_METHOD(Fixture, "read returns the resource with ETag and Last-Modified") {
  auto res = api.read(get("/fhir/Observation/o1"), "Observation", "o1");
  CHECK(res.status == 200);
  auto doc = body_of(res);
  CHECK(str(doc["id"]) == "o1");
  CHECK(str(doc["meta"]["versionId"]) == "1");
  auto header = [&](const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return std::string();
  };
  CHECK(header(res, "ETag") == "W/\"1\"");
  const std::string modified = header(res, "Last-Modified");
  CHECK(modified.size() == 29);  // "Wed, 01 May 2024 12:34:56 GMT"
  CHECK(modified.ends_with(" GMT"));

  store->write({resource("Observation", "o1", "p1", "changed")});
  res = api.read(get("/fhir/Observation/o1"), "Observation", "o1");
  CHECK(header(res, "ETag") == "W/\"2\"");
  CHECK(str(body_of(res)["note"]) == "changed");

  auto conditional = get("/fhir/Observation/o1");
  conditional.headers["if-none-match"] = "W/\"2\"";
  res = api.read(conditional, "Observation", "o1");
  CHECK(res.status == 304);
  CHECK(res.body.empty());
  conditional.headers["if-none-match"] = "W/\"1\"";
  CHECK(api.read(conditional, "Observation", "o1").status == 200);
}

TEST_CASE_METHOD(Fixture, "read answers 404 for unknown resources and 400 for bad ids") {
  auto res = api.read(get("/fhir/Observation/nope"), "Observation", "nope");
  CHECK(outcome_code(res, 404) == "not-found");
  CHECK(str(body_of(res)["issue"][0]["diagnostics"]) == "Observation/nope is not known");
  CHECK(outcome_code(api.read(get("/fhir/Patient/o1"), "Patient", "o1"), 404) == "not-found");
  CHECK(outcome_code(api.read(get("/x"), "Observation", "bad id"), 400) == "invalid");
  CHECK(outcome_code(api.read(get("/x"), "Observation", std::string(65, 'a')), 400) == "invalid");
  CHECK(outcome_code(api.read(get("/x"), "Observation", ""), 400) == "invalid");
  CHECK(outcome_code(api.read(get("/x"), "Binary", "b1"), 404) == "not-supported");
  CHECK(outcome_code(api.read(get("/x", {{"_pretty", "true"}}), "Patient", "p1"), 400) ==
        "not-supported");
}

TEST_CASE_METHOD(Fixture, "$everything returns the person's resources, Patient first, paged") {
  auto res = api.everything(get("/fhir/Patient/p1/$everything"), "p1");
  CHECK(res.status == 200);
  auto doc = body_of(res);
  CHECK(doc["total"].GetInt64() == 9);
  auto urls = entry_urls(doc);
  REQUIRE(urls.size() == 9);
  CHECK(urls[0] == "Patient/p1");
  CHECK(urls[1] == "Encounter/e1");
  CHECK(urls[2] == "Observation/o1");
  CHECK(std::find(urls.begin(), urls.end(), "Observation/x1") == urls.end());

  doc = body_of(api.everything(get("/x", {{"_count", "4"}, {"_offset", "4"}}), "p1"));
  CHECK(entry_urls(doc) == std::vector<std::string>{"Observation/o3", "Observation/o4",
                                                    "Observation/o5", "Observation/o6"});
  CHECK(link(doc, "next") == "/fhir/Patient/p1/$everything?_count=4&_offset=8");
  CHECK(link(doc, "previous") == "/fhir/Patient/p1/$everything?_count=4&_offset=0");

  CHECK(outcome_code(api.everything(get("/x"), "nobody"), 404) == "not-found");
  CHECK(outcome_code(api.everything(get("/x"), "bad/id"), 400) == "invalid");
  CHECK(outcome_code(api.everything(get("/x", {{"_since", "2024"}}), "p1"), 400) ==
        "not-supported");
}

TEST_CASE_METHOD(Fixture, "a configured base makes fullUrls and links absolute") {
  FhirReadApi based{*store, FhirReadApiOptions{"https://phr.example.org/fhir/", "", 2, 10}};
  auto doc = body_of(based.search(
      get("/fhir/Observation", {{"patient", "https://phr.example.org/fhir/Patient/p1"}}),
      "Observation"));
  CHECK(doc["total"].GetInt64() == 7);
  CHECK(entry_urls(doc) == std::vector<std::string>{"https://phr.example.org/fhir/Observation/o1",
                                                    "https://phr.example.org/fhir/Observation/o2"});
  CHECK(link(doc, "next").starts_with("https://phr.example.org/fhir/Observation?patient="));
  auto meta = body_of(based.metadata(get("/fhir/metadata")));
  CHECK(str(meta["implementation"]["url"]) == "https://phr.example.org/fhir");
  CHECK_FALSE(meta["software"].HasMember("version"));
}

namespace {
// A store whose every call fails, to check the 500 path.
class FailingStore final : public phrgate::store::PhrStore {
 public:
  using Page = phrgate::store::SearchPage;
  [[noreturn]] static void fail() { throw std::runtime_error("disk I/O error SECRET-DETAIL"); }
  phrgate::store::WriteStats write(const std::vector<FhirResource>&) override { fail(); }
  phrgate::store::WriteStats write_all(const std::vector<const FhirResource*>&) override { fail(); }
  phrgate::store::WriteStats write_document(std::string_view, int64_t,
                                            const std::vector<const FhirResource*>&) override {
    fail();
  }
  bool was_deleted(std::string_view, std::string_view) override { fail(); }
  int64_t reassign_person(std::string_view, std::string_view) override { fail(); }
  bool remove_patient_identifier(std::string_view, const std::string&, const std::string&) override { fail(); }
  std::optional<phrgate::store::StoredResource> read(std::string_view, std::string_view) override {
    fail();
  }
  Page find_patients_by_identifier(std::string_view, std::string_view, int64_t, int64_t) override {
    fail();
  }
  Page find_patients_by_exact_identifier(std::string_view, std::string_view, int64_t,
                                         int64_t) override {
    fail();
  }
  Page find_by_person(std::string_view, std::string_view, int64_t, int64_t) override { fail(); }
  Page everything(std::string_view, int64_t, int64_t) override { fail(); }
  int64_t count_resources() override { fail(); }
  std::vector<phrgate::store::StoredResource> history(std::string_view,
                                                      std::string_view) override {
    fail();
  }
};
}  // namespace

TEST_CASE("store failures become 500 OperationOutcomes without internal detail") {
  FailingStore failing;
  FhirReadApi api{failing, FhirReadApiOptions{}};
  for (const Response& res :
       {api.read(get("/x"), "Patient", "p1"), api.everything(get("/x"), "p1"),
        api.search(get("/x", {{"patient", "p1"}}), "Observation"),
        api.search(get("/x", {{"identifier", "a"}}), "Patient")}) {
    CHECK(outcome_code(res, 500) == "exception");
    CHECK(res.body.find("SECRET") == std::string::npos);
  }
}
