// DG1 -> Condition (IG DG1[Condition]), PR1 -> Procedure (IG PR1[Procedure]), for ADT
// messages, and PRB -> problem-list Condition (PPR^PC1; the IG has no PRB map yet). Called by the converter once per segment; ids per hl7v2_to_fhir.h. Never writes
// a resource without a code (DG1-3/DG1-4, PR1-3/PR1-4): a diagnosis or procedure without
// one says nothing a PHR can show.
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

// code from a CWE/CNE (`coded`), else {"text": `text`}; false when neither has a value.
bool code_present(ConvertContext& c, std::string_view coded, std::string_view text) {
  return cwe_present(c, coded) || !c.text(text, c.text_buf).empty();
}

void write_code(ConvertContext& c, std::string_view coded, std::string_view text) {
  c.json.key("code");
  if (cwe_present(c, coded)) {
    write_codeable_concept(c, coded, {}, {}, true);
    return;
  }
  c.json.start_object();
  c.json.string_if("text", c.text(text, c.text_buf));
  c.json.end_object();
}

// The id parts naming the code: coding system name and code, else the text.
std::string code_key(ConvertContext& c, std::string_view coded, std::string_view text) {
  std::string key(trim(comp(coded, 3, c.d)));
  key.push_back('|');
  std::string_view code = c.text(comp(coded, 1, c.d), c.text_buf);
  if (code.empty()) code = c.text(comp(coded, 2, c.d), c.text_buf);
  if (code.empty()) code = c.text(text, c.text_buf);
  key.append(code);
  return key;
}

// The id of the message's Encounter ("" without PV1), from its reference.
std::string_view encounter_id(const ConvertContext& c) {
  const std::string_view ref = c.encounter_ref;
  const std::size_t cut = ref.rfind(c.opt.uuid_references ? ':' : '/');
  return cut == std::string_view::npos ? ref : ref.substr(cut + 1);
}

void encounter(ConvertContext& c) {
  if (c.encounter_ref.empty()) return;
  c.json.reference("encounter", c.encounter_ref);
}

}  // namespace

void write_condition(ConvertContext& c, const Fields& dg1) {
  const std::string_view coded = rep(dg1.field(3), 0, c.d);
  const std::string_view text = dg1.field(4);
  if (!code_present(c, coded, text)) return;
  // An encounter diagnosis belongs to its visit: keyed by the Encounter, so a re-sent or
  // updated (A08) message hits the same Condition.
  std::string id = derive_resource_id(
      "Condition", {c.sender, c.patient_id, encounter_id(c), code_key(c, coded, text)});
  if (already_written(c, "Condition", id)) return;

  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Condition");
  j.string_if("id", id);
  // DG1-21 action code D (delete) -> entered-in-error (IG), which forbids a clinicalStatus.
  if (trim(comp(dg1.field(21), 1, c.d)) == "D") {
    j.codeable_concept("verificationStatus", "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                 "entered-in-error", "Entered in Error");
  } else {
    j.codeable_concept("clinicalStatus", "http://terminology.hl7.org/CodeSystem/condition-clinical",
                 "active", "Active");
  }
  j.key("category");
  j.start_array();
  j.codeable_concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis",
           "Encounter Diagnosis");
  j.end_array();
  write_code(c, coded, text);
  c.subject();
  encounter(c);
  write_datetime(c, "onsetDateTime", dg1.field(5));
  write_datetime(c, "recordedDate", dg1.field(19));
  j.end_object();
  c.finish_resource("Condition", std::move(id));
}

void write_procedure(ConvertContext& c, const Fields& pr1) {
  const std::string_view coded = rep(pr1.field(3), 0, c.d);
  const std::string_view text = pr1.field(4);
  if (!code_present(c, coded, text)) return;
  // Procedures recur: keyed by the code and the time it was performed.
  std::string id = derive_resource_id("Procedure", {c.sender, c.patient_id, code_key(c, coded, text),
                                                    trim(comp(pr1.field(5), 1, c.d))});
  if (already_written(c, "Procedure", id)) return;

  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Procedure");
  j.string_if("id", id);
  // The IG leaves status to the message context: a PR1 in an ADT reports a procedure done.
  j.string_if("status", "completed");
  write_code(c, coded, text);
  c.subject();
  encounter(c);
  write_datetime(c, "performedDateTime", pr1.field(5));
  j.end_object();
  c.finish_resource("Procedure", std::move(id));
}

namespace {

// PRB-14 life cycle status -> condition-clinical: the FHIR codes as sent (any case), or the
// single letters A (active), I (inactive), R (resolved); empty when unknown.
std::string_view problem_clinical_status(std::string_view v) {
  static constexpr std::string_view kCodes[] = {"active", "recurrence", "relapse", "inactive", "remission",
                                                "resolved"};
  for (std::string_view code : kCodes) {
    if (v.size() != code.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < v.size() && same; ++i) same = (v[i] | 0x20) == code[i];
    if (same) return code;
  }
  if (v == "A") return "active";
  if (v == "I") return "inactive";
  if (v == "R") return "resolved";
  return {};
}

}  // namespace

void write_problem(ConvertContext& c, std::size_t index) {
  const Fields prb(c.msg.segments()[index]);
  const std::string_view coded = rep(prb.field(3), 0, c.d);
  if (!code_present(c, coded, {})) return;
  // A problem instance (PRB-4) is the problem's own identity; else the patient and the code.
  IdentifierValue instance;
  const bool has_instance = ei_identifier(c, prb.field(4), instance);
  std::string id = has_instance
                       ? derive_resource_id("Condition", {c.sender, "prb-4", instance.system, instance.value})
                       : derive_resource_id("Condition", {c.sender, c.patient_id, "problem", code_key(c, coded, {})});
  if (already_written(c, "Condition", id)) return;

  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> ids;
  j.start_object();
  j.string_if("resourceType", "Condition");
  j.string_if("id", id);
  if (has_instance) {
    j.key("identifier");
    j.start_array();
    write_identifier(c, instance, {}, {}, &ids);
    j.end_array();
  }
  const std::string_view action = trim(comp(prb.field(1), 1, c.d));
  std::string_view clinical;
  if (action == "DE") {  // deleted from the problem list: entered-in-error, no clinicalStatus
    j.codeable_concept("verificationStatus", "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                       "entered-in-error", "Entered in Error");
  } else {
    // PRB-14 life cycle status, else resolved when PRB-9 (resolution date) is valued, else active.
    clinical = problem_clinical_status(trim(comp(prb.field(14), 1, c.d)));
    if (clinical.empty()) clinical = trim(comp(prb.field(9), 1, c.d)).empty() ? "active" : "resolved";
    j.codeable_concept("clinicalStatus", "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical, {});
    // PRB-13 confirmation status: C confirmed, P provisional, R ruled out (refuted).
    const std::string_view confirmation = trim(comp(prb.field(13), 1, c.d));
    const std::string_view ver = confirmation == "C"   ? "confirmed"
                                 : confirmation == "P" ? "provisional"
                                 : confirmation == "R" ? "refuted"
                                                       : std::string_view{};
    if (!ver.empty())
      j.codeable_concept("verificationStatus", "http://terminology.hl7.org/CodeSystem/condition-ver-status", ver,
                         {});
  }
  j.key("category");
  j.start_array();
  j.codeable_concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item",
                     "Problem List Item");
  j.end_array();
  write_code(c, coded, {});
  c.subject();
  if (!write_datetime(c, "onsetDateTime", prb.field(16))) c.text_if("onsetString", prb.field(17));
  // FHIR con-4: an abatement only with inactive, resolved or remission.
  if (clinical == "inactive" || clinical == "resolved" || clinical == "remission")
    write_datetime(c, "abatementDateTime", prb.field(9));
  write_datetime(c, "recordedDate", prb.field(7));
  write_notes(c, index);
  j.end_object();
  store::FhirResource& r = c.finish_resource("Condition", std::move(id));
  r.identifiers = std::move(ids);
}

}  // namespace phrgate::hl7v2::detail
