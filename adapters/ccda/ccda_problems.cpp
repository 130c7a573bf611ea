// Problems (and health concerns, encounter diagnoses) -> Condition: the Problem Concern Act
// and its problem observations; code from the observation value, category, clinical status
// (problem status observation, else effectiveTime high -> resolved, else the concern's
// status), onset/abatement, negationInd -> verificationStatus refuted; the act's and the
// observation's own codes as extra categories, the concern's start as assertedDate; the
// observation's other observations (age, health status...) as Observations with focus.
#include "adapters/ccda/ccda_context.h"

namespace phrgate::ccda::detail {

using xml::attr;
using xml::child;
using xml::children;

namespace {

constexpr std::string_view kConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical";
constexpr std::string_view kConditionVerification = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
constexpr std::string_view kProblemStatus = "2.16.840.1.113883.10.20.22.4.6";
constexpr std::string_view kActClass = "2.16.840.1.113883.5.6";
constexpr std::string_view kAssertedDate = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate";

std::string_view status_from_snomed(std::string_view code) {
  if (code == "55561003") return "active";
  if (code == "73425007") return "inactive";
  if (code == "413322009") return "resolved";
  if (code == "277022003") return "remission";
  return {};
}

std::string_view category_system(std::string_view category) {
  return category == "health-concern" ? "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
                                      : "http://terminology.hl7.org/CodeSystem/condition-category";
}

std::string_view category_display(std::string_view category) {
  if (category == "problem-list-item") return "Problem List Item";
  if (category == "encounter-diagnosis") return "Encounter Diagnosis";
  if (category == "health-concern") return "Health Concern";
  return {};
}

}  // namespace

std::vector<const xmlNode*> concern_observations(const xmlNode* act) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* er : children(act, "entryRelationship")) {
    const xmlNode* obs = child(er, "observation");
    if (!obs || xml::has_template(obs, kProblemStatus) ||
        xml::has_template(obs, "2.16.840.1.113883.10.20.22.4.28"))
      continue;
    out.push_back(obs);
  }
  return out;
}

bool write_condition(Context& c, const xmlNode* act, const xmlNode* obs, std::string_view category,
                     const std::string& id, std::string_view encounter_ref) {
  const xmlNode* value = child(obs, "value");
  if (!cd_present(c, value)) return false;
  const std::string recorder = participant_ref(c, child(obs, "author"));
  if (!c.begin("Condition", id)) return true;
  IdentifierIndex index;
  identifiers_if(c, obs, &index);
  // The concern's start (when it was first recorded) -> the core assertedDate extension.
  std::string asserted;
  if (ts_to_fhir(attr(xml::path(act, {"effectiveTime", "low"}), "value"), c.in.settings.default_zone,
                 TimeKind::DateTime, asserted)) {
    c.key("extension");
    c.w().StartArray();
    c.w().StartObject();
    c.str_if("url", kAssertedDate);
    c.str_if("valueDateTime", asserted);
    c.w().EndObject();
    c.w().EndArray();
  }
  const bool negated = xml::attr_true(obs, "negationInd");
  const xmlNode* time = child(obs, "effectiveTime");
  const std::string_view high = attr(child(time, "high"), "value");
  std::string_view clinical;
  for (const xmlNode* er : children(obs, "entryRelationship")) {
    const xmlNode* so = child(er, "observation");
    if (so && xml::has_template(so, kProblemStatus)) clinical = status_from_snomed(cd_code(child(so, "value")));
  }
  if (clinical.empty() && !high.empty()) clinical = "resolved";
  if (clinical.empty()) {
    const std::string_view act_status = attr(child(act, "statusCode"), "code");
    if (act_status == "completed") clinical = "resolved";
    else if (act_status == "suspended") clinical = "inactive";
    else clinical = "active";
  }
  c.codeable("clinicalStatus", kConditionClinical, clinical, {});
  c.codeable("verificationStatus", kConditionVerification, negated ? "refuted" : "confirmed", {});
  c.key("category");
  c.w().StartArray();
  c.codeable_value(category_system(category), category, category_display(category));
  // The concern act's code (e.g. LOINC "Hospital discharge diagnosis"; not the ActClass CONC)
  // and the problem observation's own code (SNOMED "Problem", "Diagnosis"...) say what kind
  // of condition this is: extra categories (C-CDA on FHIR: observation code -> category).
  const xmlNode* act_code = child(act, "code");
  if (attr(act_code, "codeSystem") != kActClass && cd_present(c, act_code)) codeable_concept(c, act_code);
  const xmlNode* obs_code = child(obs, "code");
  if (cd_code(obs_code) != "ASSERTION" && cd_present(c, obs_code)) codeable_concept(c, obs_code);
  c.w().EndArray();
  c.key("code");
  codeable_concept(c, value);
  c.subject();
  if (!encounter_ref.empty()) c.reference("encounter", encounter_ref);
  std::string_view onset = attr(child(time, "low"), "value");
  if (onset.empty()) onset = attr(time, "value");
  time_if(c, "onsetDateTime", onset);
  // Without its own end, a resolved or inactive problem ends when its concern did (con-4: only
  // then may abatement be given).
  std::string_view abatement = high;
  if (abatement.empty() && (clinical == "resolved" || clinical == "inactive"))
    abatement = attr(xml::path(act, {"effectiveTime", "high"}), "value");
  time_if(c, "abatementDateTime", abatement);
  std::string_view recorded = attr(xml::path(obs, {"author", "time"}), "value");
  if (recorded.empty()) recorded = attr(xml::path(act, {"author", "time"}), "value");
  if (recorded.empty()) recorded = attr(xml::path(act, {"effectiveTime", "low"}), "value");
  time_if(c, "recordedDate", recorded);
  if (!recorder.empty()) c.reference("recorder", recorder);
  c.finish(std::move(index));
  // What else the observation says (age at onset, health status, prognosis, severity...):
  // Observations about this Condition (focus); the status observation is clinicalStatus.
  write_related_observations(c, obs, c.ref("Condition", id), {kProblemStatus});
  return true;
}

bool convert_problem(Context& c, const xmlNode* st, std::string_view category) {
  if (xml::is(st, "observation"))
    return write_condition(c, nullptr, st, category, c.entry_id("Condition", st), {});
  if (!xml::is(st, "act")) return false;
  bool any = false;
  for (const xmlNode* obs : concern_observations(st))
    any = write_condition(c, st, obs, category, c.entry_id("Condition", obs), {}) || any;
  return any;
}

}  // namespace phrgate::ccda::detail
