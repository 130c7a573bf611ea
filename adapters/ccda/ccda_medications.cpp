// Medications section -> MedicationStatement (moodCode EVN: taken) or MedicationRequest
// (moodCode INT/RQO: intended): medication code (RxNorm, NDC translations), status,
// negation, dose (quantity or range), route, site, timing (PIVL_TS period, EIVL_TS event),
// the period taken, the sig text. Also used for planned medications in plan of care.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

std::string_view ucum_period_unit(std::string_view unit) {
  if (unit == "s" || unit == "min" || unit == "h" || unit == "d" || unit == "wk" || unit == "mo" || unit == "a")
    return unit;
  if (unit == "hr" || unit == "hrs") return "h";
  return {};
}

// dosageInstruction / dosage content from a substanceAdministration.
void dosage(Context& c, const xmlNode* sa, bool request) {
  const xmlNode* interval = nullptr;
  const xmlNode* event = nullptr;
  const xmlNode* bounds = nullptr;
  for (const xmlNode* t : children(sa, "effectiveTime")) {
    const std::string_view type = xml::xsi_type(t);
    if (type == "PIVL_TS") interval = t;
    else if (type == "EIVL_TS") event = t;
    else if (!bounds) bounds = t;
  }
  const xmlNode* dose = child(sa, "doseQuantity");
  const xmlNode* route = child(sa, "routeCode");
  const xmlNode* site = child(sa, "approachSiteCode");
  const std::string sig = referenced_text(c, child(sa, "text"));
  std::string number;
  const xmlNode* period = child(interval, "period");
  const bool has_period = period && fhir_decimal(attr(period, "value"), number) &&
                          !ucum_period_unit(attr(period, "unit")).empty();
  const std::string_view when = cd_code(child(event, "event"));
  std::string probe;
  const bool dose_value = dose && !xml::has_null_flavor(dose) && fhir_decimal(attr(dose, "value"), probe);
  const bool dose_low = !dose_value && fhir_decimal(attr(child(dose, "low"), "value"), probe);
  const bool dose_high = !dose_value && fhir_decimal(attr(child(dose, "high"), "value"), probe);
  const bool has_dose = dose_value || dose_low || dose_high;
  const bool has_bounds = request && period_present(c, bounds);
  if (sig.empty() && !has_period && when.empty() && !has_dose && !cd_present(c, route) && !cd_present(c, site) &&
      !has_bounds)
    return;
  c.key(request ? "dosageInstruction" : "dosage");
  c.w().StartArray();
  c.w().StartObject();
  c.str_if("text", sig);
  if (has_period || !when.empty() || has_bounds) {
    c.key("timing");
    c.w().StartObject();
    c.key("repeat");
    c.w().StartObject();
    if (has_bounds) period_if(c, "boundsPeriod", bounds);
    if (has_period) {
      c.key("frequency");
      c.w().Int(1);
      c.key("period");
      c.raw_number(number);
      c.str_if("periodUnit", ucum_period_unit(attr(period, "unit")));
    }
    if (!when.empty()) {
      c.key("when");
      c.w().StartArray();
      c.string(when);
      c.w().EndArray();
    }
    c.w().EndObject();
    c.w().EndObject();
  }
  codeable_concept_if(c, "site", site);
  codeable_concept_if(c, "route", route);
  if (has_dose) {
    c.key("doseAndRate");
    c.w().StartArray();
    c.w().StartObject();
    if (dose_value) {
      quantity_if(c, "doseQuantity", dose);
    } else {
      c.key("doseRange");
      c.w().StartObject();
      if (dose_low) quantity_if(c, "low", child(dose, "low"));
      if (dose_high) quantity_if(c, "high", child(dose, "high"));
      c.w().EndObject();
    }
    c.w().EndObject();
    c.w().EndArray();
  }
  c.w().EndObject();
  c.w().EndArray();
}

std::string_view statement_status(std::string_view code, bool negated) {
  if (negated) return "not-taken";
  if (code == "active") return "active";
  if (code == "completed") return "completed";
  if (code == "aborted") return "stopped";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  if (code == "new") return "intended";
  if (code == "cancelled") return "not-taken";
  return "unknown";
}

std::string_view request_status(std::string_view code) {
  if (code == "active" || code == "new") return "active";
  if (code == "completed") return "completed";
  if (code == "aborted") return "stopped";
  if (code == "cancelled") return "cancelled";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

}  // namespace

bool convert_medication(Context& c, const xmlNode* sa) {
  if (!xml::is(sa, "substanceAdministration")) return false;
  const xmlNode* material = xml::path(sa, {"consumable", "manufacturedProduct", "manufacturedMaterial"});
  const xmlNode* code = child(material, "code");
  const std::string name = xml::text_of(child(material, "name"));
  if (!cd_present(c, code) && name.empty()) return false;
  const std::string_view mood = attr(sa, "moodCode");
  const bool request = mood == "INT" || mood == "RQO" || mood == "PRMS" || mood == "PRP";
  const bool negated = xml::attr_true(sa, "negationInd");
  const std::string author = participant_ref(c, child(sa, "author"));
  const std::string_view type = request ? "MedicationRequest" : "MedicationStatement";
  const std::string id = c.entry_id(type, sa);
  if (!c.begin(type, id)) return true;
  IdentifierIndex index;
  identifiers_if(c, sa, &index);
  const std::string_view status = attr(child(sa, "statusCode"), "code");
  if (request) {
    c.str_if("status", request_status(status));
    c.str_if("intent", mood == "RQO" ? "order" : mood == "PRP" ? "proposal" : "plan");
    if (negated) {
      c.key("doNotPerform");
      c.w().Bool(true);
    }
  } else {
    c.str_if("status", statement_status(status, negated));
  }
  if (cd_present(c, code)) {
    c.key("medicationCodeableConcept");
    codeable_concept(c, code);
  } else {
    c.key("medicationCodeableConcept");
    c.w().StartObject();
    c.str_if("text", name);
    c.w().EndObject();
  }
  c.subject();
  if (!c.encounter_ref.empty() && request) c.reference("encounter", c.encounter_ref);
  std::string_view authored = attr(xml::path(sa, {"author", "time"}), "value");
  if (request) {
    time_if(c, "authoredOn", authored);
    if (!author.empty()) c.reference("requester", author);
  } else {
    for (const xmlNode* t : children(sa, "effectiveTime")) {
      const std::string_view type_name = xml::xsi_type(t);
      if (type_name == "PIVL_TS" || type_name == "EIVL_TS") continue;
      effective_if(c, "effective", t);
      break;
    }
    time_if(c, "dateAsserted", authored);
    if (!author.empty()) c.reference("informationSource", author);
  }
  // Indication (RSON) -> reasonCode.
  bool open = false;
  for (const xmlNode* er : children(sa, "entryRelationship")) {
    if (attr(er, "typeCode") != "RSON") continue;
    const xmlNode* value = xml::path(er, {"observation", "value"});
    if (!cd_present(c, value)) continue;
    if (!open) {
      c.key("reasonCode");
      c.w().StartArray();
      open = true;
    }
    codeable_concept(c, value);
  }
  if (open) c.w().EndArray();
  dosage(c, sa, request);
  c.finish(std::move(index));
  return true;
}

}  // namespace phrgate::ccda::detail
