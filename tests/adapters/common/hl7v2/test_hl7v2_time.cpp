// Unit tests for HL7 v2 DT/TM/DTM -> FHIR date, dateTime, instant and time conversion:
// precision kept, zones kept or defaulted, invalid dates rejected without output, and the
// shape of now_hl7() / now_fhir_instant().
#include <catch2/catch.hpp>

#include <string>

#include "adapters/common/hl7v2/hl7v2_time.h"

using namespace phrgate::hl7v2;

namespace {

constexpr const char* kFail = "<fail>";

std::string date(std::string_view in) {
  std::string out = "pre";
  if (!to_fhir_date(in, out)) return out == "pre" ? kFail : "<dirty>";
  return out.substr(3);
}

std::string datetime(std::string_view in, std::string_view zone = "+01:00") {
  std::string out = "pre";
  if (!to_fhir_datetime(in, zone, out)) return out == "pre" ? kFail : "<dirty>";
  return out.substr(3);
}

std::string instant(std::string_view in, std::string_view zone = "Z") {
  std::string out = "pre";
  if (!to_fhir_instant(in, zone, out)) return out == "pre" ? kFail : "<dirty>";
  return out.substr(3);
}

std::string time_of(std::string_view in) {
  std::string out = "pre";
  if (!to_fhir_time(in, out)) return out == "pre" ? kFail : "<dirty>";
  return out.substr(3);
}

struct Row {
  const char* in;
  const char* expected;
};

}  // namespace

TEST_CASE("to_fhir_datetime keeps precision and zone", "[hl7v2][time]") {
  const Row rows[] = {
      {"2026", "2026"},
      {"202611", "2026-11"},
      {"20261124", "2026-11-24"},
      {"20261124+0100", "2026-11-24"},  // a zone on a date is dropped
      {"2026112422", "2026-11-24T22:00:00+01:00"},
      {"202611242213", "2026-11-24T22:13:00+01:00"},
      {"20261124221302", "2026-11-24T22:13:02+01:00"},
      {"20261124221302.1", "2026-11-24T22:13:02.1+01:00"},
      {"20261124221302.1234", "2026-11-24T22:13:02.1234+01:00"},
      {"20261124221302-0500", "2026-11-24T22:13:02-05:00"},
      {"20261124221302+0000", "2026-11-24T22:13:02+00:00"},
      {"20261124221302-0000", "2026-11-24T22:13:02-00:00"},
      {"202611242213+0530", "2026-11-24T22:13:00+05:30"},
      {"20261124221302.50+1400", "2026-11-24T22:13:02.50+14:00"},
      {"20240229", "2024-02-29"},
      {"20000229120000", "2000-02-29T12:00:00+01:00"},
      {"20261231235959", "2026-12-31T23:59:59+01:00"},
      {"00010101", "0001-01-01"},
  };
  for (const Row& r : rows) {
    INFO(r.in);
    CHECK(datetime(r.in) == r.expected);
  }
  CHECK(datetime("20261124221302", "Z") == "2026-11-24T22:13:02Z");
  CHECK(datetime("20261124221302", "-03:30") == "2026-11-24T22:13:02-03:30");
}

TEST_CASE("invalid values fail and append nothing", "[hl7v2][time]") {
  const char* bad[] = {
      "",
      "202",                 // short year
      "20261",               // odd length
      "2026112",
      "202611242",
      "2026112422130",
      "202611242213021",     // 15 digits
      "0000",                // no year zero
      "202600",              // month 0
      "202613",              // month 13
      "20260230",            // Feb 30
      "20250229",            // not a leap year
      "21000229",            // century, not leap
      "20260431",            // April 31
      "20260100",            // day 0
      "2026112424",          // hour 24
      "202611242360",        // minute 60
      "20261124235960",      // no leap second
      "20261124221302.",     // empty fraction
      "20261124221302.12345",// too many fraction digits
      "202611242213.5",      // fraction without seconds
      "20261124221302+01",   // short zone
      "20261124221302+01000",
      "20261124221302+1500", // zone out of range
      "20261124221302+1401",
      "20261124221302+0160",
      "20261124221302Z",
      "2026-11-24",
      "20261124 221302",
      "2026112422130x",
      "20261124221302+0100x",
      "+0100",
      "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96",  // full-width digits
  };
  for (const char* in : bad) {
    INFO(in);
    CHECK(date(in) == kFail);
    CHECK(datetime(in) == kFail);
    CHECK(instant(in) == kFail);
  }
}

TEST_CASE("to_fhir_date drops the time part", "[hl7v2][time]") {
  const Row rows[] = {
      {"2026", "2026"},
      {"202611", "2026-11"},
      {"20261124", "2026-11-24"},
      {"20261124221302.12-0500", "2026-11-24"},
      {"2026112422", "2026-11-24"},
      {"19840312", "1984-03-12"},
  };
  for (const Row& r : rows) {
    INFO(r.in);
    CHECK(date(r.in) == r.expected);
  }
}

TEST_CASE("to_fhir_instant needs a time and a zone", "[hl7v2][time]") {
  CHECK(instant("20261124221302") == "2026-11-24T22:13:02Z");
  CHECK(instant("202611242213") == "2026-11-24T22:13:00Z");
  CHECK(instant("2026112422", "+01:00") == "2026-11-24T22:00:00+01:00");
  CHECK(instant("20261124221302.123-0500", "") == "2026-11-24T22:13:02.123-05:00");
  CHECK(instant("20261124") == kFail);
  CHECK(instant("202611") == kFail);
  CHECK(instant("20261124221302", "") == kFail);
}

TEST_CASE("default zone is required and validated when the value has none", "[hl7v2][time]") {
  CHECK(datetime("20261124221302", "") == kFail);
  CHECK(datetime("20261124", "") == "2026-11-24");  // no time, no zone needed
  CHECK(datetime("20261124221302+0100", "") == "2026-11-24T22:13:02+01:00");
  const char* bad_zones[] = {"+0100", "UTC", "+1:00", "+01:60", "+15:00", "z", "+01:00 ", "Z "};
  for (const char* z : bad_zones) {
    INFO(z);
    CHECK(datetime("20261124221302", z) == kFail);
  }
  CHECK(datetime("20261124221302", "+14:00") == "2026-11-24T22:13:02+14:00");
}

TEST_CASE("to_fhir_time converts HL7 TM", "[hl7v2][time]") {
  const Row rows[] = {
      {"22", "22:00:00"},           {"2213", "22:13:00"},
      {"221302", "22:13:02"},       {"221302.5", "22:13:02.5"},
      {"221302+0100", "22:13:02"},  {"000000", "00:00:00"},
      {"235959.9999", "23:59:59.9999"},
  };
  for (const Row& r : rows) {
    INFO(r.in);
    CHECK(time_of(r.in) == r.expected);
  }
  for (const char* in : {"", "2", "221", "2400", "2260", "225960", "2213.5", "221302+2500",
                         "22130200", "22:13"}) {
    INFO(in);
    CHECK(time_of(in) == kFail);
  }
}

TEST_CASE("now_hl7 and now_fhir_instant have the documented shape", "[hl7v2][time]") {
  const std::string hl7 = now_hl7();
  REQUIRE(hl7.size() == 19);
  CHECK(hl7.substr(14) == "+0000");
  std::string fhir;
  CHECK(to_fhir_instant(hl7, "", fhir));  // round-trips through the parser
  CHECK(fhir.size() == 25);

  const std::string inst = now_fhir_instant();
  REQUIRE(inst.size() == 24);
  CHECK(inst[4] == '-');
  CHECK(inst[10] == 'T');
  CHECK(inst[19] == '.');
  CHECK(inst.back() == 'Z');
  CHECK(inst.compare(0, 2, "20") == 0);
}
