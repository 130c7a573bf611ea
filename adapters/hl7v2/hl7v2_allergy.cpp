// AL1 -> AllergyIntolerance, per the IG's AL1[AllergyIntolerance] segment map and its
// AllergenType / AllergyType / AllergySeverity concept maps. Called by the converter for ADT
// and VXU messages. The FHIR targets here are required-binding `code`s (category, type,
// criticality, reaction.severity), so the small IG maps are fixed tables in this file, not
// editable CSV: an edited row could only make the output invalid. Never writes an AL1
// without an allergen (AL1-3 code or text).
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

// IG concept maps AllergenType[AllergyIntoleranceCategory] and AllergyType (HL70127).
struct AllergenType {
  std::string_view v2;
  std::string_view category;  // empty: the IG maps none (MA, MC)
  std::string_view type;      // empty: the IG maps none (MC)
};
constexpr AllergenType kAllergenTypes[] = {
    {"DA", "medication", "allergy"}, {"FA", "food", "allergy"},
    {"MA", "", "allergy"},           {"MC", "", ""},
    {"EA", "environment", "allergy"}, {"AA", "biologic", "allergy"},
    {"PA", "environment", "allergy"}, {"LA", "environment", "allergy"},
};

// IG concept maps AllergySeverity[AllergyIntolerance.criticality] and
// AllergySeverity[AllergyIntolerance.reaction.severity] (HL70128).
struct Severity {
  std::string_view v2;
  std::string_view criticality;  // empty: the IG maps none
  std::string_view reaction;
};
constexpr Severity kSeverities[] = {
    {"SV", "high", "severe"}, {"MO", "", "moderate"}, {"MI", "low", "mild"}};

const AllergenType* allergen_type(std::string_view code) {
  for (const auto& t : kAllergenTypes)
    if (t.v2 == code) return &t;
  return nullptr;
}

const Severity* severity(std::string_view code) {
  for (const auto& s : kSeverities)
    if (s.v2 == code) return &s;
  return nullptr;
}

void status_concept(FhirJson& j, std::string_view key, std::string_view system, std::string_view code) {
  j.codeable_concept(key, system, code, {});
}

void reaction(ConvertContext& c, const Fields& al1, const Severity* sev) {
  const std::string_view f = al1.field(5);
  const std::size_t reps = rep_count(f, c.d);
  bool open = false;
  FhirJson& j = c.json;
  for (std::size_t i = 0; i < reps; ++i) {
    // AL1-5 is ST (IG: reaction.manifestation.text); v2.5+ senders may send a CWE-like
    // value: its text (component 2) is preferred over a bare code.
    const std::string_view r = rep(f, i, c.d);
    std::string_view text = c.text(comp(r, 2, c.d), c.text_buf);
    if (text.empty()) text = c.text(comp(r, 1, c.d), c.text_buf);
    if (text.empty()) continue;
    if (!open) {
      j.key("reaction");
      j.start_array();
      j.start_object();
      j.key("manifestation");
      j.start_array();
      open = true;
    }
    j.start_object();
    j.string_if("text", text);
    j.end_object();
  }
  if (!open) return;
  j.end_array();
  if (sev) j.string_if("severity", sev->reaction);
  j.end_object();
  j.end_array();
}

}  // namespace

bool already_written(const ConvertContext& c, std::string_view type, std::string_view id) {
  // Same test as comparing references: "urn:uuid:<id>" names no type, "<Type>/<id>" does.
  for (const store::FhirResource& r : c.result.resources)
    if (r.id == id && (c.opt.uuid_references || r.type == type)) return true;
  return false;
}

namespace {

// AL1 and IAM share the layout of fields 2-5 (type, allergen, severity, reaction), so one
// writer serves both. `iam`: IAM-6 action code, IAM-7 identifier, IAM-11..13 dates.
void write_allergy_segment(ConvertContext& c, std::size_t index, bool iam) {
  const Fields seg(c.msg.segments()[index]);
  const std::string_view allergen = seg.field(3);
  if (!cwe_present(c, allergen)) return;
  std::string code(c.text(comp(allergen, 1, c.d), c.text_buf));
  if (code.empty()) code.assign(c.text(comp(allergen, 2, c.d), c.text_buf));
  std::string id = derive_resource_id(
      "AllergyIntolerance", {c.sender, c.patient_id, trim(comp(allergen, 3, c.d)), code});
  if (already_written(c, "AllergyIntolerance", id)) return;  // the same allergen twice

  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index_ids;
  j.start_object();
  j.string_if("resourceType", "AllergyIntolerance");
  j.string_if("id", id);
  IdentifierValue unique;
  if (iam && ei_identifier(c, seg.field(7), unique)) {
    j.key("identifier");
    j.start_array();
    write_identifier(c, unique, {}, {}, &index_ids);
    j.end_array();
  }
  // IAM-6 D (delete): the allergy is withdrawn -> entered-in-error, and FHIR (ait-2) then
  // forbids a clinicalStatus. A (add), U (update), X (no change): active (IG).
  const bool deleted = iam && trim(comp(seg.field(6), 1, c.d)) == "D";
  if (deleted) {
    status_concept(j, "verificationStatus",
                   "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                   "entered-in-error");
  } else {
    status_concept(j, "clinicalStatus", "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                   "active");
  }
  const AllergenType* type = allergen_type(trim(comp(seg.field(2), 1, c.d)));
  if (type && !type->type.empty()) j.string_if("type", type->type);
  if (type && !type->category.empty()) {
    j.key("category");
    j.start_array();
    j.string(type->category);
    j.end_array();
  }
  const Severity* sev = severity(trim(comp(seg.field(4), 1, c.d)));
  if (sev) j.string_if("criticality", sev->criticality);
  j.key("code");
  write_codeable_concept(c, allergen, {}, {}, true);
  j.reference("patient", c.patient_ref);
  if (!iam) {
    write_datetime(c, "onsetDateTime", seg.field(6));
  } else {
    if (!write_datetime(c, "onsetDateTime", seg.field(11))) c.text_if("onsetString", seg.field(12));
    write_datetime(c, "recordedDate", seg.field(13));
  }
  reaction(c, seg, sev);
  write_notes(c, index);
  j.end_object();
  store::FhirResource& r = c.finish_resource("AllergyIntolerance", std::move(id));
  r.identifiers = std::move(index_ids);
}

}  // namespace

void write_allergy(ConvertContext& c, std::size_t index) { write_allergy_segment(c, index, false); }
void write_allergy_iam(ConvertContext& c, std::size_t index) { write_allergy_segment(c, index, true); }

}  // namespace phrgate::hl7v2::detail
