// Test helpers shared by the HL7 v2 converter tests (unit and corpus): parse a resource's
// JSON and check the structural FHIR rules the converter promises: valid JSON, no empty
// strings/arrays/objects, resourceType and id matching the FhirResource, and every
// reference resolving to a resource of the same conversion. Header-only; tests only.
#pragma once

#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/hl7v2/hl7v2_to_fhir.h"

namespace phrgate::test {

// Returns "" when `v` has no empty string/array/object anywhere, else the JSON path of one.
inline std::string find_empty(const rapidjson::Value& v, const std::string& path) {
  if (v.IsString() && v.GetStringLength() == 0) return path;
  if (v.IsArray()) {
    if (v.Empty()) return path;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      std::string p = find_empty(v[i], path + "[" + std::to_string(i) + "]");
      if (!p.empty()) return p;
    }
  }
  if (v.IsObject()) {
    if (v.MemberCount() == 0) return path;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string p = find_empty(it->value, path + "." + it->name.GetString());
      if (!p.empty()) return p;
    }
  }
  return {};
}

inline void collect_references(const rapidjson::Value& v, std::vector<std::string>& out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString()) == "reference" && it->value.IsString())
        out.emplace_back(it->value.GetString());
      else
        collect_references(it->value, out);
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collect_references(e, out);
  }
}

// Checks one conversion result; returns a description of the first problem, or "".
inline std::string check_result(const hl7v2::ConvertResult& r, bool uuid_references = false) {
  if (!r.ok) return "conversion failed: " + r.error;
  std::set<std::string> refs_known;
  if (r.resources.empty()) return "no resources";
  for (const auto& res : r.resources)
    if (!refs_known.insert(uuid_references ? "urn:uuid:" + res.id : res.type + "/" + res.id).second)
      return res.type + ": the same id twice in one conversion";
  // Patients by reference: a message may name several (ADT^A17 swap, ADT^A40 merge); every
  // resource belongs to one of them (person_id) and names that one as its subject.
  std::set<std::string> patient_ids;
  for (const auto& res : r.resources)
    if (res.type == "Patient") patient_ids.insert(res.id);
  const bool have_patient = patient_ids.count(r.person_id) > 0;
  for (const auto& res : r.resources) {
    rapidjson::Document doc;
    doc.Parse(res.json.data(), res.json.size());
    if (doc.HasParseError() || !doc.IsObject()) return res.type + ": invalid JSON";
    if (!doc.HasMember("resourceType") || res.type != doc["resourceType"].GetString())
      return res.type + ": resourceType mismatch";
    if (!doc.HasMember("id") || res.id != doc["id"].GetString()) return res.type + ": id mismatch";
    if (doc.HasMember("meta")) return res.type + ": meta must not be set by the converter";
    if (std::string p = find_empty(doc, res.type); !p.empty()) return "empty value at " + p;
    if (!patient_ids.count(res.person_id)) return res.type + ": person_id is not a Patient of the result";
    std::vector<std::string> refs;
    collect_references(doc, refs);
    std::set<std::string> contained;
    if (doc.HasMember("contained"))
      for (const auto& cr : doc["contained"].GetArray()) contained.insert("#" + std::string(cr["id"].GetString()));
    for (const auto& ref : refs)
      if (!refs_known.count(ref) && !contained.count(ref)) return res.type + ": dangling reference " + ref;
    const std::string own_patient_ref = uuid_references ? "urn:uuid:" + res.person_id : "Patient/" + res.person_id;
    if (res.type == "Patient") {
      if (res.id != res.person_id) return "Patient id differs from its person_id";
    } else if (res.type == "Appointment") {  // the patient is one of the participants
      bool found = false;
      if (doc.HasMember("participant"))
        for (const auto& p : doc["participant"].GetArray())
          if (p.HasMember("actor") && p["actor"].HasMember("reference") &&
              own_patient_ref == p["actor"]["reference"].GetString())
            found = true;
      if (!found) return res.type + ": no participant references the Patient";
    } else if (res.type != "Provenance") {
      // AllergyIntolerance, Immunization and RelatedPerson name the Patient in "patient",
      // Coverage in "beneficiary".
      const char* key = doc.HasMember("subject") ? "subject" : doc.HasMember("beneficiary") ? "beneficiary" : "patient";
      if (!doc.HasMember(key) || !doc[key].HasMember("reference") ||
          own_patient_ref != doc[key]["reference"].GetString())
        return res.type + ": subject/patient does not reference the Patient";
    } else {
      if (refs.size() + 1 != r.resources.size()) return "Provenance does not target every resource";
    }
  }
  if (!have_patient) return "no Patient";
  if (r.resources.back().type != "Provenance") return "Provenance is not last";
  return {};
}

}  // namespace phrgate::test
