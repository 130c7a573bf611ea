// Allergies section -> AllergyIntolerance: Allergy Concern Act (or a bare allergy
// observation), the allergen from participant CSM, type/category from the observation
// value, clinical status (status observation, else effectiveTime high, else the act's
// status), negation ("no known allergies" / refuted), reactions with severity, criticality;
// the concern's start as the assertedDate extension; the allergy-level severity and other
// observations as Observations with focus on the allergy.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kClinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
constexpr std::string_view kVerification = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

// The observation inside an act's entryRelationship with this template (or any observation).
const xmlNode* related_observation(const xmlNode* n, std::string_view template_root) {
  for (const xmlNode* er : children(n, "entryRelationship")) {
    const xmlNode* obs = child(er, "observation");
    if (obs && (template_root.empty() || xml::has_template(obs, template_root))) return obs;
  }
  return nullptr;
}

std::string_view status_from_snomed(std::string_view code) {
  if (code == "55561003") return "active";
  if (code == "73425007") return "inactive";
  if (code == "413322009") return "resolved";
  return {};
}

std::string_view severity_of(const xmlNode* obs) {
  const std::string_view code = cd_code(child(obs, "value"));
  if (code == "24484000" || code == "H") return "severe";
  if (code == "6736007" || code == "M" || code == "371924009" || code == "MO") return "moderate";
  if (code == "255604002" || code == "L" || code == "371923003") return "mild";
  return {};
}

// Allergy type and category from the observation value (SNOMED CT, C-CDA value set).
void type_and_category(std::string_view code, std::string_view& type, std::string_view& category) {
  if (code == "419199007" || code == "416098002" || code == "414285001" || code == "232347008" ||
      code == "300916003" || code == "300913006" || code == "425525006")
    type = "allergy";
  if (code == "59037007" || code == "235719002" || code == "782197009")
    type = "intolerance";
  if (code == "416098002" || code == "59037007" || code == "419511003") category = "medication";
  if (code == "414285001" || code == "235719002" || code == "418471000") category = "food";
  if (code == "232347008" || code == "426232007") category = "environment";
}

void reaction(Context& c, const xmlNode* obs, std::string_view fallback_severity) {
  const xmlNode* value = child(obs, "value");
  if (!cd_present(c, value)) return;
  c.w().StartObject();
  c.key("manifestation");
  c.w().StartArray();
  codeable_concept(c, value);
  c.w().EndArray();
  time_if(c, "onset", point_time(child(obs, "effectiveTime")));
  std::string_view severity;
  if (const xmlNode* sev = related_observation(obs, "2.16.840.1.113883.10.20.22.4.8")) severity = severity_of(sev);
  if (severity.empty()) severity = fallback_severity;
  c.str_if("severity", severity);
  c.w().EndObject();
}

}  // namespace

namespace {

constexpr std::string_view kSeverity = "2.16.840.1.113883.10.20.22.4.8";

// `act_severity`: a Severity Observation placed beside the allergy observation, directly
// under the concern act (seen in HL7's own examples); it characterizes the allergy.
bool convert_allergy_observation(Context& c, const xmlNode* act, const xmlNode* obs,
                                 const xmlNode* act_severity = nullptr) {
  const bool negated = xml::attr_true(obs, "negationInd");
  const xmlNode* allergen = xml::path(obs, {"participant", "participantRole", "playingEntity", "code"});
  const xmlNode* value = child(obs, "value");
  const std::string_view value_code = cd_code(value);
  const bool nka_code = value_code == "716186003" || value_code == "409137002" || value_code == "428607008" ||
                        value_code == "429625007" || value_code == "428197003";
  const bool no_known = nka_code || (negated && !cd_present(c, allergen));
  if (!no_known && !cd_present(c, allergen) && !cd_present(c, value)) return false;

  // Performer/author before the resource is opened (they may write a Practitioner).
  const std::string recorder = participant_ref(c, child(obs, "author"));
  const std::string id = c.entry_id("AllergyIntolerance", obs);
  if (!c.begin("AllergyIntolerance", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, obs, &index);
  // The concern's start (when the allergy was first recorded) -> R4's assertedDate extension.
  std::string asserted;
  if (ts_to_fhir(attr(xml::path(act, {"effectiveTime", "low"}), "value"), c.in.settings.default_zone,
                 TimeKind::DateTime, asserted)) {
    c.key("extension");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("url", "http://hl7.org/fhir/StructureDefinition/allergyintolerance-assertedDate");
    c.str_if("valueDateTime", asserted);
    c.w().EndObject();
    c.w().EndArray();
  }

  // Clinical status: status observation, else effectiveTime high, else the concern's status.
  std::string_view clinical;
  if (const xmlNode* so = related_observation(obs, "2.16.840.1.113883.10.20.22.4.28"))
    clinical = status_from_snomed(cd_code(child(so, "value")));
  if (clinical.empty() && !attr(xml::path(obs, {"effectiveTime", "high"}), "value").empty()) clinical = "resolved";
  if (clinical.empty()) {
    // The concern's status; FHIR requires a clinical status (ait-1), "active" unless ended.
    const std::string_view act_status = attr(child(act, "statusCode"), "code");
    clinical = act_status == "completed" ? "resolved"
               : act_status == "aborted" || act_status == "cancelled" ? "inactive" : "active";
  }
  const bool refuted = negated && !no_known;
  c.codeable("clinicalStatus", kClinical, clinical, {});
  c.codeable("verificationStatus", kVerification, refuted ? "refuted" : "confirmed", {});
  std::string_view type, category;
  type_and_category(value_code, type, category);
  c.str_if("type", type);
  if (!category.empty()) {
    c.key("category");
    c.w().StartArray();
    c.string(category);
    c.w().EndArray();
  }
  if (const xmlNode* crit = related_observation(obs, "2.16.840.1.113883.10.20.22.4.145")) {
    const std::string_view code = cd_code(child(crit, "value"));
    c.str_if("criticality", code == "CRITH" ? "high" : code == "CRITL" ? "low" : code == "CRITU" ? "unable-to-assess" : "");
  }
  if (no_known) {
    c.codeable("code", kSnomed, "716186003", "No known allergy");
  } else if (!codeable_concept_if(c, "code", allergen)) {
    codeable_concept_if(c, "code", value);  // allergy described only by the observation value
  }
  c.subject("patient");
  const xmlNode* time = child(obs, "effectiveTime");
  time_if(c, "onsetDateTime", attr(child(time, "low"), "value").empty() ? attr(time, "value")
                                                                        : attr(child(time, "low"), "value"));
  std::string_view recorded = attr(xml::path(obs, {"author", "time"}), "value");
  if (recorded.empty()) recorded = attr(xml::path(act, {"author", "time"}), "value");
  if (recorded.empty()) recorded = attr(xml::path(act, {"effectiveTime", "low"}), "value");
  time_if(c, "recordedDate", recorded);
  if (!recorder.empty()) c.reference("recorder", recorder);
  if (!no_known) {
    // Severity given on the allergy itself (C-CDA 1.1) applies to its reactions.
    std::string_view allergy_severity = act_severity ? severity_of(act_severity) : std::string_view{};
    for (const xmlNode* er : children(obs, "entryRelationship")) {
      const xmlNode* o = child(er, "observation");
      if (o && xml::has_template(o, kSeverity)) allergy_severity = severity_of(o);
    }
    bool open = false;
    for (const xmlNode* er : children(obs, "entryRelationship")) {
      const xmlNode* o = child(er, "observation");
      if (!o || !(xml::has_template(o, "2.16.840.1.113883.10.20.22.4.9") ||
                  xml::has_template(o, "2.16.840.1.113883.10.20.1.54")))
        continue;
      if (!cd_present(c, child(o, "value"))) continue;
      if (!open) {
        c.key("reaction");
        c.w().StartArray();
        open = true;
      }
      reaction(c, o, allergy_severity);
    }
    if (open) c.w().EndArray();
  }
  c.finish(std::move(index));
  // The rest of what the observation says (the allergy's own severity, which R4 can only put
  // on reactions, and any other observation): Observations about this allergy (focus).
  write_related_observations(c, obs, c.ref("AllergyIntolerance", id),
                             {"2.16.840.1.113883.10.20.22.4.28", "2.16.840.1.113883.10.20.22.4.9",
                              "2.16.840.1.113883.10.20.1.54", "2.16.840.1.113883.10.20.22.4.145"});
  if (act_severity && cd_present(c, child(act_severity, "code"))) {
    ObservationLinks links;
    const std::string focus = c.ref("AllergyIntolerance", id);
    links.focus = focus;
    write_linked_observation(c, act_severity, c.entry_id("Observation", act_severity), {}, links);
  }
  return true;
}

}  // namespace

bool convert_allergy(Context& c, const xmlNode* st) {
  if (xml::is(st, "observation")) return convert_allergy_observation(c, nullptr, st);
  if (!xml::is(st, "act")) return false;
  const xmlNode* act_severity = nullptr;
  for (const xmlNode* er : children(st, "entryRelationship")) {
    const xmlNode* obs = child(er, "observation");
    if (obs && xml::has_template(obs, kSeverity)) act_severity = obs;
  }
  bool any = false;
  for (const xmlNode* er : children(st, "entryRelationship")) {
    const xmlNode* obs = child(er, "observation");
    if (!obs || xml::has_template(obs, "2.16.840.1.113883.10.20.22.4.28") || obs == act_severity) continue;
    any = convert_allergy_observation(c, st, obs, act_severity) || any;
  }
  return any;
}

}  // namespace phrgate::ccda::detail
