// ADT patient-level events beyond one PID: the Patient key rule shared by PID-3 and MRG-1,
// and the ADT^A40/A34/A39 merges (MRG[Patient]: the prior record gets active false and a link
// replaced-by to the surviving Patient; the surviving one gets link replaces, written by
// write_patient). Called from hl7v2_to_fhir.cpp. Never writes a Patient without identifier.
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {

bool key_identifier(ConvertContext& c, std::string_view cx_list, IdentifierValue& out) {
  const std::size_t reps = rep_count(cx_list, c.d);
  std::size_t first = reps;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view cx = rep(cx_list, i, c.d);
    if (trim(comp(cx, 1, c.d)).empty()) continue;
    if (first == reps) first = i;
    if (trim(comp(cx, 5, c.d)) == "MR") {
      first = i;
      break;
    }
  }
  return first < reps && cx_identifier(c, rep(cx_list, first, c.d), out);
}

// MRG-1 (prior patient identifier list); A34/A39 from versions before 2.3.1 may carry the
// prior id in MRG-4 (prior patient ID, external) only.
std::string_view prior_patient_ids(ConvertContext& c, const Fields& mrg) {
  IdentifierValue probe;
  return key_identifier(c, mrg.field(1), probe) ? mrg.field(1) : mrg.field(4);
}

bool prior_patient_key(ConvertContext& c, const Fields& mrg, IdentifierValue& out) {
  return key_identifier(c, prior_patient_ids(c, mrg), out);
}

std::string write_merged_patient(ConvertContext& c, const Fields& mrg) {
  IdentifierValue key;
  if (!prior_patient_key(c, mrg, key)) return {};
  std::string id = derive_resource_id("Patient", {key.system, key.value});
  if (id == c.patient_id) return {};  // a merge into itself: nothing to link
  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "Patient");
  j.string_if("id", id);
  const std::string_view list = prior_patient_ids(c, mrg);
  const std::size_t reps = rep_count(list, c.d);
  j.key("identifier");
  j.start_array();
  IdentifierValue value;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view cx = rep(list, i, c.d);
    if (cx_identifier(c, cx, value)) write_identifier(c, value, comp(cx, 5, c.d), {}, &index);
  }
  j.end_array();
  j.key("active");
  j.boolean(false);
  const std::string_view name = rep(mrg.field(7), 0, c.d);  // MRG-7 prior patient name
  if (xpn_present(c, name)) {
    j.key("name");
    j.start_array();
    write_human_name(c, name);
    j.end_array();
  }
  j.key("link");
  j.start_array();
  j.start_object();
  j.reference("other", c.patient_ref);
  j.string_if("type", "replaced-by");
  j.end_object();
  j.end_array();
  j.end_object();
  store::FhirResource& r = c.finish_resource("Patient", id);
  r.person_id = id;  // the prior record stays in its own compartment until the store merges
  r.identifiers = std::move(index);
  return id;
}

}  // namespace phrgate::hl7v2::detail
