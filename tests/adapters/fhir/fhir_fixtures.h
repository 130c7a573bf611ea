// FHIR JSON fixtures for the FHIR intake tests: a small Synthea-like patient Bundle (own
// data, invented), a two-patient collection and a searchset page with absolute fullUrls.
#pragma once

#include <string>

namespace phrgate::testing {

inline constexpr const char* kPatientUuid = "urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000001";

// transaction Bundle: Patient (synthea id, MR, SSN), Organization, Practitioner, Encounter,
// Observation (1.50 kg/m2, precision kept), Condition, and a CapabilityStatement (dropped).
inline std::string synthea_like_bundle() {
  return R"({"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000001","resource":{"resourceType":"Patient",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000001","meta":{"versionId":"3"},
  "identifier":[{"system":"https://github.com/synthetichealth/synthea","value":"0b5e1c4e"},
   {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
    "system":"http://hospital.smarthealthit.org","value":"MRN-4711"},
   {"system":"urn:oid:2.16.840.1.113883.4.1","value":"999-11-2222"}],
  "name":[{"family":"Testperson","given":["Ada"]}],"gender":"female","birthDate":"1970-02-03",
  "managingOrganization":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000002"}},
  "request":{"method":"POST","url":"Patient"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000002","resource":{"resourceType":"Organization",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000002","name":"Example Clinic"},"request":{"method":"POST","url":"Organization"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000003","resource":{"resourceType":"Practitioner",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000003","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}]},
  "request":{"method":"POST","url":"Practitioner"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000004","resource":{"resourceType":"Encounter",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000004","status":"finished",
  "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
  "subject":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000001"},
  "participant":[{"individual":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000003"}}],
  "serviceProvider":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000002"}},"request":{"method":"POST","url":"Encounter"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000005","resource":{"resourceType":"Observation",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000005","status":"final",
  "code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.6.1","code":"39156-5","display":"BMI"}]},
  "subject":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000001"},
  "encounter":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000004"},
  "valueQuantity":{"value":21.50,"unit":"kg/m2","system":"http://unitsofmeasure.org","code":"kg/m2"}},
  "request":{"method":"POST","url":"Observation"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000006","resource":{"resourceType":"Condition",
  "id":"0b5e1c4e-1111-4a2b-9c3d-000000000006","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},
  "subject":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000001"},
  "encounter":{"reference":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000004"}},"request":{"method":"POST","url":"Condition"}},
 {"fullUrl":"urn:uuid:0b5e1c4e-1111-4a2b-9c3d-000000000007","resource":{"resourceType":"CapabilityStatement",
  "status":"active","date":"2020-01-01","kind":"instance","fhirVersion":"4.0.1","format":["json"]}}
]})";
}

// collection Bundle with two patients (MRN A-1 and B-2 at the same hospital), one
// Observation each and a shared Organization.
inline std::string two_patient_bundle() {
  return R"({"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"http://emr.example.org/fhir/Patient/pa","resource":{"resourceType":"Patient","id":"pa",
  "identifier":[{"system":"http://hospital.example.org/mrn","value":"A-1"}]}},
 {"fullUrl":"http://emr.example.org/fhir/Patient/pb","resource":{"resourceType":"Patient","id":"pb",
  "identifier":[{"system":"http://hospital.example.org/mrn","value":"B-2"}]}},
 {"fullUrl":"http://emr.example.org/fhir/Organization/org","resource":{"resourceType":"Organization","id":"org"}},
 {"fullUrl":"http://emr.example.org/fhir/Observation/oa","resource":{"resourceType":"Observation","id":"oa",
  "status":"final","code":{"text":"a"},"subject":{"reference":"Patient/pa"},"performer":[{"reference":"Organization/org"}]}},
 {"fullUrl":"http://emr.example.org/fhir/Observation/ob","resource":{"resourceType":"Observation","id":"ob",
  "status":"final","code":{"text":"b"},"subject":{"reference":"http://emr.example.org/fhir/Patient/pb"}}}
]})";
}

}  // namespace phrgate::testing
