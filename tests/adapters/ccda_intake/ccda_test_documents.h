// Small C-CDA documents for the intake tests, written for these tests (synthetic patient, no
// corpus content): a minimal CCD with one problem, and bad inputs (XXE, not XML, the wrong
// namespace). Header-only; test code only.
#pragma once

#include <string>

namespace phrgate::testing::ccda_docs {

// A CCD with document id <root>^<extension>, a custodian organization, one patient and one
// problem entry (SNOMED 38341003 hypertension).
inline std::string ccd(const std::string& extension, const std::string& mrn = "CCDA-MRN-1",
                       const std::string& custodian_ext = "INTAKE-HOSP") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:sdtc="urn:hl7-org:sdtc">
  <realmCode code="US"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.2" extension="2015-08-01"/>
  <id root="2.16.840.1.113883.19.5.99999.1" extension=")" + extension + R"("/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summarization of Episode Note"/>
  <title>Intake test CCD</title>
  <effectiveTime value="20261124101500-0500"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="en-US"/>
  <recordTarget>
    <patientRole>
      <id root="2.16.840.1.113883.19.5.99999.2" extension=")" + mrn + R"("/>
      <addr use="HP"><streetAddressLine>12 Intake Lane</streetAddressLine><city>Testville</city><state>OR</state><postalCode>97006</postalCode><country>US</country></addr>
      <telecom use="HP" value="tel:+1(555)555-2004"/>
      <patient>
        <name use="L"><given>Cedra</given><family>Intakeson</family></name>
        <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="19750405"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author>
    <time value="20261124101500-0500"/>
    <assignedAuthor>
      <id root="2.16.840.1.113883.4.6" extension="1234567893"/>
      <assignedPerson><name><given>Ada</given><family>Author</family></name></assignedPerson>
    </assignedAuthor>
  </author>
  <custodian>
    <assignedCustodian>
      <representedCustodianOrganization>
        <id root="2.16.840.1.113883.19.5.99999" extension=")" + custodian_ext + R"("/>
        <name>Intake Test Hospital</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <component>
    <structuredBody>
      <component>
        <section>
          <templateId root="2.16.840.1.113883.10.20.22.2.5.1" extension="2015-08-01"/>
          <code code="11450-4" codeSystem="2.16.840.1.113883.6.1" displayName="Problem list"/>
          <title>Problems</title>
          <text>Hypertension</text>
          <entry typeCode="DRIV">
            <act classCode="ACT" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.3" extension="2015-08-01"/>
              <id root="ec8a6ff8-ed4b-4f7e-82c3-e98e58b45de7"/>
              <code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
              <statusCode code="active"/>
              <effectiveTime><low value="20200301"/></effectiveTime>
              <entryRelationship typeCode="SUBJ">
                <observation classCode="OBS" moodCode="EVN">
                  <templateId root="2.16.840.1.113883.10.20.22.4.4" extension="2015-08-01"/>
                  <id root="ab1791b0-5c71-11db-b0de-0800200c9a66"/>
                  <code code="55607006" codeSystem="2.16.840.1.113883.6.96" displayName="Problem"/>
                  <statusCode code="completed"/>
                  <effectiveTime><low value="20200301"/></effectiveTime>
                  <value xsi:type="CD" code="38341003" codeSystem="2.16.840.1.113883.6.96" displayName="Hypertension"/>
                </observation>
              </entryRelationship>
            </act>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
)";
}

// An XXE attempt: a DOCTYPE declaring an external entity.
inline std::string xxe() {
  return R"(<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3" extension="XXE-1"/><title>&secret;</title></ClinicalDocument>
)";
}

inline std::string not_xml() { return "MSH|^~\\&|EMR|HOSP|||20261124||ADT^A01|X1|P|2.5.1\r"; }

// Well-formed, but the root is not {urn:hl7-org:v3}ClinicalDocument.
inline std::string wrong_namespace() {
  return R"(<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:example:not-hl7"><id root="1.2.3" extension="NS-1"/></ClinicalDocument>
)";
}

}  // namespace phrgate::testing::ccda_docs
