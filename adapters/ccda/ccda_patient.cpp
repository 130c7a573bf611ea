// recordTarget/patientRole -> Patient for the C-CDA converter: identifiers (OIDs through
// mappings/oids), names, gender, birth and death, addresses, telecoms, marital status,
// US Core race/ethnicity extensions and languages. The Patient id is patient_resource_id()
// of the first identifier, the same rule as the HL7 v2 and FHIR converters.
#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kRaceUrl = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
constexpr std::string_view kEthnicityUrl = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";
constexpr std::string_view kCdcRace = "urn:oid:2.16.840.1.113883.6.238";
constexpr std::string_view kNullFlavorSystem = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";

bool omb_race(std::string_view code) {
  return code == "1002-5" || code == "2028-9" || code == "2054-5" || code == "2076-8" || code == "2106-3";
}
bool omb_ethnicity(std::string_view code) { return code == "2135-2" || code == "2186-5"; }

std::vector<const xmlNode*> race_codes(const xmlNode* patient, std::string_view element) {
  std::vector<const xmlNode*> codes;
  for (const xmlNode* n : children(patient, element)) codes.push_back(n);
  for (const xmlNode* n : children(patient, element, kSdtcNs)) codes.push_back(n);
  return codes;
}

// True when a race/ethnicity code says something (a code, or "unknown"/"asked, no answer").
bool race_usable(const xmlNode* patient, std::string_view element) {
  for (const xmlNode* n : race_codes(patient, element)) {
    const std::string_view nf = attr(n, "nullFlavor");
    if (!cd_code(n).empty() || nf == "UNK" || nf == "ASKU") return true;
  }
  return false;
}

// One US Core race or ethnicity extension from the v3 codes and the sdtc: repeats
// (call only when race_usable()).
void race_extension(Context& c, const xmlNode* pr, std::string_view element, std::string_view url,
                    bool (*omb)(std::string_view)) {
  const std::vector<const xmlNode*> codes = race_codes(pr, element);
  std::string text;
  c.w().StartObject();
  c.str_if("url", url);
  c.key("extension");
  c.w().StartArray();
  for (const xmlNode* n : codes) {
    const std::string_view code = cd_code(n);
    const std::string_view nf = attr(n, "nullFlavor");
    if (code.empty() && nf != "UNK" && nf != "ASKU") continue;
    const std::string_view display = code.empty() ? (nf == "UNK" ? "Unknown" : "Asked but no answer")
                                                  : attr(n, "displayName");
    c.w().StartObject();
    c.str_if("url", code.empty() || omb(code) ? "ombCategory" : "detailed");
    c.key("valueCoding");
    c.w().StartObject();
    c.str_if("system", code.empty() ? kNullFlavorSystem : kCdcRace);
    c.str_if("code", code.empty() ? nf : code);
    c.str_if("display", display);
    c.w().EndObject();
    c.w().EndObject();
    if (!text.empty()) text.append(", ");
    text.append(display.empty() ? code : display);
  }
  c.w().StartObject();
  c.str_if("url", "text");
  c.str_if("valueString", text);
  c.w().EndObject();
  c.w().EndArray();
  c.w().EndObject();
}

std::string_view gender_of(const xmlNode* g) {
  const std::string_view code = cd_code(g);
  if (code == "M") return "male";
  if (code == "F") return "female";
  if (code == "UN") return "other";
  if (g && (attr(g, "nullFlavor") == "UNK" || attr(g, "nullFlavor") == "ASKU")) return "unknown";
  return {};
}

}  // namespace

bool write_patient(Context& c, const xmlNode* pr, std::string& /*error*/) {
  Ident key;
  bool found = false;
  for (const xmlNode* id : children(pr, "id"))
    if (!attr(id, "extension").empty() && identifier_of(c, id, key)) {
      found = true;
      break;
    }
  if (!found)
    for (const xmlNode* id : children(pr, "id"))
      if (identifier_of(c, id, key)) {
        found = true;
        break;
      }
  // Without any identifier the Patient is scoped to the document set: it converts, but only
  // identity matching (demographics) can link it to a person seen elsewhere.
  c.patient_id = found ? patient_resource_id(key.system, key.value)
                       : derive_resource_id("Patient", {"ccda-document-set", c.set_key, "recordTarget"});
  c.patient_ref = c.ref("Patient", c.patient_id);
  c.out.person_id = c.patient_id;
  const xmlNode* patient = child(pr, "patient");
  const std::string provider_ref = organization_for(c, child(pr, "providerOrganization"));
  if (!c.begin("Patient", c.patient_id)) return true;
  if (patient) {
    bool ext = false;
    for (std::string_view el : {"raceCode", "ethnicGroupCode"}) {
      if (!race_usable(patient, el)) continue;
      if (!ext) {
        c.key("extension");
        c.w().StartArray();
        ext = true;
      }
      if (el == "raceCode") race_extension(c, patient, el, kRaceUrl, omb_race);
      else race_extension(c, patient, el, kEthnicityUrl, omb_ethnicity);
    }
    if (ext) c.w().EndArray();
  }
  IdentifierIndex index;
  identifiers_if(c, pr, &index);
  if (patient) {
    names_if(c, patient);
    telecoms_if(c, pr);
    c.str_if("gender", gender_of(child(patient, "administrativeGenderCode")));
    time_if(c, "birthDate", attr(child(patient, "birthTime"), "value"), TimeKind::Date);
    const std::string_view deceased_time = attr(child(patient, "deceasedTime", kSdtcNs), "value");
    if (!deceased_time.empty() && time_if(c, "deceasedDateTime", deceased_time)) {
    } else if (const xmlNode* d = child(patient, "deceasedInd", kSdtcNs); d && !attr(d, "value").empty()) {
      c.key("deceasedBoolean");
      c.w().Bool(attr(d, "value") == "true");
    }
    addresses_if(c, pr);
    codeable_concept_if(c, "maritalStatus", child(patient, "maritalStatusCode"));
    bool open = false;
    for (const xmlNode* lc : children(patient, "languageCommunication")) {
      const std::string_view lang = cd_code(child(lc, "languageCode"));
      if (lang.empty()) continue;
      if (!open) {
        c.key("communication");
        c.w().StartArray();
        open = true;
      }
      c.w().StartObject();
      c.codeable("language", "urn:ietf:bcp:47", lang, {});
      if (const xmlNode* p = child(lc, "preferenceInd"); p && !attr(p, "value").empty()) {
        c.key("preferred");
        c.w().Bool(attr(p, "value") == "true");
      }
      c.w().EndObject();
    }
    if (open) c.w().EndArray();
  } else {
    telecoms_if(c, pr);
    addresses_if(c, pr);
  }
  if (!provider_ref.empty()) c.reference("managingOrganization", provider_ref);
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
