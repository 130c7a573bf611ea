// Synthetic C-CDA R2.1 CCDs of a chosen size for the benchmarks (phrgate-bench and the npm
// peers through `phrgate-loadgen dump-ccd`): a US Realm header, a patient, and allergies,
// problems, medications, immunizations, vital signs and results sections, with results added
// until the document reaches the requested size. Written here from the C-CDA template ids;
// synthetic people only. Header-only, benchmarks only.
#pragma once

#include <string>

namespace phrgate::bench {

namespace ccda_detail {

inline std::string entry_id(const char* kind, int i) {
  return "<id root=\"2.16.840.1.113883.19.5.99999." + std::string(kind) + "\" extension=\"" + std::to_string(i) + "\"/>";
}

inline std::string section_start(const char* template_root, const char* code, const char* title, const std::string& text) {
  return std::string("<component><section><templateId root=\"") + template_root + "\"/><templateId root=\"" +
         template_root + "\" extension=\"2015-08-01\"/><code code=\"" + code +
         "\" codeSystem=\"2.16.840.1.113883.6.1\" codeSystemName=\"LOINC\"/><title>" + title + "</title><text>" +
         text + "</text>";
}

inline std::string allergy(int i) {
  const char* codes[][2] = {{"7980", "Penicillin G"}, {"2670", "Codeine"}, {"1191", "Aspirin"}};
  const auto& c = codes[i % 3];
  return "<entry typeCode=\"DRIV\"><act classCode=\"ACT\" moodCode=\"EVN\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.30\" extension=\"2015-08-01\"/>" + entry_id("1", i) +
         "<code code=\"CONC\" codeSystem=\"2.16.840.1.113883.5.6\"/><statusCode code=\"active\"/>"
         "<effectiveTime><low value=\"20200101\"/></effectiveTime>"
         "<entryRelationship typeCode=\"SUBJ\"><observation classCode=\"OBS\" moodCode=\"EVN\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.7\" extension=\"2014-06-09\"/>" + entry_id("2", i) +
         "<code code=\"ASSERTION\" codeSystem=\"2.16.840.1.113883.5.4\"/><statusCode code=\"completed\"/>"
         "<effectiveTime><low value=\"20200101\"/></effectiveTime>"
         "<value xsi:type=\"CD\" code=\"416098002\" codeSystem=\"2.16.840.1.113883.6.96\" displayName=\"Allergy to drug\"/>"
         "<participant typeCode=\"CSM\"><participantRole classCode=\"MANU\"><playingEntity classCode=\"MMAT\">"
         "<code code=\"" + std::string(c[0]) + "\" displayName=\"" + c[1] +
         "\" codeSystem=\"2.16.840.1.113883.6.88\" codeSystemName=\"RxNorm\"/></playingEntity></participantRole></participant>"
         "</observation></entryRelationship></act></entry>";
}

inline std::string problem(int i) {
  const char* codes[][2] = {{"44054006", "Diabetes mellitus type 2"}, {"38341003", "Hypertensive disorder"},
                            {"195967001", "Asthma"}};
  const auto& c = codes[i % 3];
  return "<entry typeCode=\"DRIV\"><act classCode=\"ACT\" moodCode=\"EVN\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.3\" extension=\"2015-08-01\"/>" + entry_id("3", i) +
         "<code code=\"CONC\" codeSystem=\"2.16.840.1.113883.5.6\"/><statusCode code=\"active\"/>"
         "<effectiveTime><low value=\"20190301\"/></effectiveTime>"
         "<entryRelationship typeCode=\"SUBJ\"><observation classCode=\"OBS\" moodCode=\"EVN\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.4\" extension=\"2015-08-01\"/>" + entry_id("4", i) +
         "<code code=\"55607006\" codeSystem=\"2.16.840.1.113883.6.96\" displayName=\"Problem\"/>"
         "<statusCode code=\"completed\"/><effectiveTime><low value=\"20190301\"/></effectiveTime>"
         "<value xsi:type=\"CD\" code=\"" + std::string(c[0]) + "\" codeSystem=\"2.16.840.1.113883.6.96\" displayName=\"" +
         c[1] + "\"/></observation></entryRelationship></act></entry>";
}

inline std::string medication(int i) {
  const char* codes[][2] = {{"197361", "Amlodipine 5 MG Oral Tablet"}, {"860975", "Metformin 500 MG Oral Tablet"}};
  const auto& c = codes[i % 2];
  return "<entry typeCode=\"DRIV\"><substanceAdministration classCode=\"SBADM\" moodCode=\"EVN\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.16\" extension=\"2014-06-09\"/>" + entry_id("5", i) +
         "<statusCode code=\"active\"/><effectiveTime xsi:type=\"IVL_TS\"><low value=\"20210105\"/></effectiveTime>"
         "<effectiveTime xsi:type=\"PIVL_TS\" institutionSpecified=\"true\" operator=\"A\"><period value=\"24\" unit=\"h\"/></effectiveTime>"
         "<routeCode code=\"C38288\" codeSystem=\"2.16.840.1.113883.3.26.1.1\" displayName=\"Oral\"/>"
         "<doseQuantity value=\"1\"/><consumable><manufacturedProduct classCode=\"MANU\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.23\" extension=\"2014-06-09\"/><manufacturedMaterial>"
         "<code code=\"" + std::string(c[0]) + "\" codeSystem=\"2.16.840.1.113883.6.88\" displayName=\"" + c[1] +
         "\"/></manufacturedMaterial></manufacturedProduct></consumable></substanceAdministration></entry>";
}

inline std::string immunization(int i) {
  return "<entry typeCode=\"DRIV\"><substanceAdministration classCode=\"SBADM\" moodCode=\"EVN\" negationInd=\"false\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.52\" extension=\"2015-08-01\"/>" + entry_id("6", i) +
         "<statusCode code=\"completed\"/><effectiveTime value=\"20221015\"/><consumable><manufacturedProduct classCode=\"MANU\">"
         "<templateId root=\"2.16.840.1.113883.10.20.22.4.54\" extension=\"2014-06-09\"/><manufacturedMaterial>"
         "<code code=\"" + std::string(i % 2 ? "141" : "208") + "\" codeSystem=\"2.16.840.1.113883.12.292\" codeSystemName=\"CVX\"/>"
         "<lotNumberText>LOT" + std::to_string(1000 + i) + "</lotNumberText></manufacturedMaterial></manufacturedProduct></consumable>"
         "</substanceAdministration></entry>";
}

inline std::string observation(const char* template_root, const char* kind, int i, const char* loinc, const char* name,
                               const std::string& value, const char* unit) {
  return std::string("<component><observation classCode=\"OBS\" moodCode=\"EVN\"><templateId root=\"") + template_root +
         "\" extension=\"2015-08-01\"/>" + entry_id(kind, i) + "<code code=\"" + loinc +
         "\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"" + name + "\"/><statusCode code=\"completed\"/>"
         "<effectiveTime value=\"20231104093000-0500\"/><value xsi:type=\"PQ\" value=\"" + value + "\" unit=\"" + unit +
         "\"/><interpretationCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.83\"/>"
         "<referenceRange><observationRange><value xsi:type=\"IVL_PQ\"><low value=\"1\" unit=\"" + unit +
         "\"/><high value=\"200\" unit=\"" + unit + "\"/></value></observationRange></referenceRange></observation></component>";
}

inline std::string organizer(const char* organizer_root, const char* obs_root, const char* kind, int i, int count,
                             bool vitals = false) {
  std::string out = std::string("<entry typeCode=\"DRIV\"><organizer classCode=\"CLUSTER\" moodCode=\"EVN\"><templateId root=\"") +
                    organizer_root + "\" extension=\"2015-08-01\"/>" + entry_id(kind, i) +
                    (vitals ? "<code code=\"46680005\" codeSystem=\"2.16.840.1.113883.6.96\" displayName=\"Vital signs\"/>"
                            : "<code code=\"24323-8\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"Comprehensive metabolic panel\"/>") +
                    "<statusCode code=\"completed\"/><effectiveTime value=\"20231104093000-0500\"/>";
  const char* labs[][3] = {{"2345-7", "Glucose", "mg/dL"}, {"2160-0", "Creatinine", "mg/dL"},
                           {"2951-2", "Sodium", "mmol/L"}, {"2823-3", "Potassium", "mmol/L"}};
  const char* vital_signs[][3] = {{"8867-4", "Heart rate", "/min"}, {"8480-6", "Systolic blood pressure", "mm[Hg]"},
                                  {"8462-4", "Diastolic blood pressure", "mm[Hg]"}, {"29463-7", "Body weight", "kg"}};
  for (int k = 0; k < count; ++k) {
    const auto& t = vitals ? vital_signs[k % 4] : labs[k % 4];
    out += observation(obs_root, "8", i * 100 + k, t[0], t[1], std::to_string(90 + k), t[2]);
  }
  return out + "</organizer></entry>";
}

}  // namespace ccda_detail

// A CCD of about `target_bytes` (never less than the fixed part, ~16 KB).
inline std::string ccd_document(std::size_t target_bytes) {
  using namespace ccda_detail;
  std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:sdtc=\"urn:hl7-org:sdtc\">"
      "<realmCode code=\"US\"/><typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>"
      "<templateId root=\"2.16.840.1.113883.10.20.22.1.1\" extension=\"2015-08-01\"/>"
      "<templateId root=\"2.16.840.1.113883.10.20.22.1.2\" extension=\"2015-08-01\"/>"
      "<id root=\"2.16.840.1.113883.19.5.99999.1\" extension=\"BENCH-" + std::to_string(target_bytes) + "\"/>"
      "<code code=\"34133-9\" codeSystem=\"2.16.840.1.113883.6.1\" displayName=\"Summary of episode note\"/>"
      "<title>Benchmark Continuity of Care Document</title><effectiveTime value=\"20231104093000-0500\"/>"
      "<confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"/><languageCode code=\"en-US\"/>"
      "<setId root=\"2.16.840.1.113883.19.5.99999.19\" extension=\"BENCHSET\"/><versionNumber value=\"1\"/>"
      "<recordTarget><patientRole><id root=\"2.16.840.1.113883.19.5.99999.2\" extension=\"BENCH-MRN-1\"/>"
      "<addr use=\"HP\"><streetAddressLine>1 Benchmark Way</streetAddressLine><city>Testville</city><state>MA</state>"
      "<postalCode>02139</postalCode><country>US</country></addr><telecom use=\"HP\" value=\"tel:+1(555)555-0100\"/>"
      "<patient><name use=\"L\"><given>Bench</given><family>Marker</family></name>"
      "<administrativeGenderCode code=\"F\" codeSystem=\"2.16.840.1.113883.5.1\"/><birthTime value=\"19750505\"/>"
      "</patient></patientRole></recordTarget>"
      "<author><time value=\"20231104093000-0500\"/><assignedAuthor><id root=\"2.16.840.1.113883.4.6\" extension=\"1234567893\"/>"
      "<assignedPerson><name><given>Ada</given><family>Author</family></name></assignedPerson></assignedAuthor></author>"
      "<custodian><assignedCustodian><representedCustodianOrganization><id root=\"2.16.840.1.113883.4.6\" extension=\"1234567800\"/>"
      "<name>Benchmark Hospital</name></representedCustodianOrganization></assignedCustodian></custodian>"
      "<component><structuredBody>";
  std::string body;
  body += section_start("2.16.840.1.113883.10.20.22.2.6.1", "48765-2", "Allergies", "<paragraph>Allergies</paragraph>");
  for (int i = 0; i < 3; ++i) body += allergy(i);
  body += "</section></component>";
  body += section_start("2.16.840.1.113883.10.20.22.2.5.1", "11450-4", "Problems", "<paragraph>Problems</paragraph>");
  for (int i = 0; i < 3; ++i) body += problem(i);
  body += "</section></component>";
  body += section_start("2.16.840.1.113883.10.20.22.2.1.1", "10160-0", "Medications", "<paragraph>Medications</paragraph>");
  for (int i = 0; i < 4; ++i) body += medication(i);
  body += "</section></component>";
  body += section_start("2.16.840.1.113883.10.20.22.2.2.1", "11369-6", "Immunizations", "<paragraph>Immunizations</paragraph>");
  for (int i = 0; i < 3; ++i) body += immunization(i);
  body += "</section></component>";
  body += section_start("2.16.840.1.113883.10.20.22.2.4.1", "8716-3", "Vital Signs", "<paragraph>Vital signs</paragraph>");
  body += organizer("2.16.840.1.113883.10.20.22.4.26", "2.16.840.1.113883.10.20.22.4.27", "9", 1, 4, true);
  body += "</section></component>";
  body += section_start("2.16.840.1.113883.10.20.22.2.3.1", "30954-2", "Results", "<paragraph>Results</paragraph>");
  const std::string tail = "</section></component></structuredBody></component></ClinicalDocument>\n";
  int panel = 0;
  do {
    body += organizer("2.16.840.1.113883.10.20.22.4.1", "2.16.840.1.113883.10.20.22.4.2", "7", panel++, 4);
  } while (doc.size() + body.size() + tail.size() < target_bytes);
  return doc + body + tail;
}

}  // namespace phrgate::bench
