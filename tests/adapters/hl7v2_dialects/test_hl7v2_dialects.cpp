// Dialects of HL7 v2 through convert_hl7v2_payload (what the pipeline and `phrgate convert`
// call): every version from 2.1 to 2.8.1 (2.1 style MSH-9 and PID-2 too), MSH-18 character sets (output always UTF-8), an
// unsupported character set refused with a clear error, the 2.7+ truncation character, and
// per-sender settings (default time zone and character set when the message names none).
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_charset.h"
#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/pipeline/convert_settings.h"
#include "tests/support/source_test_support.h"

using namespace phrgate;

namespace {

std::string adt(const std::string& version, const std::string& msh18 = "", const std::string& family = "Testperson",
                const std::string& app = "EMR", const std::string& encoding = "^~\\&") {
  return "MSH|" + encoding + "|" + app + "|HOSP_D|PHRGATE|PHR|20261124101500||ADT^A01|C-" + version + "|P|" + version +
         "||||||" + msh18 + "\rEVN|A01|20261124101500\rPID|1||DIA123^^^HOSP_D^MR||" + family +
         "^Anna||19800202|F\rPV1|1|I|W^1^1||||||||||||||||V-" + version + "^^^HOSP_D^VN|||||||||||||||||||||||||20261124083000\r";
}

const store::FhirResource* find(const pipeline::ConvertedMessage& m, const std::string& type) {
  for (const auto& r : m.resources)
    if (r.type == type) return &r;
  return nullptr;
}

pipeline::ConvertedMessage convert_one(const std::string& text, const pipeline::ConvertSettings& settings = {}) {
  pipeline::ConvertInput in;
  in.payload = text;
  in.source = "dialects";
  in.settings = settings;
  auto out = hl7v2::convert_hl7v2_payload(in);
  REQUIRE(out.size() == 1);
  return out[0];
}

std::string family_of(const pipeline::ConvertedMessage& m) {
  const auto* p = find(m, "Patient");
  REQUIRE(p);
  rapidjson::Document d;
  d.Parse(p->json.c_str());
  REQUIRE(d.IsObject());
  return d["name"][0]["family"].GetString();
}

std::string encounter_start(const pipeline::ConvertedMessage& m) {
  const auto* e = find(m, "Encounter");
  REQUIRE(e);
  rapidjson::Document d;
  d.Parse(e->json.c_str());
  REQUIRE(d.IsObject());
  REQUIRE(d.HasMember("period"));
  return d["period"]["start"].GetString();
}

}  // namespace

TEST_CASE("every HL7 version from 2.1 to 2.8.1 converts", "[dialects]") {
  for (const char* v : {"2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1"}) {
    INFO("version " << v);
    auto m = convert_one(adt(v));
    CHECK(m.ok);
    CHECK(m.error.empty());
    CHECK(find(m, "Patient"));
  }
}

TEST_CASE("version 2.1 style: MSH-9 without a trigger (EVN-1 gives it), the id in PID-2", "[dialects]") {
  const std::string v21 =
      "MSH|^~\\&|EMR|HOSP_D|PHRGATE|PHR|198811240815||ADT|C21|P|2.1\rEVN|A01|198811240815\r"
      "PID|1|OLD123|||Oldtimer^Ann||19400202|F\rPV1|1|I\r";
  auto m = convert_one(v21);
  REQUIRE(m.ok);
  const auto* p = find(m, "Patient");
  REQUIRE(p);
  REQUIRE(p->identifiers.size() == 1);
  CHECK(p->identifiers[0].second == "OLD123");
  CHECK(family_of(m) == "Oldtimer");
  CHECK(find(m, "Encounter"));
}

TEST_CASE("the 2.7+ truncation character in MSH-2 is accepted", "[dialects]") {
  auto m = convert_one(adt("2.7", "", "Testperson", "EMR", "^~\\&#"));
  CHECK(m.ok);
  CHECK(family_of(m) == "Testperson");
}

TEST_CASE("MSH-18 8859/1 text is converted to UTF-8", "[dialects]") {
  auto m = convert_one(adt("2.5.1", "8859/1", "M\xFCller"));
  REQUIRE(m.ok);
  CHECK(family_of(m) == "M\xC3\xBCller");
  for (const auto& r : m.resources) CHECK(hl7v2::is_valid_utf8(r.json));

  // Declared UTF-8 stays as it is.
  auto u = convert_one(adt("2.5.1", "UNICODE UTF-8", "M\xC3\xBCller"));
  REQUIRE(u.ok);
  CHECK(family_of(u) == "M\xC3\xBCller");
  // 8859/15 has the euro sign where 8859/1 has the currency sign.
  auto e = convert_one(adt("2.5.1", "8859/15", "Eur\xA4"));
  REQUIRE(e.ok);
  CHECK(family_of(e) == "Eur\xE2\x82\xAC");
}

TEST_CASE("an unsupported character set fails the message with a clear error", "[dialects]") {
  auto m = convert_one(adt("2.5.1", "ISO IR87", "Yamada"));
  CHECK_FALSE(m.ok);
  CHECK(m.error.find("unsupported character set") != std::string::npos);
  CHECK(m.error.find("ISO IR87") != std::string::npos);
  CHECK(m.error.find("Yamada") == std::string::npos);  // no PHI in the error
}

TEST_CASE("per-sender settings give the time zone and character set a message omits", "[dialects]") {
  pipeline::ConvertSettings settings;
  settings.default_zone = "Z";
  pipeline::SenderSettings latin;
  latin.application = "OLD_EMR";
  latin.default_zone = "-05:00";
  latin.default_charset = "8859/1";
  settings.senders.push_back(latin);
  pipeline::SenderSettings other;
  other.facility = "HOSP_D";
  other.default_zone = "+01:00";
  settings.senders.push_back(other);

  auto old_emr = convert_one(adt("2.5.1", "", "M\xFCller", "OLD_EMR"), settings);
  REQUIRE(old_emr.ok);
  CHECK(family_of(old_emr) == "M\xC3\xBCller");
  CHECK(encounter_start(old_emr) == "2026-11-24T08:30:00-05:00");

  // Another application of the same facility: the facility-wide entry applies.
  auto lab = convert_one(adt("2.5.1", "", "Testperson", "LAB"), settings);
  REQUIRE(lab.ok);
  CHECK(encounter_start(lab) == "2026-11-24T08:30:00+01:00");

  // MSH-18 wins over the sender's default.
  auto declared = convert_one(adt("2.5.1", "UNICODE UTF-8", "M\xC3\xBCller", "OLD_EMR"), settings);
  REQUIRE(declared.ok);
  CHECK(family_of(declared) == "M\xC3\xBCller");

  // No matching sender: the source's zone.
  pipeline::ConvertSettings plain;
  plain.default_zone = "Z";
  auto z = convert_one(adt("2.5.1"), plain);
  REQUIRE(z.ok);
  CHECK(encounter_start(z) == "2026-11-24T08:30:00Z");
}

TEST_CASE("per-sender settings are read from the source's config through its schema", "[dialects]") {
  auto cfg = testing::load_source_config(R"({"name": "emr", "type": "hl7v2_mllp", "port": 0,
      "default_timezone": "+02:00", "default_charset": "8859/1",
      "senders": [{"sending_application": "OLD_EMR", "sending_facility": "HOSP_D",
                   "default_timezone": "-05:00", "default_charset": "CP1252"}]})");
  auto s = pipeline::read_convert_settings(*cfg.options);
  CHECK(s.default_zone == "+02:00");
  CHECK(s.default_charset == "8859/1");
  REQUIRE(s.senders.size() == 1);
  const auto* match = s.sender("OLD_EMR", "HOSP_D");
  REQUIRE(match);
  CHECK(match->default_zone == "-05:00");
  CHECK(match->default_charset == "CP1252");
  CHECK_FALSE(s.sender("OLD_EMR", "OTHER"));
  CHECK_THROWS(testing::load_source_config(
      R"({"name": "emr", "type": "hl7v2_mllp", "port": 0, "default_charset": "EBCDIC"})"));
}

TEST_CASE("a sender's own identifier systems win over the assigning-authority table", "[dialects]") {
  pipeline::ConvertSettings settings;
  pipeline::SenderSettings emr;
  emr.facility = "HOSP_D";
  emr.identifier_systems = {{"HOSP_D", "urn:oid:1.2.840.99999.4"}};
  settings.senders.push_back(emr);
  auto m = convert_one(adt("2.5.1"), settings);
  REQUIRE(m.ok);
  const auto* p = find(m, "Patient");
  REQUIRE(p);
  REQUIRE_FALSE(p->identifiers.empty());
  CHECK(p->identifiers[0].first == "urn:oid:1.2.840.99999.4");
  CHECK(p->identifiers[0].second == "DIA123");
  // The Patient id follows the identifier's system (the same MRN under another authority is
  // another identifier).
  auto plain = convert_one(adt("2.5.1"));
  REQUIRE(plain.ok);
  CHECK(plain.person_id != m.person_id);
  CHECK(find(plain, "Patient")->identifiers[0].first != "urn:oid:1.2.840.99999.4");
}
