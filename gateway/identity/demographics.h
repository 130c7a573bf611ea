// The demographic record the person index matches on, its normalisation, and extraction
// from a converted FHIR Patient. Used by PersonIndex (resolve, update_demographics), the
// pipeline (feeding converted Patients in) and the identity benchmark. Pure code: it never
// logs and never puts a field value into an error text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phrgate::identity {

// One source system's view of a patient. All fields optional (empty = unknown).
struct Demographics {
  std::string family;
  std::vector<std::string> given;  // first given name first, then middle names
  std::string suffix;              // "JR", "SR", "II", "III", "IV" after normalisation
  std::string birth_date;          // YYYY-MM-DD
  std::string sex;                 // "M", "F", "O" after normalisation ("U"/unknown -> "")
  std::string address_line;
  std::string city;
  std::string postal_code;
  std::string phone;
  std::string email;
  std::string ssn_last4;  // last four digits only; never the full number

  bool operator==(const Demographics&) const = default;
};

// A patient identifier as a source system issues it (e.g. an MRN and its assigning system).
struct SourceIdentifier {
  std::string system;
  std::string value;
  bool operator==(const SourceIdentifier&) const = default;
};

// Upper-case A–Z only (common Latin-1 accented letters folded, apostrophes dropped, other
// characters removed): "O'Brien" -> "OBRIEN", "José" -> "JOSE".
std::string normalize_name_token(std::string_view text);

// The canonical form matching works on:
// - family: tokens upper-cased and joined by one space; a trailing JR/SR/II/III/IV token
//   moves to suffix; given: split on spaces and hyphens into tokens;
// - suffix: JR/JUNIOR -> JR, SR/SENIOR -> SR, 2ND -> II, 3RD -> III, 4TH -> IV;
// - birth_date: the first 10 characters when they form a valid date, else "";
// - sex: M/F/O from FHIR or v2 codes (male/female/other, M/F/O); unknown -> "";
// - address_line: upper-case words, street-type words abbreviated (STREET -> ST, ...);
// - postal_code: letters and digits upper-cased; a 9-digit US ZIP keeps its first 5;
// - phone: digits, a leading US country code 1 dropped, the last 10 kept;
// - email: trimmed, lower-cased; ssn_last4: the last 4 of 4 or 9 digits, else "".
Demographics normalize(const Demographics& raw);

// True when a "YYYY-MM-DD" string names a real calendar date.
bool is_valid_date(std::string_view yyyy_mm_dd);

// Reads a FHIR R4 Patient resource (JSON). Takes the official name (else the first), the
// home address (else the first), the first phone and email in telecom, gender, birthDate and
// the last four digits of a US SSN identifier (system http://hl7.org/fhir/sid/us-ssn).
// Returns normalised Demographics; nullopt when the text is not a JSON Patient.
std::optional<Demographics> demographics_from_patient_json(std::string_view fhir_patient_json);

// Patient.identifier entries with both system and value, US SSNs excluded (never a link key).
std::vector<SourceIdentifier> identifiers_from_patient_json(std::string_view fhir_patient_json);

// The key identifier the converters derive Patient ids from: the first typed MR
// (v2-0203), else the first with a system and value; SSNs excluded.
std::optional<SourceIdentifier> key_identifier_from_patient_json(std::string_view fhir_patient_json);

}  // namespace phrgate::identity
