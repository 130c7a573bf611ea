// Tests of the identity linker (the person index in the pipeline): records of one person from
// two hospitals end up under one PHR person whose Patient carries both hospitals' identifiers
// and whose references are rewritten; a doubtful match is held under its review item and
// released by take_held(); messages without a Patient pass untouched. Real SQLite files.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <string>

#include "gateway/core/resource_id.h"
#include "gateway/identity/identity_linker.h"
#include "tests/gateway/identity/identity_test_data.h"
#include "tests/support/temp_dir.h"

using namespace phrgate;
using phrgate::testing::TempDir;

namespace {

// A converted message as the HL7 converter makes it: Patient (id from its MRN) + Observation.
pipeline::ConvertedMessage message(const std::string& system, const std::string& mrn, const std::string& given,
                                   const std::string& family, const std::string& birth, const std::string& phone) {
  pipeline::ConvertedMessage m;
  m.ok = true;
  m.person_id = patient_resource_id(system, mrn);
  store::FhirResource p;
  p.type = "Patient";
  p.id = m.person_id;
  p.person_id = m.person_id;
  p.json = R"({"resourceType":"Patient","id":")" + p.id + R"(","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":")" +
           system + R"(","value":")" + mrn + R"("}],"name":[{"family":")" + family + R"(","given":[")" + given +
           R"("]}],"gender":"female","birthDate":")" + birth + R"(","telecom":[{"system":"phone","value":")" + phone +
           R"("}],"address":[{"line":["12 Elm Street"],"postalCode":"02139"}]})";
  p.identifiers = {{system, mrn}};
  m.resources.push_back(p);
  store::FhirResource o;
  o.type = "Observation";
  o.id = derive_resource_id("Observation", {system, mrn, "glucose"});
  o.person_id = m.person_id;
  o.json = R"({"resourceType":"Observation","id":")" + o.id + R"(","subject":{"reference":"Patient/)" + m.person_id + R"("}})";
  m.resources.push_back(o);
  return m;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE(d.IsObject());
  return d;
}

}  // namespace

TEST_CASE("one person from two hospitals: one Patient with both identifiers", "[identity_linker]") {
  TempDir dir;
  auto index = identity::PersonIndex::open(dir.file("identity.db"), identity::test::default_settings());
  identity::IdentityLinker linker(*index, dir.file("identity.db"));

  auto a = message("urn:oid:1.2.3.1", "A-100", "Margaret", "Holloway", "1961-04-12", "+1 617 555 0101");
  REQUIRE(linker.resolve(a, 1, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  const std::string person = a.person_id;
  // A person created for an identifier keeps the Patient id the converters give it.
  CHECK(person == patient_resource_id("urn:oid:1.2.3.1", "A-100"));
  CHECK(a.resources[0].id == person);
  CHECK(a.resources[1].person_id == person);
  CHECK(a.resources[1].json.find("Patient/" + person) != std::string::npos);

  auto b = message("urn:oid:9.9.9", "B-7", "Margaret", "Holloway", "1961-04-12", "+1 617 555 0101");
  REQUIRE(linker.resolve(b, 2, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  CHECK(b.person_id == person);  // the same person
  const auto& patient = b.resources[0];
  CHECK(patient.id == person);
  CHECK_FALSE(patient.only_if_absent);
  auto doc = parse(patient.json);
  REQUIRE(doc["identifier"].Size() == 2);
  std::vector<std::string> values;
  for (const auto& i : doc["identifier"].GetArray()) values.emplace_back(i["value"].GetString());
  CHECK((values == std::vector<std::string>{"B-7", "A-100"}));
  CHECK(patient.identifiers.size() == 2);
  CHECK(b.resources[1].json.find(patient_resource_id("urn:oid:9.9.9", "B-7")) == std::string::npos);
}

TEST_CASE("a doubtful match is held under its review item and released by take_held", "[identity_linker]") {
  TempDir dir;
  auto settings = identity::test::default_settings();
  settings.upper_threshold = 200.0;  // nothing links automatically: a close match goes to review
  auto index = identity::PersonIndex::open(dir.file("identity.db"), settings);
  identity::IdentityLinker linker(*index, dir.file("identity.db"));
  auto a = message("urn:oid:1.2.3.1", "A-200", "Robert", "Quinlan", "1975-09-03", "+1 617 555 0199");
  REQUIRE(linker.resolve(a, 10, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  auto b = message("urn:oid:9.9.9", "B-300", "Robert", "Quinlan", "1975-09-03", "+1 617 555 0199");
  const auto decision = linker.resolve(b, 11, "ORU^R01");
  REQUIRE(decision.kind == pipeline::PersonDecision::Kind::Hold);
  CHECK(decision.review_id > 0);
  CHECK(decision.reason.find("identity review") != std::string::npos);
  CHECK(decision.reason.find("Quinlan") == std::string::npos);
  // A second message for the held identifier waits under the same review.
  auto b2 = b;
  CHECK(linker.resolve(b2, 12, "ORU^R01").review_id == decision.review_id);
  CHECK(linker.take_held(decision.review_id) == std::vector<int64_t>{11, 12});
  CHECK(linker.take_held(decision.review_id).empty());

  // Once linked by an operator, the identifier's messages go to that person.
  REQUIRE(index->link(decision.review_id, a.person_id, "ops").status == identity::ActionStatus::Ok);
  auto b3 = b;
  REQUIRE(linker.resolve(b3, 13, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  CHECK(b3.person_id == a.person_id);
}

TEST_CASE("messages without a Patient pass untouched", "[identity_linker]") {
  TempDir dir;
  auto index = identity::PersonIndex::open(dir.file("identity.db"), identity::test::default_settings());
  identity::IdentityLinker linker(*index, dir.file("identity.db"));
  pipeline::ConvertedMessage m;
  m.person_id = "p-none";
  store::FhirResource o;
  o.type = "Observation";
  o.id = "o1";
  o.person_id = "p-none";
  o.json = R"({"resourceType":"Observation","id":"o1"})";
  m.resources.push_back(o);
  CHECK(linker.resolve(m, 1, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  CHECK(m.person_id == "p-none");
  CHECK(m.resources[0].json == o.json);
}

TEST_CASE("ADT^A40: the prior identifier's person is merged into the surviving one", "[identity_linker]") {
  TempDir dir;
  auto index = identity::PersonIndex::open(dir.file("identity.db"), identity::test::default_settings());
  std::vector<std::pair<std::string, std::string>> merges;
  identity::IdentityEffects effects;
  effects.persons_merged = [&](const std::string& from, const std::string& to) { merges.emplace_back(from, to); };
  identity::IdentityLinker linker(*index, dir.file("identity.db"), effects);
  // Two records the hospital later finds to be one patient (different names: no auto link).
  auto old_rec = message("urn:oid:1.2.3.1", "OLD-1", "Tamsin", "Crowe", "1990-01-01", "+1 617 555 0111");
  auto new_rec = message("urn:oid:1.2.3.1", "NEW-1", "Anneliese", "Brightwater", "1972-06-30", "+1 212 555 0999");
  REQUIRE(linker.resolve(old_rec, 1, "ADT^A01").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(linker.resolve(new_rec, 2, "ADT^A01").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(old_rec.person_id != new_rec.person_id);

  // The A40: PID = the surviving NEW-1, MRG-1 = OLD-1 (its Patient carries a replaced-by link).
  auto a40 = message("urn:oid:1.2.3.1", "NEW-1", "Anneliese", "Brightwater", "1972-06-30", "+1 212 555 0999");
  store::FhirResource prior;
  prior.type = "Patient";
  prior.id = patient_resource_id("urn:oid:1.2.3.1", "OLD-1");
  prior.person_id = prior.id;
  prior.json = R"({"resourceType":"Patient","id":")" + prior.id +
               R"(","identifier":[{"system":"urn:oid:1.2.3.1","value":"OLD-1"}],"active":false,"link":[{"other":{"reference":"Patient/)" +
               a40.person_id + R"("},"type":"replaced-by"}]})";
  a40.resources.push_back(prior);
  REQUIRE(linker.resolve(a40, 3, "ADT^A40").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(merges.size() == 1);
  CHECK(merges[0].first == old_rec.person_id);
  CHECK(merges[0].second == new_rec.person_id);
  CHECK(index->person_of({"urn:oid:1.2.3.1", "OLD-1"}) == new_rec.person_id);
  for (const auto& r : a40.resources) CHECK_FALSE((r.type == "Patient" && r.id == prior.id));  // not written again
  // The surviving Patient now lists both identifiers.
  for (const auto& r : a40.resources)
    if (r.type == "Patient") CHECK(r.json.find("OLD-1") != std::string::npos);
}

TEST_CASE("ADT^A08: only that identifier's link is re-evaluated, and moved when it no longer fits", "[identity_linker]") {
  TempDir dir;
  auto index = identity::PersonIndex::open(dir.file("identity.db"), identity::test::default_settings());
  std::vector<std::string> moves;
  identity::IdentityEffects effects;
  effects.identifier_moved = [&](const identity::SourceIdentifier& id, const std::string& from, const std::string& to) {
    moves.push_back(id.value + ":" + from + "->" + to);
  };
  identity::IdentityLinker linker(*index, dir.file("identity.db"), effects);
  auto a = message("urn:oid:1.2.3.1", "A-100", "Margaret", "Holloway", "1961-04-12", "+1 617 555 0101");
  auto b = message("urn:oid:9.9.9", "B-7", "Margaret", "Holloway", "1961-04-12", "+1 617 555 0101");
  REQUIRE(linker.resolve(a, 1, "ADT^A01").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(linker.resolve(b, 2, "ADT^A01").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(a.person_id == b.person_id);

  // An A08 from hospital B that describes an entirely different person: B-7 was linked wrongly.
  auto update = message("urn:oid:9.9.9", "B-7", "Theodore", "Quarrington", "2001-11-23", "+1 503 555 0177");
  REQUIRE(linker.resolve(update, 3, "ADT^A08").kind == pipeline::PersonDecision::Kind::Proceed);
  REQUIRE(moves.size() == 1);
  CHECK(update.person_id != a.person_id);
  CHECK(index->person_of({"urn:oid:9.9.9", "B-7"}) == update.person_id);
  CHECK(index->person_of({"urn:oid:1.2.3.1", "A-100"}) == a.person_id);  // A's link untouched

  // A result message with the same demographics does not re-evaluate anything.
  auto oru = message("urn:oid:1.2.3.1", "A-100", "Someone", "Else", "1999-09-09", "+1 000 555 0000");
  REQUIRE(linker.resolve(oru, 4, "ORU^R01").kind == pipeline::PersonDecision::Kind::Proceed);
  CHECK(moves.size() == 1);
  CHECK(oru.person_id == a.person_id);
}
