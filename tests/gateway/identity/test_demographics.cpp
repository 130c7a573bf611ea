// Unit tests for demographic normalisation, extraction from FHIR Patient JSON and the
// nickname table.
#include <catch2/catch.hpp>

#include "gateway/identity/demographics.h"
#include "gateway/identity/nickname_table.h"

using namespace phrgate::identity;

TEST_CASE("normalize puts every field in its canonical form", "[identity][demographics]") {
  Demographics raw;
  raw.family = "O'Brien Jr.";
  raw.given = {"José", "mary-ann"};
  raw.birth_date = "1980-02-29T00:00:00Z";
  raw.sex = "female";
  raw.address_line = "12 North Main Street, Apt. 4";
  raw.city = "Spring field";
  raw.postal_code = "12345-6789";
  raw.phone = "+1 (555) 123-4567";
  raw.email = "  Mary.OBrien@Example.COM ";
  raw.ssn_last4 = "123-45-6789";
  const Demographics n = normalize(raw);
  CHECK(n.family == "OBRIEN");
  CHECK(n.suffix == "JR");
  CHECK(n.given == std::vector<std::string>{"JOSE", "MARY", "ANN"});
  CHECK(n.birth_date == "1980-02-29");
  CHECK(n.sex == "F");
  CHECK(n.address_line == "12 N MAIN ST APT 4");
  CHECK(n.postal_code == "12345");
  CHECK(n.phone == "5551234567");
  CHECK(n.email == "mary.obrien@example.com");
  CHECK(n.ssn_last4 == "6789");
  CHECK(normalize(n) == n);  // idempotent: stored records re-normalise to themselves
}

TEST_CASE("normalize drops invalid values", "[identity][demographics]") {
  Demographics raw;
  raw.birth_date = "1981-02-29";  // not a leap year
  raw.sex = "unknown";
  raw.ssn_last4 = "12";
  raw.email = "not-an-email";
  const Demographics n = normalize(raw);
  CHECK(n.birth_date.empty());
  CHECK(n.sex.empty());
  CHECK(n.ssn_last4.empty());
  CHECK(n.email.empty());
  CHECK(is_valid_date("2000-02-29"));
  CHECK_FALSE(is_valid_date("1900-02-29"));
  CHECK_FALSE(is_valid_date("2000-13-01"));
}

TEST_CASE("demographics and identifiers come out of a FHIR Patient", "[identity][demographics]") {
  const char* patient = R"({"resourceType":"Patient","id":"x",
    "identifier":[{"system":"urn:oid:1.2.3","value":"V1"},
                  {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
                   "system":"urn:oid:1.2.4","value":"MRN7"},
                  {"system":"http://hl7.org/fhir/sid/us-ssn","value":"123-45-6789"}],
    "name":[{"use":"nickname","family":"X","given":["Bob"]},
            {"use":"official","family":"Smith","given":["Robert","James"],"suffix":["Jr"]}],
    "gender":"male","birthDate":"1970-05-06",
    "address":[{"use":"work","line":["1 Work Rd"],"postalCode":"99999"},
               {"use":"home","line":["5 Elm Street"],"city":"Dover","postalCode":"02134"}],
    "telecom":[{"system":"email","value":"rob@example.com"},{"system":"phone","value":"555-000-1111"}]})";
  auto d = demographics_from_patient_json(patient);
  REQUIRE(d);
  CHECK(d->family == "SMITH");
  CHECK(d->given == std::vector<std::string>{"ROBERT", "JAMES"});
  CHECK(d->suffix == "JR");
  CHECK(d->sex == "M");
  CHECK(d->birth_date == "1970-05-06");
  CHECK(d->address_line == "5 ELM ST");
  CHECK(d->postal_code == "02134");
  CHECK(d->phone == "5550001111");
  CHECK(d->email == "rob@example.com");
  CHECK(d->ssn_last4 == "6789");

  const auto ids = identifiers_from_patient_json(patient);
  REQUIRE(ids.size() == 2);  // the SSN is never a link key
  const auto key = key_identifier_from_patient_json(patient);
  REQUIRE(key);
  CHECK(key->system == "urn:oid:1.2.4");
  CHECK(key->value == "MRN7");

  CHECK_FALSE(demographics_from_patient_json(R"({"resourceType":"Observation"})"));
  CHECK_FALSE(demographics_from_patient_json("not json"));
  CHECK(identifiers_from_patient_json("[]").empty());
}

TEST_CASE("nickname table: direct and shared-formal-name equivalence", "[identity][nicknames]") {
  std::vector<std::string> errors;
  const auto t = NicknameTable::parse_csv(
      "# comment\nname,nickname\nWilliam,Bill\nWilliam,Will\nMargaret,Peggy\nAlan,Al\nAlbert,Al\nbad line\n,x\n",
      &errors);
  CHECK(t.pairs() == 5);
  CHECK(errors.size() == 2);
  CHECK(errors[0].rfind("line 8", 0) == 0);
  CHECK(t.equivalent("WILLIAM", "BILL"));
  CHECK(t.equivalent("BILL", "WILL"));  // both stand for WILLIAM
  CHECK(t.equivalent("PEGGY", "MARGARET"));
  CHECK(t.equivalent("AL", "ALAN"));
  CHECK_FALSE(t.equivalent("ALAN", "ALBERT"));  // sharing a nickname is not enough
  CHECK_FALSE(t.equivalent("BILL", "PEGGY"));
  CHECK(t.nicknames_of("WILLIAM") == std::vector<std::string>{"BILL", "WILL"});
}

TEST_CASE("the shipped nickname table parses without errors", "[identity][nicknames]") {
  std::vector<std::string> errors;
  const auto t = NicknameTable::load_file(PHRGATE_NICKNAMES_FILE, &errors);
  CHECK(errors.empty());
  CHECK(t.pairs() >= 300);
  CHECK(t.equivalent("ELIZABETH", "BETSY"));
  CHECK(t.equivalent("ROBERT", "BOB"));
}
