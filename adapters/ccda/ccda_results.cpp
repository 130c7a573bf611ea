// Results and vital signs -> FHIR: a Result Organizer becomes a DiagnosticReport with one
// Observation per component (category laboratory); a Vital Signs Organizer becomes a panel
// Observation (hasMember) over its vital-sign Observations (LOINC codes, UCUM units).
// write_observation() is shared with social history and functional/mental status: value[x]
// from PQ, IVL_PQ, CD/CE/CV/CO/CS, ST/ED, INT, REAL, BL, TS; interpretation; reference ranges.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

std::string_view observation_status(std::string_view code) {
  if (code == "completed") return "final";
  if (code == "active") return "preliminary";
  if (code == "aborted" || code == "cancelled") return "cancelled";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

bool integer_text(std::string_view v) {
  if (!v.empty() && (v.front() == '-' || v.front() == '+')) v.remove_prefix(1);
  if (v.empty() || v.size() > 9) return false;
  for (char ch : v)
    if (ch < '0' || ch > '9') return false;
  return true;
}

// value[x]; false when the value is absent or of an unsupported type.
bool observation_value(Context& c, const xmlNode* value) {
  if (!value || xml::has_null_flavor(value)) return false;
  const std::string_view type = xml::xsi_type(value);
  if (type == "PQ") return quantity_if(c, "valueQuantity", value);
  if (type == "IVL_PQ") {
    const xmlNode* low = child(value, "low");
    const xmlNode* high = child(value, "high");
    std::string probe;
    const bool has_low = low && fhir_decimal(attr(low, "value"), probe);
    const bool has_high = high && fhir_decimal(attr(high, "value"), probe);
    if (!has_low && !has_high) return false;
    c.key("valueRange");
    c.w().StartObject();
    if (has_low) quantity_if(c, "low", low);
    if (has_high) quantity_if(c, "high", high);
    c.w().EndObject();
    return true;
  }
  if (type == "CD" || type == "CE" || type == "CV" || type == "CO") return codeable_concept_if(c, "valueCodeableConcept", value);
  if (type == "CS") {
    const std::string_view code = cd_code(value);
    if (code.empty()) return false;
    c.key("valueCodeableConcept");
    c.w().StartObject();
    c.key("coding");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("code", code);
    c.w().EndObject();
    c.w().EndArray();
    c.w().EndObject();
    return true;
  }
  if (type == "INT") {
    const std::string_view v = attr(value, "value");
    if (!integer_text(v)) return false;
    c.key("valueInteger");
    c.w().Int(std::stoi(std::string(v)));
    return true;
  }
  if (type == "REAL" || type == "MO") {
    std::string number;
    if (!fhir_decimal(attr(value, "value"), number)) return false;
    c.key("valueQuantity");
    c.w().StartObject();
    c.key("value");
    c.raw_number(number);
    c.w().EndObject();
    return true;
  }
  if (type == "BL") {
    const std::string_view v = attr(value, "value");
    if (v != "true" && v != "false") return false;
    c.key("valueBoolean");
    c.w().Bool(v == "true");
    return true;
  }
  if (type == "TS") return time_if(c, "valueDateTime", attr(value, "value"));
  if (type == "ST" || type == "ED" || type.empty()) {
    const std::string text = type == "ED" ? referenced_text(c, value) : xml::text_of(value);
    if (text.empty()) return false;
    c.str_if("valueString", text);
    return true;
  }
  return false;
}

void reference_ranges(Context& c, const xmlNode* obs) {
  bool open = false;
  for (const xmlNode* rr : children(obs, "referenceRange")) {
    const xmlNode* range = child(rr, "observationRange");
    const xmlNode* value = child(range, "value");
    std::string probe;
    const bool low = value && fhir_decimal(attr(child(value, "low"), "value"), probe);
    const bool high = value && fhir_decimal(attr(child(value, "high"), "value"), probe);
    const std::string text = referenced_text(c, child(range, "text"));
    if (!low && !high && text.empty()) continue;
    if (!open) {
      c.key("referenceRange");
      c.w().StartArray();
      open = true;
    }
    c.w().StartObject();
    if (low) quantity_if(c, "low", child(value, "low"));
    if (high) quantity_if(c, "high", child(value, "high"));
    c.str_if("text", text);
    c.w().EndObject();
  }
  if (open) c.w().EndArray();
}

void categories_of(Context& c, const std::vector<ObservationCategory>& categories) {
  if (categories.empty()) return;
  c.key("category");
  c.w().StartArray();
  for (const auto& cat : categories) {
    c.codeable_value(cat.system, cat.code, cat.display);
  }
  c.w().EndArray();
}

std::vector<std::string> performers(Context& c, const xmlNode* n) {
  std::vector<std::string> out;
  for (const xmlNode* p : children(n, "performer"))
    if (std::string r = participant_ref(c, p); !r.empty()) out.push_back(std::move(r));
  for (const xmlNode* a : children(n, "author"))
    if (std::string r = participant_ref(c, a); !r.empty()) out.push_back(std::move(r));
  return out;
}

// write_observation() and write_linked_observation() share this writer.
bool write_observation_with(Context& c, const xmlNode* obs, const std::string& id,
                            const std::vector<ObservationCategory>& categories, const ObservationLinks& links,
                            std::string_view fixed_loinc, std::string_view fixed_display);

}  // namespace

bool write_observation(Context& c, const xmlNode* obs, const std::string& id,
                       const std::vector<ObservationCategory>& categories,
                       const std::vector<std::string>* members, std::string_view fixed_loinc,
                       std::string_view fixed_display) {
  ObservationLinks links;
  links.members = members;
  return write_observation_with(c, obs, id, categories, links, fixed_loinc, fixed_display);
}

bool write_linked_observation(Context& c, const xmlNode* obs, const std::string& id,
                              const std::vector<ObservationCategory>& categories, const ObservationLinks& links) {
  return write_observation_with(c, obs, id, categories, links, {}, {});
}

namespace {

bool write_observation_with(Context& c, const xmlNode* obs, const std::string& id,
                            const std::vector<ObservationCategory>& categories, const ObservationLinks& links,
                            std::string_view fixed_loinc, std::string_view fixed_display) {
  const std::vector<std::string>* members = links.members;
  const xmlNode* code = child(obs, "code");
  const xmlNode* value = child(obs, "value");
  const bool code_ok = !fixed_loinc.empty() || cd_present(c, code);
  if (!code_ok) return false;
  const std::vector<std::string> who = performers(c, obs);
  if (!c.begin("Observation", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, obs, &index);
  c.str_if("status", observation_status(attr(child(obs, "statusCode"), "code")));
  categories_of(c, categories);
  if (!fixed_loinc.empty()) c.codeable("code", kLoinc, fixed_loinc, fixed_display);
  else codeable_concept_or_absent(c, "code", code);
  c.subject();
  if (!links.focus.empty()) {
    c.key("focus");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("reference", links.focus);
    c.w().EndObject();
    c.w().EndArray();
  }
  effective_if(c, "effective", child(obs, "effectiveTime"));
  c.reference_list("performer", who);
  bool has_value = observation_value(c, value);
  if (!has_value && xml::attr_true(obs, "negationInd") == false && value && xml::has_null_flavor(value) &&
      !members) {
    const std::string_view nf = attr(value, "nullFlavor");
    c.codeable("dataAbsentReason", "http://terminology.hl7.org/CodeSystem/data-absent-reason",
               nf == "ASKU" ? "asked-unknown" : nf == "NAV" ? "temp-unknown" : nf == "MSK" ? "masked"
               : nf == "NA" ? "not-applicable" : "unknown", {});
  }
  bool open = false;
  for (const xmlNode* ic : children(obs, "interpretationCode")) {
    if (!cd_present(c, ic)) continue;
    if (!open) {
      c.key("interpretation");
      c.w().StartArray();
      open = true;
    }
    codeable_concept(c, ic);
  }
  if (open) c.w().EndArray();
  codeable_concept_if(c, "method", child(obs, "methodCode"));
  codeable_concept_if(c, "bodySite", child(obs, "targetSiteCode"));
  reference_ranges(c, obs);
  if (members) c.reference_list("hasMember", *members);
  c.finish(std::move(index));
  return true;
}

}  // namespace

bool convert_result(Context& c, const xmlNode* node, bool vital_signs) {
  const std::vector<ObservationCategory> lab{{kObservationCategory, "laboratory", "Laboratory"}};
  const std::vector<ObservationCategory> vitals{{kObservationCategory, "vital-signs", "Vital Signs"}};
  const auto& cats = vital_signs ? vitals : lab;
  if (xml::is(node, "observation")) {
    // A bare observation may carry its components (blood pressure: systolic, diastolic).
    std::vector<std::string> parts;
    for (const xmlNode* er : children(node, "entryRelationship")) {
      const xmlNode* obs = child(er, "observation");
      if (!obs || (attr(obs, "moodCode") != "EVN" && !attr(obs, "moodCode").empty())) continue;
      const std::string id = c.entry_id("Observation", obs);
      if (write_observation(c, obs, id, cats)) parts.push_back(c.ref("Observation", id));
    }
    return write_observation(c, node, c.entry_id("Observation", node), cats, parts.empty() ? nullptr : &parts);
  }
  if (!xml::is(node, "organizer")) return false;
  std::vector<std::string> members;
  for (const xmlNode* comp : children(node, "component")) {
    const xmlNode* obs = child(comp, "observation");
    if (!obs) continue;
    const std::string id = c.entry_id("Observation", obs);
    if (write_observation(c, obs, id, cats)) members.push_back(c.ref("Observation", id));
  }
  if (members.empty()) return false;
  if (vital_signs) {
    // The organizer as a panel over its members (its own code, e.g. 46680005 or 85353-1).
    if (cd_present(c, child(node, "code")))
      write_observation(c, node, c.entry_id("Observation", node, "panel"), cats, &members);
    return true;
  }
  const std::vector<std::string> who = performers(c, node);
  const std::string id = c.entry_id("DiagnosticReport", node);
  if (!c.begin("DiagnosticReport", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, node, &index);
  const std::string_view status = attr(child(node, "statusCode"), "code");
  c.str_if("status", status == "completed" ? "final" : status == "active" ? "partial"
                     : status == "aborted" || status == "cancelled" ? "cancelled" : "unknown");
  c.key("category");
  c.w().StartArray();
  c.codeable_value("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory");
  c.w().EndArray();
  codeable_concept_or_absent(c, "code", child(node, "code"));
  c.subject();
  if (!effective_if(c, "effective", child(node, "effectiveTime"))) {
    for (const xmlNode* comp : children(node, "component"))
      if (effective_if(c, "effective", child(child(comp, "observation"), "effectiveTime"))) break;
  }
  c.reference_list("performer", who);
  c.reference_list("result", members);
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
