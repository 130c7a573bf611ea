// SIU^S12..S15 -> Appointment: ids from the filler's appointment id (a reschedule or a
// cancellation updates the booked Appointment), times from SCH-11, TQ1 or AIS with the end
// derived from the duration, status from SCH-25 or the trigger, participants from the patient
// and the AIP/AIL/AIG resources; without times the Appointment is only "proposed" (FHIR app-3).
#include <catch2/catch.hpp>

#include <string>

#include "tests/adapters/hl7v2/converted_message.h"

using namespace phrgate;
using test::convert;
using test::str;

namespace {

std::string siu(const std::string& trigger, const std::string& sch11, const std::string& status,
                const std::string& ais4 = "") {
  return "MSH|^~\\&|SCHED|HOSP|PHRGATE|PHR|20261124101500-0500||SIU^" + trigger + "^SIU_S12|" + trigger +
         "-1|P|2.5.1\r"
         "SCH|PL-77^SCHED|FL-88^SCHED|||||ROUTINE^Routine visit^HL70276|FOLLOWUP^Follow-up^HL70277|45|MIN|" + sch11 +
         "|||||||||||||" + status + "\r"
         "PID|1||MRN555^^^HOSP^MR||Planner^Paula||19700101|F\r"
         "RGS|1\rAIS|1||99213^Office visit^CPT|" + ais4 + "|||45|MIN\r"
         "AIL|1||CLINIC^Room 4^^MAIN\rAIP|1||4411^Moreau^Claire^^^Dr.\r";
}

}  // namespace

TEST_CASE("SIU^S12 books an Appointment with times, type, reason and participants", "[hl7v2][siu]") {
  auto c = convert(siu("S12", "^^^20261201093000-0500^20261201101500-0500", "Booked"));
  const auto& a = c.one("Appointment");
  CHECK(str(a["status"]) == "booked");
  CHECK(str(a["start"]) == "2026-12-01T09:30:00-05:00");
  CHECK(str(a["end"]) == "2026-12-01T10:15:00-05:00");
  CHECK(a["minutesDuration"].GetInt() == 45);
  CHECK(str(a["appointmentType"]["coding"][0]["code"]) == "FOLLOWUP");
  CHECK(str(a["appointmentType"]["coding"][0]["system"]) == "http://terminology.hl7.org/CodeSystem/v2-0277");
  CHECK(str(a["reasonCode"][0]["coding"][0]["code"]) == "ROUTINE");
  CHECK(str(a["serviceType"][0]["coding"][0]["code"]) == "99213");
  REQUIRE(a["participant"].Size() == 3);
  CHECK(str(a["participant"][0]["actor"]["reference"]).rfind("Patient/", 0) == 0);
  CHECK(str(a["participant"][1]["actor"]["display"]) == "Dr. Claire Moreau");
  CHECK(str(a["participant"][2]["actor"]["display"]) == "CLINIC Room 4 MAIN");
  CHECK(a["identifier"].Size() == 2);
}

TEST_CASE("a reschedule and a cancellation update the same Appointment", "[hl7v2][siu]") {
  auto booked = convert(siu("S12", "^^^20261201093000-0500^20261201101500-0500", "Booked"));
  auto moved = convert(siu("S13", "^^^20261202140000-0500^20261202144500-0500", "Booked"));
  auto cancelled = convert(siu("S15", "^^^20261202140000-0500^20261202144500-0500", ""));
  CHECK(booked.ids.at("Appointment") == moved.ids.at("Appointment"));
  CHECK(booked.ids.at("Appointment") == cancelled.ids.at("Appointment"));
  CHECK(str(moved.one("Appointment")["start"]) == "2026-12-02T14:00:00-05:00");
  CHECK(str(cancelled.one("Appointment")["status"]) == "cancelled");
}

TEST_CASE("the end comes from the duration when only a start is sent; no time means proposed", "[hl7v2][siu]") {
  auto from_ais = convert(siu("S12", "", "Booked", "20261231233000+0100"));
  const auto& a = from_ais.one("Appointment");
  CHECK(str(a["start"]) == "2026-12-31T23:30:00+01:00");
  CHECK(str(a["end"]) == "2027-01-01T00:15:00+01:00");  // across midnight and the year, same offset

  auto untimed = convert(siu("S12", "", "Booked"));
  const auto& u = untimed.one("Appointment");
  CHECK(str(u["status"]) == "proposed");
  CHECK_FALSE(u.HasMember("start"));
  CHECK_FALSE(u.HasMember("end"));
}
