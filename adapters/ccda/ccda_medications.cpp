// Medications section -> MedicationStatement (moodCode EVN: taken) or MedicationRequest
// (moodCode INT/RQO: intended): medication code (RxNorm, NDC translations), status,
// negation, dose (quantity or range), route, site, timing (PIVL_TS period, EIVL_TS event),
// the period taken, the sig text, instructions (additionalInstruction), rate; supply orders
// -> MedicationRequest (dispenseRequest), supplies -> MedicationDispense, linked by basedOn /
// partOf; drug monitoring acts -> ServiceRequest (supportingInfo: the medication). Also used
// for planned medications in plan of care. Discharge / admission medication acts: their
// activities, with the act's code as category.
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

// The Instruction act (C-CDA 4.20) under a substanceAdministration or supply, if any.
const xmlNode* instruction_of(const xmlNode* n) {
  for (const xmlNode* er : children(n, "entryRelationship")) {
    const xmlNode* act = child(er, "act");
    if (act && xml::has_template(act, "2.16.840.1.113883.10.20.22.4.20")) return act;
  }
  return nullptr;
}

// Dosage.additionalInstruction (the instruction's code) and patientInstruction (its text).
void instruction_fields(Context& c, const xmlNode* instruction) {
  codeable_concept_list_if(c, "additionalInstruction", child(instruction, "code"));
  c.str_if("patientInstruction", referenced_text(c, child(instruction, "text")));
}

bool instruction_present(const Context& c, const xmlNode* instruction) {
  return instruction && (cd_present(c, child(instruction, "code")) ||
                         !referenced_text(c, child(instruction, "text")).empty());
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
  const xmlNode* rate = child(sa, "rateQuantity");
  const bool has_rate = rate && !xml::has_null_flavor(rate) && fhir_decimal(attr(rate, "value"), probe);
  const xmlNode* instruction = instruction_of(sa);
  const bool has_instruction = instruction_present(c, instruction);
  if (sig.empty() && !has_period && when.empty() && !has_dose && !cd_present(c, route) && !cd_present(c, site) &&
      !has_bounds && !has_rate && !has_instruction)
    return;
  c.key(request ? "dosageInstruction" : "dosage");
  c.w().StartArray();
  c.w().StartObject();
  c.str_if("text", sig);
  if (has_instruction) instruction_fields(c, instruction);
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
  if (has_dose || has_rate) {
    c.key("doseAndRate");
    c.w().StartArray();
    c.w().StartObject();
    if (has_rate) quantity_if(c, "rateQuantity", rate);
    if (dose_value) {
      quantity_if(c, "doseQuantity", dose);
    } else if (has_dose) {
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

std::string_view dispense_status(std::string_view code) {
  if (code == "completed") return "completed";
  if (code == "active" || code == "new") return "in-progress";
  if (code == "aborted") return "stopped";
  if (code == "cancelled") return "cancelled";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

// The product of a medication activity or supply: manufacturedMaterial (C-CDA) or
// manufacturedLabeledDrug (CCD 1.0 / C32).
const xmlNode* material_of(const xmlNode* n, std::string_view holder) {
  const xmlNode* product = xml::path(n, {holder, "manufacturedProduct"});
  const xmlNode* m = child(product, "manufacturedMaterial");
  return m ? m : child(product, "manufacturedLabeledDrug");
}

bool material_present(const Context& c, const xmlNode* material) {
  return cd_present(c, child(material, "code")) || !xml::text_of(child(material, "name")).empty();
}

void medication_concept(Context& c, const xmlNode* material) {
  c.key("medicationCodeableConcept");
  if (cd_present(c, child(material, "code"))) {
    codeable_concept(c, child(material, "code"));
  } else {
    c.w().StartObject();
    c.str_if("text", xml::text_of(child(material, "name")));
    c.w().EndObject();
  }
}

// dosageInstruction: [one Dosage from the supply's instruction], when it has content.
void dosage_instruction_if(Context& c, const xmlNode* instruction) {
  if (!instruction_present(c, instruction)) return;
  c.key("dosageInstruction");
  c.w().StartArray();
  c.w().StartObject();
  instruction_fields(c, instruction);
  c.w().EndObject();
  c.w().EndArray();
}


// A supply under a medication activity: a supply order (moodCode INT/RQO) -> MedicationRequest
// (intent order) with its dispenseRequest; a supply (EVN) -> MedicationDispense. The product is
// the supply's own, else the activity's. Returns the reference, "" when nothing was written.
std::string write_supply(Context& c, const xmlNode* supply, const xmlNode* activity_material, bool& is_order) {
  const std::string_view mood = attr(supply, "moodCode");
  is_order = mood == "INT" || mood == "RQO";
  if (!is_order && mood != "EVN") return {};
  const xmlNode* material = material_of(supply, "product");
  if (!material_present(c, material)) material = activity_material;
  if (!material_present(c, material)) return {};
  const std::string author = participant_ref(c, child(supply, "author"));
  const std::string_view type = is_order ? "MedicationRequest" : "MedicationDispense";
  const std::string id = c.entry_id(type, supply);
  const std::string self = c.ref(type, id);
  if (!c.begin(type, id)) return self;
  IdentifierIndex index;
  identifiers_if(c, supply, &index);
  const std::string_view status = attr(child(supply, "statusCode"), "code");
  const xmlNode* time = child(supply, "effectiveTime");
  const xmlNode* quantity = child(supply, "quantity");
  const xmlNode* instruction = instruction_of(supply);
  if (is_order) {
    c.str_if("status", request_status(status));
    c.str_if("intent", "order");
    medication_concept(c, material);
    c.subject();
    time_if(c, "authoredOn", attr(xml::path(supply, {"author", "time"}), "value"));
    if (!author.empty()) c.reference("requester", author);
    dosage_instruction_if(c, instruction);
    // repeatNumber counts every fill; numberOfRepeatsAllowed the ones after the first.
    std::string repeats;
    const std::string_view repeat = attr(child(supply, "repeatNumber"), "value");
    const bool has_repeats = fhir_decimal(repeat, repeats) && repeats.find('.') == std::string::npos &&
                             repeats.front() != '-' && repeats != "0" && repeats.size() < 6;
    std::string probe;
    const bool has_quantity = quantity && !xml::has_null_flavor(quantity) && fhir_decimal(attr(quantity, "value"), probe);
    if (period_present(c, time) || has_repeats || has_quantity) {
      c.key("dispenseRequest");
      c.w().StartObject();
      period_if(c, "validityPeriod", time);
      if (has_repeats) {
        c.key("numberOfRepeatsAllowed");
        c.w().Int(std::stoi(repeats) - 1);
      }
      if (has_quantity) quantity_if(c, "quantity", quantity);
      c.w().EndObject();
    }
  } else {
    c.str_if("status", dispense_status(status));
    medication_concept(c, material);
    c.subject();
    if (!author.empty()) {
      c.key("performer");
      c.w().StartArray();
      c.w().StartObject();
      c.reference("actor", author);
      c.w().EndObject();
      c.w().EndArray();
    }
    quantity_if(c, "quantity", quantity);
    time_if(c, "whenHandedOver", point_time(time));
    dosage_instruction_if(c, instruction);
  }
  c.finish(std::move(index));
  return self;
}

std::string_view service_request_status(std::string_view code) {
  if (code == "active") return "active";
  if (code == "completed") return "completed";
  if (code == "new") return "draft";
  if (code == "aborted" || code == "cancelled") return "revoked";
  if (code == "suspended" || code == "held") return "on-hold";
  if (code == "nullified") return "entered-in-error";
  return "unknown";
}

// Drug Monitoring Acts (C-CDA 4.123, "who monitors this medication, when") -> ServiceRequest
// (intent plan) whose supportingInfo is the medication resource `medication_ref`.
void write_drug_monitoring(Context& c, const xmlNode* sa, const std::string& medication_ref) {
  for (const xmlNode* er : children(sa, "entryRelationship")) {
    const xmlNode* act = child(er, "act");
    if (!act || !xml::has_template(act, "2.16.840.1.113883.10.20.22.4.123")) continue;
    if (!cd_present(c, child(act, "code"))) continue;
    const std::string id = c.entry_id("ServiceRequest", act);
    if (!c.begin("ServiceRequest", id)) continue;
    IdentifierIndex index;
    identifiers_if(c, act, &index);
    c.str_if("status", service_request_status(attr(child(act, "statusCode"), "code")));
    c.str_if("intent", "plan");
    c.key("code");
    codeable_concept(c, child(act, "code"));
    c.subject();
    effective_if(c, "occurrence", child(act, "effectiveTime"));
    c.key("supportingInfo");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("reference", medication_ref);
    c.w().EndObject();
    c.w().EndArray();
    c.finish(std::move(index));
  }
}

// One medication activity; `list_code`: the code of a wrapping act (Discharge / Admission
// Medication, e.g. LOINC 10183-2) -> category.
bool convert_medication_activity(Context& c, const xmlNode* sa, const xmlNode* list_code) {
  if (!xml::is(sa, "substanceAdministration")) return false;
  const xmlNode* material = material_of(sa, "consumable");
  if (!material_present(c, material)) return false;
  const std::string_view mood = attr(sa, "moodCode");
  const bool request = mood == "INT" || mood == "RQO" || mood == "PRMS" || mood == "PRP";
  const bool negated = xml::attr_true(sa, "negationInd");
  const std::string author = participant_ref(c, child(sa, "author"));
  // Supply orders and dispenses first (their own resources), linked from the statement.
  std::vector<std::string> orders, dispenses;
  for (const xmlNode* er : children(sa, "entryRelationship")) {
    bool is_order = false;
    if (std::string r = write_supply(c, child(er, "supply"), material, is_order); !r.empty())
      (is_order ? orders : dispenses).push_back(std::move(r));
  }
  const std::vector<std::string> indications = write_indications(c, sa);
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
  if (!request) {
    c.reference_list("basedOn", orders);
    c.reference_list("partOf", dispenses);
    codeable_concept_if(c, "category", list_code);  // 0..1 on MedicationStatement
  } else {
    codeable_concept_list_if(c, "category", list_code);
  }
  medication_concept(c, material);
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
  reasons_if(c, sa, indications);  // Indication (RSON) -> reasonCode, reasonReference
  dosage(c, sa, request);
  c.finish(std::move(index));
  write_drug_monitoring(c, sa, c.ref(type, id));
  return true;
}

}  // namespace

bool convert_medication(Context& c, const xmlNode* st) {
  if (!xml::is(st, "act")) return convert_medication_activity(c, st, nullptr);
  // Discharge / Admission Medication acts wrap the medication activities they list.
  const xmlNode* code = child(st, "code");
  bool any = false;
  for (const xmlNode* er : children(st, "entryRelationship"))
    for (const xmlNode* sa : children(er, "substanceAdministration"))
      any = convert_medication_activity(c, sa, code) || any;
  return any;
}

}  // namespace phrgate::ccda::detail
