// One test per C-CDA section family: the fictional CCD header with that section's fixture
// (fixtures/sections/*.xml), converted and checked field by field against what the section
// says. Every conversion also passes the structural checks (ccda_test_support.h).
#include <catch2/catch.hpp>

#include "tests/adapters/ccda/ccda_test_support.h"

using namespace phrgate::ccda;
using test::json_of;

namespace {

using Converted = test::ConvertedDoc;
using test::str;

Converted run(std::initializer_list<std::string> sections) { return test::convert_clean(test::document_with(sections)); }

std::string first_code(const rapidjson::Value& cc) {
  if (!cc.IsObject() || !cc.HasMember("coding")) return {};
  return str(cc["coding"][0], "code");
}

}  // namespace

TEST_CASE("allergies: allergen, reaction, severity, criticality, status", "[ccda][sections]") {
  auto c = run({"allergies"});
  REQUIRE(c.p.count("AllergyIntolerance") == 2);
  const auto* pen = c.p.find("AllergyIntolerance", "7980");
  REQUIRE(pen);
  const auto& a = *pen;
  CHECK(str(a["code"]["coding"][0], "system") == "http://www.nlm.nih.gov/research/umls/rxnorm");
  CHECK(str(a["code"], "text") == "Penicillin G");  // originalText through the narrative
  CHECK(first_code(a["clinicalStatus"]) == "active");
  CHECK(first_code(a["verificationStatus"]) == "confirmed");
  CHECK(str(a, "type") == "allergy");
  CHECK(std::string(a["category"][0].GetString()) == "medication");
  CHECK(str(a, "criticality") == "high");
  CHECK(str(a, "onsetDateTime") == "2009-05-15");
  CHECK(str(a, "recordedDate") == "2010-01-03");
  REQUIRE(a["reaction"].Size() == 1);
  CHECK(first_code(a["reaction"][0]["manifestation"][0]) == "247472004");
  CHECK(str(a["reaction"][0]["manifestation"][0], "text") == "Hives");
  CHECK(str(a["reaction"][0], "severity") == "moderate");
  CHECK(str(a["patient"], "reference") == "Patient/" + c.msg.person_id);
  CHECK(a.HasMember("recorder"));

  const auto* peanut = c.p.find("AllergyIntolerance", "256349002");
  REQUIRE(peanut);
  CHECK(first_code((*peanut)["clinicalStatus"]) == "resolved");  // effectiveTime high
  CHECK(std::string((*peanut)["category"][0].GetString()) == "food");
  CHECK_FALSE(peanut->HasMember("reaction"));
}

TEST_CASE("allergies: negated observation without allergen is 'no known allergy'", "[ccda][sections]") {
  auto c = run({"no_known_allergies"});
  const auto* a = c.p.one("AllergyIntolerance");
  REQUIRE(a);
  CHECK(first_code((*a)["code"]) == "716186003");
  CHECK(first_code((*a)["verificationStatus"]) == "confirmed");
  CHECK_FALSE(a->HasMember("onsetDateTime"));  // nullFlavor NA: nothing invented
}

TEST_CASE("medications: statement and request, dose, route, timing, codes", "[ccda][sections]") {
  auto c = run({"medications"});
  const auto* ms = c.p.one("MedicationStatement");
  REQUIRE(ms);
  const auto& s = *ms;
  CHECK(str(s, "status") == "active");
  const auto& med = s["medicationCodeableConcept"];
  REQUIRE(med["coding"].Size() == 2);
  CHECK(str(med["coding"][0], "code") == "314076");
  CHECK(str(med["coding"][1], "system") == "http://hl7.org/fhir/sid/ndc");
  CHECK(str(med, "text") == "Lisinopril 10 MG Oral Tablet");
  CHECK(str(s["effectivePeriod"], "start") == "2023-01-10");
  const auto& dose = s["dosage"][0];
  CHECK(str(dose, "text") == "Take 1 tablet by mouth daily");
  CHECK(dose["timing"]["repeat"]["period"].GetInt() == 24);
  CHECK(str(dose["timing"]["repeat"], "periodUnit") == "h");
  CHECK(first_code(dose["route"]) == "C38288");
  CHECK(dose["doseAndRate"][0]["doseQuantity"]["value"].GetInt() == 1);
  CHECK(first_code(s["reasonCode"][0]) == "38341003");

  const auto* mr = c.p.one("MedicationRequest");
  REQUIRE(mr);
  CHECK(str(*mr, "status") == "active");
  CHECK(str(*mr, "intent") == "plan");
  const auto& di = (*mr)["dosageInstruction"][0];
  CHECK(std::string(di["timing"]["repeat"]["when"][0].GetString()) == "HS");
  CHECK(str(di["timing"]["repeat"]["boundsPeriod"], "end") == "2024-04-15");
  CHECK(di["doseAndRate"][0]["doseRange"]["high"]["value"].GetInt() == 2);
  CHECK(mr->HasMember("requester"));
  CHECK(str(*mr, "authoredOn") == "2024-03-15");
}

TEST_CASE("problems: codes, category, clinical status, negation", "[ccda][sections]") {
  auto c = run({"problems"});
  REQUIRE(c.p.count("Condition") == 3);
  const auto* htn = c.p.find("Condition", "59621000");
  REQUIRE(htn);
  CHECK(first_code((*htn)["clinicalStatus"]) == "active");
  CHECK(first_code((*htn)["category"][0]) == "problem-list-item");
  CHECK(str((*htn)["code"], "text") == "Essential hypertension");
  CHECK(str((*htn)["code"]["coding"][1], "system") == "http://hl7.org/fhir/sid/icd-10-cm");
  CHECK(str(*htn, "onsetDateTime") == "2018-06-01");
  const auto* pna = c.p.find("Condition", "385093006");
  REQUIRE(pna);
  CHECK(first_code((*pna)["clinicalStatus"]) == "resolved");
  CHECK(str(*pna, "abatementDateTime") == "2022-10-20");
  const auto* dm = c.p.find("Condition", "73211009");
  REQUIRE(dm);
  CHECK(first_code((*dm)["verificationStatus"]) == "refuted");
}

TEST_CASE("results: DiagnosticReport with typed observation values", "[ccda][sections]") {
  auto c = run({"results"});
  const auto* dr = c.p.one("DiagnosticReport");
  REQUIRE(dr);
  CHECK(str(*dr, "status") == "final");
  CHECK(first_code((*dr)["code"]) == "58410-2");
  CHECK(str((*dr)["effectivePeriod"], "start") == "2024-03-10T08:30:00-05:00");
  REQUIRE((*dr)["result"].Size() == 8);
  const auto* hgb = c.p.find("Observation", "718-7");
  REQUIRE(hgb);
  CHECK(first_code((*hgb)["category"][0]) == "laboratory");
  CHECK((*hgb)["valueQuantity"]["value"].GetDouble() == Approx(11.2));
  CHECK(str((*hgb)["valueQuantity"], "code") == "g/dL");
  CHECK(str((*hgb)["valueQuantity"], "system") == "http://unitsofmeasure.org");
  CHECK(first_code((*hgb)["interpretation"][0]) == "L");
  CHECK(str((*hgb)["interpretation"][0]["coding"][0], "system") ==
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  CHECK((*hgb)["referenceRange"][0]["low"]["value"].GetDouble() == Approx(12.0));
  CHECK(str((*hgb)["referenceRange"][0], "text") == "Hemoglobin 12.0-15.5 g/dL");
  CHECK(str(*hgb, "effectiveDateTime") == "2024-03-10T08:30:00-05:00");
  CHECK(str(*c.p.find("Observation", "5778-6"), "valueString") == "Yellow");
  CHECK(first_code((*c.p.find("Observation", "630-4"))["valueCodeableConcept"]) == "264868006");
  CHECK((*c.p.find("Observation", "11277-1"))["valueInteger"].GetInt() == 3);
  CHECK((*c.p.find("Observation", "5811-5"))["valueQuantity"]["value"].GetDouble() == Approx(1.015));
  CHECK((*c.p.find("Observation", "2888-6"))["valueRange"]["high"]["value"].GetInt() == 10);
  const auto* pending = c.p.find("Observation", "2345-7");
  CHECK(str(*pending, "status") == "preliminary");
  CHECK_FALSE(pending->HasMember("valueQuantity"));
  CHECK(first_code((*pending)["dataAbsentReason"]) == "unknown");
}

TEST_CASE("vital signs: category, LOINC codes, UCUM units, panel", "[ccda][sections]") {
  auto c = run({"vitals"});
  REQUIRE(c.p.count("Observation") == 5);
  const auto* sys = c.p.find("Observation", "8480-6");
  REQUIRE(sys);
  CHECK(first_code((*sys)["category"][0]) == "vital-signs");
  CHECK(str((*sys)["code"]["coding"][0], "system") == "http://loinc.org");
  CHECK(str((*sys)["valueQuantity"], "code") == "mm[Hg]");
  CHECK(str(*sys, "effectiveDateTime") == "2024-03-15T14:10:00-05:00");
  const auto* panel = c.p.find("Observation", "hasMember");
  REQUIRE(panel);
  CHECK((*panel)["hasMember"].Size() == 4);
  CHECK(str((*c.p.find("Observation", "29463-7"))["valueQuantity"], "unit") == "kg");
}

TEST_CASE("entries that reuse one id: kept apart by content; the same entry twice is one resource",
          "[ccda][sections]") {
  // Some senders (HL7's own vital-sign examples) give every observation the same id.
  const std::map<std::string, std::string> same_ids = {
      {"c6f88322-67ad-11db-bd13-0800200c9a66", "c6f88321-67ad-11db-bd13-0800200c9a66"},
      {"c6f88323-67ad-11db-bd13-0800200c9a66", "c6f88321-67ad-11db-bd13-0800200c9a66"}};
  const std::string reused = phrgate::ccda::test::document_with({"vitals"}, same_ids);
  auto a = phrgate::ccda::test::parse(phrgate::ccda::test::convert(reused));
  CHECK(a.count("Observation") == 5);  // nothing dropped
  auto b = phrgate::ccda::test::parse(phrgate::ccda::test::convert(reused));
  std::vector<std::string> ids_a, ids_b;
  for (const auto* o : a.all("Observation")) ids_a.emplace_back((*o)["id"].GetString());
  for (const auto* o : b.all("Observation")) ids_b.emplace_back((*o)["id"].GetString());
  CHECK(ids_a == ids_b);  // deterministic

  // One section listed twice (the same entries, same ids): each entry is written once.
  auto twice = phrgate::ccda::test::parse(phrgate::ccda::test::convert(phrgate::ccda::test::document_with({"vitals", "vitals"})));
  CHECK(twice.count("Observation") == 5);
}

TEST_CASE("immunizations: given and refused", "[ccda][sections]") {
  auto c = run({"immunizations"});
  REQUIRE(c.p.count("Immunization") == 2);
  const auto* flu = c.p.find("Immunization", "\"141\"");
  REQUIRE(flu);
  CHECK(str(*flu, "status") == "completed");
  CHECK(str((*flu)["vaccineCode"]["coding"][0], "system") == "http://hl7.org/fhir/sid/cvx");
  CHECK(str(*flu, "occurrenceDateTime") == "2023-10-15");
  CHECK(str(*flu, "lotNumber") == "FLU-LOT-123");
  CHECK(str((*flu)["manufacturer"], "display") == "Example Vaccines Inc.");
  CHECK((*flu)["doseQuantity"]["value"].GetDouble() == Approx(0.5));
  CHECK(first_code((*flu)["site"]) == "368208006");
  CHECK((*flu)["performer"][0]["actor"].HasMember("reference"));
  CHECK(c.p.find("Practitioner", "2223334445"));
  const auto* refused = c.p.find("Immunization", "\"33\"");
  REQUIRE(refused);
  CHECK(str(*refused, "status") == "not-done");
  CHECK(first_code((*refused)["statusReason"]) == "PATOBJ");
}

TEST_CASE("procedures: procedure and observation entries", "[ccda][sections]") {
  auto c = run({"procedures"});
  REQUIRE(c.p.count("Procedure") == 2);
  const auto* colo = c.p.find("Procedure", "73761001");
  REQUIRE(colo);
  CHECK(str(*colo, "status") == "completed");
  CHECK(str(*colo, "performedDateTime") == "2022-06-12");
  CHECK(first_code((*colo)["bodySite"][0]) == "71854001");
  CHECK((*colo)["performer"][0]["actor"].HasMember("reference"));
  const auto* ecg = c.p.find("Procedure", "29303009");
  REQUIRE(ecg);
  CHECK(str((*ecg)["performedPeriod"], "end") == "2024-03-15T14:20:00-05:00");
}

TEST_CASE("encounters: class, type, period, location, diagnosis", "[ccda][sections]") {
  auto c = run({"encounters"});
  REQUIRE(c.p.count("Encounter") == 2);  // the section's and the header's encompassingEncounter
  const auto* e = c.p.find("Encounter", "99213");
  REQUIRE(e);
  CHECK(str(*e, "status") == "finished");
  CHECK(str((*e)["class"], "code") == "AMB");
  CHECK(first_code((*e)["type"][0]) == "99213");
  CHECK(str((*e)["period"], "start") == "2022-10-05T10:00:00-05:00");
  CHECK(str((*e)["location"][0]["location"], "display") == "Springfield Urgent Care");
  REQUIRE(e->HasMember("diagnosis"));
  const auto* dx = c.p.find("Condition", "encounter-diagnosis");
  REQUIRE(dx);
  CHECK(str((*e)["diagnosis"][0]["condition"], "reference") == "Condition/" + str(*dx, "id"));
  CHECK(str((*dx)["encounter"], "reference") == "Encounter/" + str(*e, "id"));
}

TEST_CASE("social history: smoking status gets its LOINC code", "[ccda][sections]") {
  auto c = run({"social"});
  const auto* smoke = c.p.find("Observation", "72166-2");
  REQUIRE(smoke);
  CHECK(first_code((*smoke)["category"][0]) == "social-history");
  CHECK(first_code((*smoke)["valueCodeableConcept"]) == "8517006");
  CHECK(str(*smoke, "effectiveDateTime") == "2024-03-15");
  const auto* alcohol = c.p.find("Observation", "74013-4");
  REQUIRE(alcohol);
  CHECK(str((*alcohol)["valueQuantity"], "unit") == "{drinks}/wk");
}

TEST_CASE("plan of care: ServiceRequests, Goal and the CarePlan naming them", "[ccda][sections]") {
  auto c = run({"plan"});
  REQUIRE(c.p.count("ServiceRequest") == 2);
  const auto* xray = c.p.find("ServiceRequest", "36643-5");
  REQUIRE(xray);
  CHECK(str(*xray, "intent") == "order");
  CHECK(str(*xray, "status") == "active");
  CHECK(str(*xray, "occurrenceDateTime") == "2024-04-26");
  CHECK(str((*xray)["code"], "text") == "Repeat chest X-ray in 6 weeks.");
  const auto* goal = c.p.one("Goal");
  REQUIRE(goal);
  CHECK(str(*goal, "lifecycleStatus") == "active");
  CHECK((*goal)["target"][0]["detailQuantity"]["value"].GetInt() == 65);
  const auto* plan = c.p.one("CarePlan");
  REQUIRE(plan);
  CHECK((*plan)["activity"].Size() == 2);
  CHECK((*plan)["goal"].Size() == 1);
  CHECK(str(*plan, "title") == "Plan of Treatment");
}

TEST_CASE("functional and mental status: survey observations with US Core categories", "[ccda][sections]") {
  auto c = run({"functional_mental"});
  const auto* func = c.p.find("Observation", "54522-8");
  REQUIRE(func);
  CHECK(first_code((*func)["category"][0]) == "survey");
  CHECK(first_code((*func)["category"][1]) == "functional-status");
  const auto* ment = c.p.find("Observation", "373930000");
  REQUIRE(ment);
  CHECK(first_code((*ment)["category"][1]) == "cognitive-status");
}

TEST_CASE("notes: Note Activity as DocumentReference; narrative and unknown sections counted", "[ccda][sections]") {
  auto c = run({"notes"});
  REQUIRE(c.p.count("DocumentReference") == 2);  // the note and the original document
  const auto* note = c.p.find("DocumentReference", "11506-3");
  REQUIRE(note);
  CHECK(str((*note)["content"][0]["attachment"], "contentType") == "text/plain");
  // base64 of "Patient improving on antibiotics. Continue current plan."
  CHECK(str((*note)["content"][0]["attachment"], "data") ==
        "UGF0aWVudCBpbXByb3Zpbmcgb24gYW50aWJpb3RpY3MuIENvbnRpbnVlIGN1cnJlbnQgcGxhbi4=");
  CHECK(str(*note, "date") == "2024-03-15T14:30:00-05:00");
  CHECK(c.stats.sections_narrative == 1);
  CHECK(c.stats.sections_unknown == 1);
  CHECK(c.stats.entries_skipped == 1);
  CHECK(c.stats.entries_failed == 0);
}

TEST_CASE("family history and discharge diagnoses", "[ccda][sections]") {
  auto c = run({"family_history"});
  const auto* fmh = c.p.one("FamilyMemberHistory");
  REQUIRE(fmh);
  CHECK(str(*fmh, "status") == "completed");
  CHECK(first_code((*fmh)["relationship"]) == "FTH");
  CHECK(str((*fmh)["relationship"]["coding"][0], "system") == "http://terminology.hl7.org/CodeSystem/v3-RoleCode");
  CHECK(first_code((*fmh)["sex"]) == "male");
  CHECK(str(*fmh, "bornDate") == "1940");
  CHECK((*fmh)["deceasedBoolean"].GetBool());
  const auto& cond = (*fmh)["condition"][0];
  CHECK(first_code(cond["code"]) == "22298006");
  CHECK(cond["onsetAge"]["value"].GetInt() == 57);
  CHECK(str(cond["onsetAge"], "code") == "a");
  CHECK(cond["contributedToDeath"].GetBool());
  const auto* dx = c.p.one("Condition");
  REQUIRE(dx);
  CHECK(first_code((*dx)["category"][0]) == "encounter-diagnosis");
  CHECK(first_code((*dx)["code"]) == "233604007");
}

TEST_CASE("entries a sender got wrong are skipped or kept partially, never failing the document",
          "[ccda][sections]") {
  auto c = run({"broken", "allergies"});
  CHECK(c.p.count("AllergyIntolerance") == 2);  // the good section still converts
  CHECK(c.stats.entries_skipped == 3);          // no medication, no code, empty organizer
  CHECK(c.stats.entries_failed == 0);
  const auto* tea = c.p.one("MedicationStatement");
  REQUIRE(tea);
  CHECK(str((*tea)["medicationCodeableConcept"], "text") == "Grandma's herbal tea");
  CHECK_FALSE(tea->HasMember("effectivePeriod"));  // invalid times are dropped, not guessed
  CHECK_FALSE(tea->HasMember("dosage"));           // "one" is not a number
  const auto* glucose = c.p.find("Observation", "2345-7");
  REQUIRE(glucose);
  CHECK_FALSE(glucose->HasMember("valueQuantity"));  // exponent notation refused
  CHECK_FALSE(glucose->HasMember("identifier"));
}
