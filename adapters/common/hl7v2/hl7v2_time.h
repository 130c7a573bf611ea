// Converts HL7 v2 date/time values (DT, TM, DTM/TS) to FHIR R4 date, dateTime and instant.
// Precision is kept: "2026" -> "2026", "202611" -> "2026-11", "20261124" -> "2026-11-24".
// FHIR requires seconds and a zone once a time is present, so "202611242213" becomes
// "2026-11-24T22:13:00" plus the zone; the zone is the value's own (+/-ZZZZ) or, when the
// sender omitted it, `default_zone` ("+01:00", "Z"). Fractions of a second are kept.
// Invalid input (bad digits, month 13, Feb 30, hour 24) returns false and appends nothing.
#pragma once

#include <string>
#include <string_view>

namespace phrgate::hl7v2 {

// FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD); any time part of the input is ignored.
bool to_fhir_date(std::string_view hl7, std::string& out);
// FHIR `dateTime`; a date-only value stays date-only.
bool to_fhir_datetime(std::string_view hl7, std::string_view default_zone, std::string& out);
// FHIR `instant` (requires at least seconds precision after padding; date-only fails).
bool to_fhir_instant(std::string_view hl7, std::string_view default_zone, std::string& out);
// FHIR `time` ("HH:MM:SS[.S+]") from an HL7 TM value HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ];
// missing minutes/seconds become "00", the zone is validated and dropped (FHIR time has none).
bool to_fhir_time(std::string_view hl7, std::string& out);
// Current UTC time as HL7 DTM "YYYYMMDDHHMMSS+0000".
std::string now_hl7();
// Current UTC time as FHIR instant "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string now_fhir_instant();

}  // namespace phrgate::hl7v2
