// Entry fidelity of the C-CDA converter (issue 4): every coded fact of an entry reaches the
// FHIR output: problem-type codes as categories, the concern's dates, nested observations
// (age at onset, allergy-level severity) as Observations about their resource, indications,
// instructions, supply orders and dispenses, devices used, anesthesia and complications
// sections. Fixture: fixtures/entries_sections.xml spliced into the shared fictional header.
#include <catch2/catch.hpp>

#include "tests/adapters/ccda/ccda_test_support.h"

using namespace phrgate::ccda;
using test::json_of;

namespace {

using Converted = test::ConvertedDoc;
using test::str;

Converted run_entries() { return test::convert_clean(test::document_around(test::fixture("entries_sections.xml"))); }

// True when some coding in `v` (any depth) has this system and code.
bool has_coding(const rapidjson::Value& v, const std::string& system, const std::string& code) {
  if (v.IsObject()) {
    if (str(v, "system") == system && str(v, "code") == code) return true;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
      if (has_coding(it->value, system, code)) return true;
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray())
      if (has_coding(e, system, code)) return true;
  }
  return false;
}

std::string ref_to(const rapidjson::Document& d) {
  return std::string(d["resourceType"].GetString()) + "/" + d["id"].GetString();
}

// The Observations whose focus is `target`.
std::vector<const rapidjson::Document*> about(const Converted& c, const std::string& target) {
  std::vector<const rapidjson::Document*> out;
  for (const auto* o : c.p.all("Observation"))
    if (o->HasMember("focus") && str((*o)["focus"][0], "reference") == target) out.push_back(o);
  return out;
}

constexpr const char* kSnomed = "http://snomed.info/sct";
constexpr const char* kLoinc = "http://loinc.org";

}  // namespace

TEST_CASE("problems: observation code as category, concern dates, age at onset kept", "[ccda][fidelity]") {
  auto c = run_entries();
  const auto* cond = c.p.find("Condition", "233604007");
  REQUIRE(cond);
  const auto& k = *cond;
  REQUIRE(k["category"].Size() == 2);
  CHECK(str(k["category"][0]["coding"][0], "code") == "problem-list-item");
  CHECK(has_coding(k["category"][1], kSnomed, "282291009"));
  CHECK(has_coding(k["category"][1], kLoinc, "29308-4"));  // the translation too
  CHECK_FALSE(json_of(k).find("CONC") != std::string::npos);  // ActClass is not a category
  CHECK(str(k["extension"][0], "url") == "http://hl7.org/fhir/StructureDefinition/condition-assertedDate");
  CHECK(str(k["extension"][0], "valueDateTime") == "2019-03-01");
  CHECK(str(k["clinicalStatus"]["coding"][0], "code") == "resolved");
  CHECK(str(k, "abatementDateTime") == "2020-01-15");  // the completed concern's end
  CHECK(str(k, "onsetDateTime") == "2019-02-15");
  const auto related = about(c, ref_to(k));
  REQUIRE(related.size() == 1);
  CHECK(has_coding((*related[0])["code"], kSnomed, "445518008"));
  CHECK((*related[0])["valueQuantity"]["value"].GetDouble() == 41);
  CHECK(str((*related[0])["valueQuantity"], "unit") == "a");
}

TEST_CASE("allergies: concern start as assertedDate, allergy-level severity kept", "[ccda][fidelity]") {
  auto c = run_entries();
  const auto* a = c.p.find("AllergyIntolerance", "2670");
  REQUIRE(a);
  CHECK(str((*a)["extension"][0], "url") == "http://hl7.org/fhir/StructureDefinition/allergyintolerance-assertedDate");
  CHECK(str((*a)["extension"][0], "valueDateTime") == "2017-02-03T10:00:00-05:00");
  REQUIRE((*a)["reaction"].Size() == 1);
  CHECK(str((*a)["reaction"][0], "severity") == "mild");  // the reaction's own severity wins
  const auto related = about(c, ref_to(*a));
  REQUIRE(related.size() == 1);  // the allergy's own severity, which R4 has no element for
  CHECK(has_coding((*related[0])["valueCodeableConcept"], kSnomed, "24484000"));
}

TEST_CASE("allergies: a severity beside the allergy observation is not an allergy", "[ccda][fidelity]") {
  auto c = run_entries();
  REQUIRE(c.p.count("AllergyIntolerance") == 2);
  CHECK_FALSE(c.p.find("AllergyIntolerance", "6736007"));
  const auto* a = c.p.find("AllergyIntolerance", "7980");
  REQUIRE(a);
  CHECK(str((*a)["reaction"][0], "severity") == "moderate");  // it characterizes the allergy
  const auto related = about(c, ref_to(*a));
  REQUIRE(related.size() == 1);
  CHECK(has_coding((*related[0])["valueCodeableConcept"], kSnomed, "6736007"));
}

TEST_CASE("medications: indication, instruction, rate, supply order and dispense", "[ccda][fidelity]") {
  auto c = run_entries();
  const auto* ms = c.p.find("MedicationStatement", "197361");
  REQUIRE(ms);
  const auto& m = *ms;
  CHECK(has_coding(m["reasonCode"], kSnomed, "38341003"));
  REQUIRE(m.HasMember("reasonReference"));
  const std::string indication_ref = str(m["reasonReference"][0], "reference");
  const auto* indication = c.p.find("Observation", "75321-0");
  REQUIRE(indication);
  CHECK(indication_ref == ref_to(*indication));
  CHECK_FALSE(indication->HasMember("effectiveDateTime"));  // IVL low only -> a period
  CHECK(str((*indication)["effectivePeriod"], "start") == "2020-01-05");
  const auto& dosage = m["dosage"][0];
  CHECK(has_coding(dosage["additionalInstruction"], kSnomed, "311504000"));
  CHECK(str(dosage, "patientInstruction") == "Take with breakfast");
  CHECK(dosage["doseAndRate"][0]["rateQuantity"]["value"].GetDouble() == 25);
  CHECK(str(dosage["doseAndRate"][0]["rateQuantity"], "unit") == "mL/h");

  const auto* order = c.p.find("MedicationRequest", "33333333-0000-4000-8000-000000000003");
  REQUIRE(order);
  CHECK(str(*order, "intent") == "order");
  CHECK(str(*order, "status") == "completed");
  CHECK(has_coding((*order)["medicationCodeableConcept"], "http://www.nlm.nih.gov/research/umls/rxnorm", "197361"));
  CHECK((*order)["dispenseRequest"]["numberOfRepeatsAllowed"].GetInt() == 3);
  CHECK((*order)["dispenseRequest"]["quantity"]["value"].GetDouble() == 30);
  CHECK(str((*order)["dispenseRequest"]["validityPeriod"], "end") == "2021-01-10");
  CHECK(str(m["basedOn"][0], "reference") == ref_to(*order));

  const auto* dispense = c.p.one("MedicationDispense");
  REQUIRE(dispense);
  CHECK(str(*dispense, "status") == "completed");
  CHECK(str(*dispense, "whenHandedOver") == "2020-01-11");
  CHECK((*dispense)["quantity"]["value"].GetDouble() == 30);
  CHECK(str(m["partOf"][0], "reference") == ref_to(*dispense));

  const auto* monitoring = c.p.find("ServiceRequest", "395170001");
  REQUIRE(monitoring);
  CHECK(str(*monitoring, "intent") == "plan");
  CHECK(str(*monitoring, "status") == "active");
  CHECK(str((*monitoring)["occurrencePeriod"], "end") == "2020-07-10");
  CHECK(str((*monitoring)["supportingInfo"][0], "reference") == ref_to(m));

  // CCD 1.0 / C32 products (manufacturedLabeledDrug) are medications too.
  CHECK(c.p.find("MedicationStatement", "310965"));
}

TEST_CASE("discharge medications: the wrapping act's code is the category", "[ccda][fidelity]") {
  auto c = run_entries();
  const auto* m = c.p.find("MedicationStatement", "308182");
  REQUIRE(m);
  CHECK(has_coding((*m)["category"], kLoinc, "75311-1"));
  CHECK(str(*m, "status") == "active");
}

TEST_CASE("anesthesia and complications sections: procedures, medications, conditions", "[ccda][fidelity]") {
  auto c = run_entries();
  const auto* proc = c.p.find("Procedure", "50697003");
  REQUIRE(proc);
  CHECK(has_coding((*proc)["usedCode"], kSnomed, "40388003"));
  CHECK(has_coding((*proc)["usedCode"], kSnomed, "14106009"));  // a product instance listed as LOC
  CHECK(c.p.find("MedicationStatement", "8782"));  // a medication activity in a procedure section
  const auto* bleeding = c.p.find("Condition", "131148009");
  REQUIRE(bleeding);
  CHECK(has_coding((*bleeding)["category"], kSnomed, "55607006"));
  CHECK_FALSE(bleeding->HasMember("extension"));  // no concern act: no assertedDate
}
