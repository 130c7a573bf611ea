// Issue 4 (C-CDA fidelity): the nested and less common coded entries reach FHIR. Fixtures
// fixtures/sections_*.xml spliced into the fictional CCD header: plan entries with priority
// preferences, handoff communication and planned observations; goals with range targets;
// medical equipment (Device + DeviceUseStatement); payers (Coverage); skin findings and
// advance directives as Observation trees; family history outcome and onset period; vital
// sign observations with components.
#include <catch2/catch.hpp>

#include "tests/adapters/ccda/ccda_test_support.h"

using namespace phrgate::ccda;
using test::json_of;

namespace {

using Converted = test::ConvertedDoc;
using test::str;

Converted run(const std::string& fixture_name) { return test::convert_clean(test::document_around(test::fixture(fixture_name))); }

std::string ref_of(const rapidjson::Document& r) { return std::string(r["resourceType"].GetString()) + "/" + r["id"].GetString(); }

// Every derived resource is a target of the document's Provenance.
bool in_provenance(const Converted& c, const rapidjson::Document& r) {
  const auto* prov = c.p.one("Provenance");
  if (!prov) return false;
  for (const auto& t : (*prov)["target"].GetArray())
    if (str(t, "reference") == ref_of(r)) return true;
  return false;
}

}  // namespace

TEST_CASE("plan entries keep their nested preferences, communications and planned observations",
          "[ccda][fidelity]") {
  auto c = run("sections_plan_nested.xml");
  const auto* intervention = c.p.find("ServiceRequest", "362956003");
  REQUIRE(intervention);
  const std::string intervention_ref = ref_of(*intervention);

  // The priority preference (no id of its own) -> Observation about the ServiceRequest.
  const auto* pref = c.p.find("Observation", "394849002");
  REQUIRE(pref);
  CHECK(str((*pref)["code"]["coding"][0], "code") == "225773000");
  CHECK(str((*pref)["focus"][0], "reference") == intervention_ref);
  CHECK(str(*pref, "effectiveDateTime") == "2026-03-02");
  CHECK(in_provenance(c, *pref));

  // The handoff communication: an event under a planned act -> Communication basedOn it.
  const auto* handoff = c.p.one("Communication");
  REQUIRE(handoff);
  CHECK(str((*handoff)["category"][0]["coding"][0], "code") == "432138007");
  CHECK(str(*handoff, "status") == "completed");
  CHECK(str(*handoff, "sent") == "2026-03-03");
  CHECK(str((*handoff)["basedOn"][0], "reference") == intervention_ref);
  CHECK(in_provenance(c, *handoff));

  // The planned observation -> ServiceRequest (not an Observation result).
  const auto* planned = c.p.find("ServiceRequest", "59408-5");
  REQUIRE(planned);
  CHECK(str((*planned)["basedOn"][0], "reference") == intervention_ref);
  CHECK(str(*planned, "occurrenceDateTime") == "2026-03-04");
  CHECK_FALSE(c.p.find("Observation", "\"59408-5\""));  // only the Goal names it besides
  // Entry references (22.4.122) are pointers, not facts: nothing is written for them.
  for (const auto& r : c.msg.resources) CHECK(r.json.find("a0ff") == std::string::npos);

  // The planned coverage -> Coverage (type: the expected payer type), the request's insurance.
  const auto* coverage = c.p.one("Coverage");
  REQUIRE(coverage);
  CHECK(str((*coverage)["type"]["coding"][0], "code") == "2");
  CHECK(str((*coverage)["payor"][0]["extension"][0], "valueCode") == "unknown");  // no payer named
  CHECK(str((*intervention)["insurance"][0], "reference") == ref_of(*coverage));

  // Only the planned requests are CarePlan activities.
  const auto* plan = c.p.one("CarePlan");
  REQUIRE(plan);
  CHECK((*plan)["activity"].Size() == 2);
}

TEST_CASE("goal: priority from the priority preference, range target", "[ccda][fidelity]") {
  auto c = run("sections_plan_nested.xml");
  const auto* goal = c.p.one("Goal");
  REQUIRE(goal);
  CHECK(str((*goal)["priority"]["coding"][0], "code") == "394848005");
  const auto& target = (*goal)["target"][0];
  CHECK(str(target["measure"]["coding"][0], "code") == "59408-5");
  CHECK(target["detailRange"]["low"]["value"].GetDouble() == 92);
  CHECK(str(target["detailRange"]["low"], "unit") == "%");
  CHECK_FALSE(target["detailRange"].HasMember("high"));
  // The preference itself is kept too, about the Goal.
  const auto* pref = c.p.find("Observation", "394848005");
  REQUIRE(pref);
  CHECK(str((*pref)["focus"][0], "reference") == ref_of(*goal));
}

TEST_CASE("medical equipment -> Device and DeviceUseStatement", "[ccda][fidelity]") {
  auto c = run("sections_equipment_payers.xml");
  const auto* device = c.p.one("Device");
  REQUIRE(device);
  CHECK(str((*device)["type"]["coding"][0], "code") == "705489004");
  CHECK(str(*device, "manufacturer") == "Example Orthotics Supply");
  CHECK(str((*device)["identifier"][0], "value") == "urn:uuid:5e0c3a10-0000-4000-8000-00000000b003");
  CHECK(str((*device)["patient"], "reference") == "Patient/" + c.msg.person_id);
  const auto* use = c.p.one("DeviceUseStatement");
  REQUIRE(use);
  CHECK(str(*use, "status") == "active");
  CHECK(str((*use)["device"], "reference") == ref_of(*device));
  // The supply has only an end; the organizer's start fills the period's start.
  CHECK(str((*use)["timingPeriod"], "start") == "2025-03-10");
  CHECK(str((*use)["timingPeriod"], "end") == "2026-03-10");
  CHECK(in_provenance(c, *device));
  CHECK(in_provenance(c, *use));
}

TEST_CASE("payers -> Coverage with payer, member id, relationship and period", "[ccda][fidelity]") {
  auto c = run("sections_equipment_payers.xml");
  const auto* cov = c.p.one("Coverage");
  REQUIRE(cov);
  CHECK(str(*cov, "status") == "active");
  CHECK(str((*cov)["type"]["coding"][0], "code") == "511");
  CHECK(str((*cov)["type"]["coding"][0], "system") == "urn:oid:2.16.840.1.113883.3.221.5");
  CHECK(str(*cov, "subscriberId") == "0042-XYZ");
  CHECK(str((*cov)["relationship"]["coding"][0], "code") == "SELF");
  CHECK(str((*cov)["period"], "start") == "2025-01-01");
  CHECK(str((*cov)["beneficiary"], "reference") == "Patient/" + c.msg.person_id);
  const auto* payer = c.p.find("Organization", "Example Health Plan");
  REQUIRE(payer);
  CHECK(str((*cov)["payor"][0], "reference") == ref_of(*payer));
  CHECK(in_provenance(c, *cov));
}

TEST_CASE("skin findings and advance directives -> Observation trees", "[ccda][fidelity]") {
  auto c = run("sections_observation_trees.xml");
  const auto* wound = c.p.find("Observation", "225552003");
  REQUIRE(wound);
  CHECK(str((*wound)["category"][0]["coding"][0], "code") == "exam");
  CHECK(str((*wound)["bodySite"]["coding"][0], "code") == "66480008");
  const auto* length = c.p.find("Observation", "401238003");
  REQUIRE(length);
  CHECK((*length)["valueQuantity"]["value"].GetDouble() == 2.5);
  CHECK(str((*wound)["hasMember"][0], "reference") == ref_of(*length));

  const auto* directive = c.p.find("Observation", "304253006");
  REQUIRE(directive);
  CHECK(str((*directive)["code"]["coding"][0], "code") == "75278-2");
  CHECK(str((*directive)["effectivePeriod"], "start") == "2024-01-15");
  const auto* panel = c.p.find("Observation", "45473-6");
  REQUIRE(panel);
  CHECK(str((*panel)["hasMember"][0], "reference") == ref_of(*directive));
  CHECK(in_provenance(c, *directive));
}

TEST_CASE("family history: death outcome and onset period without an age", "[ccda][fidelity]") {
  auto c = run("sections_observation_trees.xml");
  const auto* fmh = c.p.one("FamilyMemberHistory");
  REQUIRE(fmh);
  const auto& cond = (*fmh)["condition"][0];
  CHECK(str(cond["code"]["coding"][0], "code") == "230690007");
  CHECK(str(cond["outcome"]["coding"][0], "code") == "419099009");
  CHECK(cond["contributedToDeath"].GetBool());
  CHECK(str(cond["onsetPeriod"], "start") == "1988");
  CHECK((*fmh)["deceasedBoolean"].GetBool());
}

TEST_CASE("a bare vital sign observation keeps its components as members", "[ccda][fidelity]") {
  auto c = run("sections_observation_trees.xml");
  const auto* panel = c.p.find("Observation", "85354-9");
  REQUIRE(panel);
  const auto* systolic = c.p.find("Observation", "8480-6");
  const auto* diastolic = c.p.find("Observation", "8462-4");
  REQUIRE(systolic);
  REQUIRE(diastolic);
  CHECK((*systolic)["valueQuantity"]["value"].GetDouble() == 121);
  CHECK(str((*diastolic)["valueQuantity"], "unit") == "mm[Hg]");
  CHECK(str((*diastolic)["category"][0]["coding"][0], "code") == "vital-signs");
  REQUIRE((*panel)["hasMember"].Size() == 2);
  CHECK(str((*panel)["hasMember"][0], "reference") == ref_of(*systolic));
  CHECK(str((*panel)["hasMember"][1], "reference") == ref_of(*diastolic));
}
