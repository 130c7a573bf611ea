// Tests for same-fact recognition: the pure grouping rules (duplicate_facts.h) over constructed
// StoredResources, and Patient/$everything?_dedup=true over a real SQLite PHR store in a temp
// dir (two hospitals recording the same observation, immunization and allergy, with their
// Provenance), called directly like the other FHIR read API tests.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gateway/admin/duplicate_facts.h"
#include "gateway/admin/fhir_read_api.h"
#include "gateway/store/phr_store.h"
#include "tests/support/temp_dir.h"

using phrgate::admin::find_same_fact_groups;
using phrgate::admin::FhirReadApi;
using phrgate::admin::FhirReadApiOptions;
using phrgate::admin::kSameFactExtensionUrl;
using phrgate::admin::present_same_facts_once;
using phrgate::admin::SameFactGroup;
using phrgate::admin::with_same_fact_extension;
using phrgate::http::Request;
using phrgate::store::FhirResource;
using phrgate::store::StoredResource;

namespace {

const std::string kLoinc = R"({"system":"http://loinc.org","code":"2345-7"})";
const std::string kMgDl = R"({"value":95,"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"})";

std::string observation(const std::string& id, const std::string& code_coding,
                        const std::string& value_member, const std::string& time) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","status":"final","code":{"coding":[)" + code_coding +
         R"(]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":")" + time + "\"," +
         value_member + "}";
}

std::string glucose(const std::string& id, const std::string& time = "2024-05-01T10:30:00Z",
                    const std::string& quantity = kMgDl) {
  return observation(id, kLoinc, R"("valueQuantity":)" + quantity, time);
}

std::string immunization(const std::string& id, const std::string& cvx, const std::string& when,
                         const std::string& status = "completed") {
  return R"({"resourceType":"Immunization","id":")" + id + R"(","status":")" + status +
         R"(","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":")" + cvx +
         R"("}]},"patient":{"reference":"Patient/p1"},"occurrenceDateTime":")" + when + "\"}";
}

std::string allergy(const std::string& id, const std::string& codings,
                    const std::string& extra = "") {
  return R"({"resourceType":"AllergyIntolerance","id":")" + id + R"(","code":{"coding":[)" +
         codings + R"(]},"patient":{"reference":"Patient/p1"})" + extra + "}";
}

const std::string kPeanutSnomed = R"({"system":"http://snomed.info/sct","code":"91935009"})";
const std::string kPeanutRxnorm = R"({"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1191"})";

StoredResource stored(const std::string& type, const std::string& id, const std::string& json,
                      const std::string& last_updated = "2024-06-01T00:00:00.000Z") {
  return StoredResource{type, id, "p1", 1, last_updated, json};
}

std::vector<std::vector<std::size_t>> groups_of(const std::vector<StoredResource>& rs) {
  std::vector<std::vector<std::size_t>> out;
  for (const SameFactGroup& g : find_same_fact_groups(rs)) {
    std::vector<std::size_t> members{g.primary};
    members.insert(members.end(), g.others.begin(), g.others.end());
    out.push_back(members);
  }
  return out;
}

using Groups = std::vector<std::vector<std::size_t>>;

}  // namespace

TEST_CASE("observations group on a code in common, the same value and the same minute") {
  const std::vector<StoredResource> rs{
      stored("Observation", "a", glucose("a", "2024-05-01T10:30:00Z")),
      // Same instant written with an offset and seconds: same minute in UTC.
      stored("Observation", "b", glucose("b", "2024-05-01T06:30:41-04:00")),
      stored("Observation", "c", glucose("c", "2024-05-01T10:31:00Z")),  // another minute
      stored("Observation", "d", glucose("d", "2024-05-01T10:30:00Z",
                                         R"({"value":96,"unit":"mg/dL"})")),  // another value
      stored("Observation", "e", glucose("e", "2024-05-01T10:30:00Z",
                                         R"({"value":95.0,"unit":"mg/dL"})")),  // unit text only
      stored("Observation", "f", glucose("f", "2024-05-01T10:30:00Z",
                                         R"({"value":95,"unit":"mmol/L"})")),  // another unit
      stored("Observation", "g",
             observation("g", R"({"system":"http://loinc.org","code":"2339-0"})",
                         R"("valueQuantity":)" + kMgDl, "2024-05-01T10:30:00Z")),  // other code
  };
  CHECK(groups_of(rs) == Groups{{0, 1, 4}});
}

TEST_CASE("observation values: codeable concept, string, other types, components") {
  const std::string pos = R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"10828004"}]})";
  const std::string neg = R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]})";
  const std::string t = "2024-05-01T10:30:00Z";
  const std::vector<StoredResource> rs{
      stored("Observation", "a", observation("a", kLoinc, pos, t)),
      stored("Observation", "b", observation("b", kLoinc, pos, t)),
      stored("Observation", "c", observation("c", kLoinc, neg, t)),
      stored("Observation", "d", observation("d", kLoinc, R"("valueString":"trace")", t)),
      stored("Observation", "e", observation("e", kLoinc, R"("valueString":"trace")", t)),
      stored("Observation", "f", observation("f", kLoinc, R"("valueString":"Trace")", t)),
      stored("Observation", "g", observation("g", kLoinc, R"("valueBoolean":true)", t)),
      stored("Observation", "h", observation("h", kLoinc, R"("valueBoolean":true)", t)),
      stored("Observation", "i", observation("i", kLoinc, R"("valueBoolean":false)", t)),
      // No value at all: nothing to compare, never grouped.
      stored("Observation", "j", observation("j", kLoinc, R"("note":[])", t)),
      stored("Observation", "k", observation("k", kLoinc, R"("note":[])", t)),
  };
  CHECK(groups_of(rs) == Groups{{0, 1}, {3, 4}, {6, 7}});

  auto bp = [&](const std::string& id, int systolic, bool swapped) {
    const std::string sys = R"({"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":)" +
                            std::to_string(systolic) + R"(,"unit":"mm[Hg]"}})";
    const std::string dia = R"({"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]"}})";
    return observation(id, R"({"system":"http://loinc.org","code":"85354-9"})",
                       R"("component":[)" + (swapped ? dia + "," + sys : sys + "," + dia) + "]", t);
  };
  const std::vector<StoredResource> pressures{stored("Observation", "a", bp("a", 120, false)),
                                              stored("Observation", "b", bp("b", 120, true)),
                                              stored("Observation", "c", bp("c", 130, false))};
  CHECK(groups_of(pressures) == Groups{{0, 1}});
}

TEST_CASE("entered-in-error, cancelled and time-less resources are never grouped") {
  std::string wrong = glucose("b");
  wrong.replace(wrong.find("final"), 5, "entered-in-error");
  std::string timeless = glucose("c");
  timeless.replace(timeless.find("effectiveDateTime"), 17, "issued");
  const std::vector<StoredResource> rs{stored("Observation", "a", glucose("a")),
                                       stored("Observation", "b", wrong),
                                       stored("Observation", "c", timeless),
                                       stored("Immunization", "i", immunization("i", "140", "2024-01-02", "entered-in-error")),
                                       stored("Immunization", "j", immunization("j", "140", "2024-01-02"))};
  CHECK(groups_of(rs).empty());
}

TEST_CASE("immunizations group on a vaccine coding, the same day and the same status") {
  const std::vector<StoredResource> rs{
      stored("Immunization", "a", immunization("a", "140", "2024-10-02T09:00:00-05:00")),
      stored("Immunization", "b", immunization("b", "140", "2024-10-02")),
      stored("Immunization", "c", immunization("c", "140", "2024-10-03")),
      stored("Immunization", "d", immunization("d", "141", "2024-10-02")),
      stored("Immunization", "e", immunization("e", "140", "2024-10-02", "not-done")),
  };
  CHECK(groups_of(rs) == Groups{{0, 1}});
}

TEST_CASE("allergies group on a code in common and the same onset or recorded day") {
  const std::vector<StoredResource> rs{
      stored("AllergyIntolerance", "a", allergy("a", kPeanutSnomed, R"(,"onsetDateTime":"2010-03-04")")),
      stored("AllergyIntolerance", "b", allergy("b", kPeanutRxnorm + "," + kPeanutSnomed)),
      stored("AllergyIntolerance", "c", allergy("c", kPeanutSnomed, R"(,"onsetDateTime":"2011-01-01")")),
      stored("AllergyIntolerance", "d", allergy("d", kPeanutRxnorm)),
      stored("AllergyIntolerance", "e",
             allergy("e", kPeanutSnomed,
                     R"(,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"refuted"}]})")),
  };
  // b has no onset so it matches a; c's onset differs from a's; d shares no code with a.
  CHECK(groups_of(rs) == Groups{{0, 1}});

  const std::vector<StoredResource> recorded{
      stored("AllergyIntolerance", "a", allergy("a", kPeanutSnomed, R"(,"recordedDate":"2020-01-01T10:00:00Z")")),
      stored("AllergyIntolerance", "b", allergy("b", kPeanutSnomed, R"(,"recordedDate":"2020-01-01")")),
      stored("AllergyIntolerance", "c", allergy("c", kPeanutSnomed, R"(,"recordedDate":"2021-01-01")"))};
  CHECK(groups_of(recorded) == Groups{{0, 1}});
}

TEST_CASE("the primary is the earliest stored; same-source repeats group too; others untouched") {
  const std::vector<StoredResource> rs{
      stored("Observation", "late", glucose("late"), "2024-06-02T00:00:00.000Z"),
      stored("Provenance", "p", R"({"resourceType":"Provenance","id":"p"})"),
      stored("Observation", "early", glucose("early"), "2024-06-01T00:00:00.000Z"),
      stored("Observation", "again", glucose("again"), "2024-06-01T00:00:00.000Z"),
  };
  auto groups = find_same_fact_groups(rs);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].primary == 2);
  CHECK(groups[0].others == std::vector<std::size_t>{0, 3});

  auto presented = present_same_facts_once(rs);
  REQUIRE(presented.size() == 2);
  CHECK(presented[0].id == "p");
  CHECK(presented[0].json == rs[1].json);
  CHECK(presented[1].id == "early");
  rapidjson::Document doc;
  doc.Parse(presented[1].json.c_str());
  REQUIRE(doc.HasMember("extension"));
  REQUIRE(doc["extension"].Size() == 2);
  CHECK(std::string(doc["extension"][0]["valueReference"]["reference"].GetString()) == "Observation/late");
  CHECK(std::string(doc["extension"][1]["valueReference"]["reference"].GetString()) == "Observation/again");
}

TEST_CASE("the extension is appended to an existing extension array") {
  const std::string json = R"({"resourceType":"Observation","extension":[{"url":"http://x","valueString":"y"}]})";
  rapidjson::Document doc;
  const std::string out = with_same_fact_extension(json, {"Observation/o2"});
  doc.Parse(out.c_str());
  REQUIRE(doc["extension"].Size() == 2);
  CHECK(std::string(doc["extension"][0]["url"].GetString()) == "http://x");
  const auto& ext = doc["extension"][1];
  CHECK(ext.MemberCount() == 2);
  CHECK(std::string(ext["url"].GetString()) == kSameFactExtensionUrl);
  CHECK(ext["valueReference"].MemberCount() == 1);
  CHECK(std::string(ext["valueReference"]["reference"].GetString()) == "Observation/o2");
  CHECK(with_same_fact_extension("not json", {"Observation/o2"}) == "not json");
}

// ---- $everything?_dedup over a real store ----------------------------------------------------

namespace {

Request get(std::vector<std::pair<std::string, std::string>> query = {}) {
  Request req;
  req.method = "GET";
  req.path = "/fhir/Patient/p1/$everything";
  req.target = req.path;
  req.query = std::move(query);
  return req;
}

FhirResource owned(const std::string& type, const std::string& id, std::string json) {
  FhirResource r;
  r.type = type;
  r.id = id;
  r.person_id = "p1";
  r.json = std::move(json);
  return r;
}

FhirResource provenance(const std::string& id, const std::string& hospital,
                        const std::vector<std::string>& targets) {
  std::string json = R"({"resourceType":"Provenance","id":")" + id + R"(","target":[)";
  for (std::size_t i = 0; i < targets.size(); ++i)
    json += (i ? "," : "") + std::string(R"({"reference":")") + targets[i] + "\"}";
  json += R"(],"recorded":"2024-06-01T00:00:00Z","agent":[{"who":{"display":")" + hospital + "\"}}]}";
  return owned("Provenance", id, json);
}

struct TwoHospitals {
  phrgate::testing::TempDir dir;
  std::unique_ptr<phrgate::store::PhrStore> store =
      phrgate::store::open_sqlite_store(dir.file("phr.db"));
  FhirReadApi api{*store, FhirReadApiOptions{"", "0.1.0", 50, 1000}};

  TwoHospitals() {
    FhirResource patient = owned("Patient", "p1", R"({"resourceType":"Patient","id":"p1"})");
    // Hospital A, then hospital B: the same glucose, flu shot and peanut allergy, plus one
    // glucose each that is not the same fact (another value, another minute).
    store->write({patient,
                  owned("Observation", "a-glu", glucose("a-glu")),
                  owned("Observation", "a-glu2", glucose("a-glu2", "2024-05-02T08:00:00Z")),
                  owned("Immunization", "a-flu", immunization("a-flu", "140", "2024-10-02T09:00:00Z")),
                  owned("AllergyIntolerance", "a-pea", allergy("a-pea", kPeanutSnomed)),
                  provenance("a-prov", "Hospital A",
                             {"Observation/a-glu", "Observation/a-glu2", "Immunization/a-flu",
                              "AllergyIntolerance/a-pea"})});
    store->write({owned("Observation", "b-glu", glucose("b-glu", "2024-05-01T12:30:10+02:00")),
                  owned("Observation", "b-glu2", glucose("b-glu2", "2024-05-02T08:00:00Z",
                                                         R"({"value":101,"unit":"mg/dL"})")),
                  owned("Observation", "b-glu3", glucose("b-glu3", "2024-05-02T08:01:00Z")),
                  owned("Immunization", "b-flu", immunization("b-flu", "140", "2024-10-02")),
                  owned("AllergyIntolerance", "b-pea", allergy("b-pea", kPeanutRxnorm + "," + kPeanutSnomed)),
                  provenance("b-prov", "Hospital B",
                             {"Observation/b-glu", "Observation/b-glu2", "Observation/b-glu3",
                              "Immunization/b-flu", "AllergyIntolerance/b-pea"})});
  }
};

rapidjson::Document bundle(const phrgate::http::Response& res) {
  REQUIRE(res.status == 200);
  rapidjson::Document doc;
  doc.Parse(res.body.c_str(), res.body.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::vector<std::string> urls(const rapidjson::Document& b) {
  std::vector<std::string> out;
  if (b.HasMember("entry"))
    for (const auto& e : b["entry"].GetArray()) out.emplace_back(e["fullUrl"].GetString());
  return out;
}

const rapidjson::Value* entry(const rapidjson::Document& b, const std::string& url) {
  for (const auto& e : b["entry"].GetArray())
    if (url == e["fullUrl"].GetString()) return &e["resource"];
  return nullptr;
}

std::vector<std::string> same_fact_refs(const rapidjson::Value& resource) {
  std::vector<std::string> out;
  if (!resource.HasMember("extension")) return out;
  for (const auto& ext : resource["extension"].GetArray()) {
    REQUIRE(ext.IsObject());
    REQUIRE(ext.HasMember("url"));
    if (kSameFactExtensionUrl != ext["url"].GetString()) continue;
    // A valid FHIR extension: url plus exactly one value[x], here a Reference.
    CHECK(ext.MemberCount() == 2);
    REQUIRE(ext["valueReference"].IsObject());
    out.emplace_back(ext["valueReference"]["reference"].GetString());
  }
  return out;
}

std::string link(const rapidjson::Document& b, const std::string& relation) {
  for (const auto& l : b["link"].GetArray())
    if (relation == l["relation"].GetString()) return l["url"].GetString();
  return {};
}

}  // namespace

TEST_CASE_METHOD(TwoHospitals, "without _dedup every record of both hospitals is served") {
  for (auto query : {std::vector<std::pair<std::string, std::string>>{},
                     std::vector<std::pair<std::string, std::string>>{{"_dedup", "false"}}}) {
    auto doc = bundle(api.everything(get(query), "p1"));
    CHECK(doc["total"].GetInt64() == 12);
    const auto all = urls(doc);
    CHECK(all.size() == 12);
    for (const auto& url : all) CHECK(same_fact_refs(*entry(doc, url)).empty());
  }
}

TEST_CASE_METHOD(TwoHospitals, "_dedup=true presents each same fact once with both sources") {
  auto doc = bundle(api.everything(get({{"_dedup", "true"}}), "p1"));
  CHECK(doc["total"].GetInt64() == 9);
  CHECK(urls(doc) == std::vector<std::string>{
                         "Patient/p1", "AllergyIntolerance/a-pea", "Immunization/a-flu",
                         "Observation/a-glu", "Observation/a-glu2", "Observation/b-glu2",
                         "Observation/b-glu3", "Provenance/a-prov", "Provenance/b-prov"});
  CHECK(same_fact_refs(*entry(doc, "Observation/a-glu")) ==
        std::vector<std::string>{"Observation/b-glu"});
  CHECK(same_fact_refs(*entry(doc, "Immunization/a-flu")) ==
        std::vector<std::string>{"Immunization/b-flu"});
  CHECK(same_fact_refs(*entry(doc, "AllergyIntolerance/a-pea")) ==
        std::vector<std::string>{"AllergyIntolerance/b-pea"});
  // Another value (b-glu2) or another minute (b-glu3): kept, unmarked.
  for (const char* kept : {"Observation/a-glu2", "Observation/b-glu2", "Observation/b-glu3"})
    CHECK(same_fact_refs(*entry(doc, kept)).empty());
  // The marked resource is still the stored one, with its meta.
  CHECK(std::string((*entry(doc, "Observation/a-glu"))["meta"]["versionId"].GetString()) == "1");
  // Both sources stay visible: each Provenance is served, naming its own records.
  CHECK(std::string((*entry(doc, "Provenance/b-prov"))["target"][0]["reference"].GetString()) ==
        "Observation/b-glu");
}

TEST_CASE_METHOD(TwoHospitals, "_dedup pages over the presented entries with consistent totals") {
  std::vector<std::string> paged;
  std::string next = "first";
  int64_t offset = 0;
  while (!next.empty()) {
    auto doc = bundle(api.everything(
        get({{"_dedup", "true"}, {"_count", "4"}, {"_offset", std::to_string(offset)}}), "p1"));
    CHECK(doc["total"].GetInt64() == 9);
    for (auto& u : urls(doc)) paged.push_back(u);
    next = link(doc, "next");
    if (!next.empty()) CHECK(next == "/fhir/Patient/p1/$everything?_dedup=true&_count=4&_offset=" +
                                         std::to_string(offset + 4));
    offset += 4;
    REQUIRE(offset <= 12);
  }
  CHECK(paged == urls(bundle(api.everything(get({{"_dedup", "true"}}), "p1"))));

  auto beyond = bundle(api.everything(get({{"_dedup", "true"}, {"_offset", "50"}}), "p1"));
  CHECK(beyond["total"].GetInt64() == 9);
  CHECK(urls(beyond).empty());
  auto only_total = bundle(api.everything(get({{"_dedup", "true"}, {"_count", "0"}}), "p1"));
  CHECK(only_total["total"].GetInt64() == 9);
  CHECK(urls(only_total).empty());
}

TEST_CASE_METHOD(TwoHospitals, "_dedup accepts only true or false, once") {
  CHECK(api.everything(get({{"_dedup", "yes"}}), "p1").status == 400);
  CHECK(api.everything(get({{"_dedup", "true"}, {"_dedup", "true"}}), "p1").status == 400);
  auto meta = api.metadata(get());
  CHECK(meta.body.find("_dedup") != std::string::npos);
  CHECK(meta.body.find(std::string(kSameFactExtensionUrl)) != std::string::npos);
}
