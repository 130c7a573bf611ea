// DG1 -> Condition (IG DG1[Condition]) and PR1 -> Procedure (IG PR1[Procedure]), for ADT
// messages. Called by the converter once per segment; ids per hl7v2_to_fhir.h. Never writes
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

}  // namespace phrgate::hl7v2::detail
