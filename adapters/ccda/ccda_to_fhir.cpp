// The C-CDA -> FHIR R4 driver: secure parse, header (patient, authors, custodian,
// encounter), then every section of the structured body (nested ones too) dispatched by its
// templateId (C-CDA 1.1/2.1 with or without extension, HITSP C32 and CCD 1.0 ids) or, when it
// has none we know, its LOINC section code. Unknown sections and entries that fail are
// counted and skipped; only an unreadable document or one without a patient fails.
#include "adapters/ccda/ccda_to_fhir.h"

#include <array>
#include <exception>

#include "adapters/ccda/ccda_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::ccda {
namespace {

using detail::Context;
using xml::attr;
using xml::child;
using xml::children;

enum class Section {
  Unknown, Allergies, Medications, Problems, Results, VitalSigns, Immunizations, Procedures,
  Encounters, SocialHistory, PlanOfCare, Goals, HealthConcerns, Functional, Mental, Notes,
  Diagnoses, FamilyHistory, Exam, Nutrition, AdvanceDirectives, ImagingFindings, Equipment, Referral, Payers
};

struct SectionId {
  std::string_view key;  // templateId root, or LOINC section code
  Section kind;
};

constexpr std::array<SectionId, 44> kSectionTemplates{{
    {"2.16.840.1.113883.10.20.22.2.6.1", Section::Allergies},
    {"2.16.840.1.113883.10.20.22.2.6", Section::Allergies},
    {"2.16.840.1.113883.3.88.11.83.102", Section::Allergies},
    {"2.16.840.1.113883.10.20.1.2", Section::Allergies},
    {"2.16.840.1.113883.10.20.22.2.1.1", Section::Medications},
    {"2.16.840.1.113883.10.20.22.2.1", Section::Medications},
    {"2.16.840.1.113883.10.20.22.2.38", Section::Medications},  // medications administered
    {"2.16.840.1.113883.10.20.22.2.44", Section::Medications},  // admission medications
    {"2.16.840.1.113883.10.20.22.2.11.1", Section::Medications},  // discharge medications
    {"2.16.840.1.113883.10.20.22.2.11", Section::Medications},
    {"2.16.840.1.113883.3.88.11.83.112", Section::Medications},
    {"2.16.840.1.113883.10.20.1.8", Section::Medications},
    {"2.16.840.1.113883.10.20.22.2.5.1", Section::Problems},
    {"2.16.840.1.113883.10.20.22.2.5", Section::Problems},
    {"2.16.840.1.113883.3.88.11.83.103", Section::Problems},
    {"2.16.840.1.113883.10.20.1.11", Section::Problems},
    {"2.16.840.1.113883.10.20.22.2.3.1", Section::Results},
    {"2.16.840.1.113883.10.20.22.2.3", Section::Results},
    {"2.16.840.1.113883.3.88.11.83.122", Section::Results},
    {"2.16.840.1.113883.10.20.1.14", Section::Results},
    {"2.16.840.1.113883.10.20.22.2.4.1", Section::VitalSigns},
    {"2.16.840.1.113883.10.20.22.2.4", Section::VitalSigns},
    {"2.16.840.1.113883.3.88.11.83.119", Section::VitalSigns},
    {"2.16.840.1.113883.10.20.1.16", Section::VitalSigns},
    {"2.16.840.1.113883.10.20.22.2.2.1", Section::Immunizations},
    {"2.16.840.1.113883.10.20.22.2.2", Section::Immunizations},
    {"2.16.840.1.113883.3.88.11.83.117", Section::Immunizations},
    {"2.16.840.1.113883.10.20.1.6", Section::Immunizations},
    {"2.16.840.1.113883.10.20.22.2.7.1", Section::Procedures},
    {"2.16.840.1.113883.10.20.22.2.7", Section::Procedures},
    {"2.16.840.1.113883.3.88.11.83.108", Section::Procedures},
    {"2.16.840.1.113883.10.20.1.12", Section::Procedures},
    {"2.16.840.1.113883.10.20.22.2.22.1", Section::Encounters},
    {"2.16.840.1.113883.10.20.22.2.22", Section::Encounters},
    {"2.16.840.1.113883.3.88.11.83.127", Section::Encounters},
    {"2.16.840.1.113883.10.20.1.3", Section::Encounters},
    {"2.16.840.1.113883.10.20.22.2.17", Section::SocialHistory},
    {"2.16.840.1.113883.3.88.11.83.126", Section::SocialHistory},
    {"2.16.840.1.113883.10.20.1.15", Section::SocialHistory},
    {"2.16.840.1.113883.10.20.22.2.10", Section::PlanOfCare},
    {"2.16.840.1.113883.10.20.1.10", Section::PlanOfCare},
    {"2.16.840.1.113883.10.20.22.2.60", Section::Goals},
    {"2.16.840.1.113883.10.20.22.2.58", Section::HealthConcerns},
    {"2.16.840.1.113883.10.20.22.2.65", Section::Notes},
}};

constexpr std::array<SectionId, 18> kMoreSectionTemplates{{
    {"2.16.840.1.113883.10.20.22.2.24", Section::Diagnoses},      // hospital discharge diagnosis
    {"2.16.840.1.113883.10.20.22.2.43", Section::Diagnoses},      // hospital admission diagnosis
    {"2.16.840.1.113883.10.20.22.2.34", Section::Diagnoses},      // preoperative diagnosis
    {"2.16.840.1.113883.10.20.22.2.36", Section::Diagnoses},      // postprocedure diagnosis
    {"2.16.840.1.113883.10.20.22.2.30", Section::PlanOfCare},     // planned procedure
    {"2.16.840.1.113883.10.20.21.2.3", Section::PlanOfCare},      // interventions
    {"2.16.840.1.113883.10.20.22.2.15", Section::FamilyHistory},
    {"2.16.840.1.113883.10.20.1.4", Section::FamilyHistory},      // CCD 1.0 family history
    {"2.16.840.1.113883.10.20.22.2.14", Section::Functional},
    {"2.16.840.1.113883.10.20.1.5", Section::Functional},
    {"2.16.840.1.113883.10.20.22.2.56", Section::Mental},
    {"2.16.840.1.113883.3.88.11.83.124", Section::Medications},  // C32 medications alt.
    {"2.16.840.1.113883.10.20.22.2.37", Section::Diagnoses},      // complications
    {"2.16.840.1.113883.10.20.22.2.29", Section::Diagnoses},      // procedure indications
    {"2.16.840.1.113883.10.20.22.2.28", Section::Diagnoses},      // procedure findings
    {"2.16.840.1.113883.10.20.22.2.25", Section::Procedures},     // anesthesia
    {"2.16.840.1.113883.10.20.22.2.41", Section::Unknown},        // hospital discharge instructions
    {"2.16.840.1.113883.10.20.22.2.21.1", Section::Unknown},      // advance directives
}};

constexpr std::array<SectionId, 29> kSectionCodes{{
    {"10155-0", Section::Allergies},     {"11502-2", Section::Results},
    {"29554-3", Section::Procedures},    {"10153-2", Section::Problems},
    {"11348-0", Section::Problems},      {"10157-6", Section::FamilyHistory},
    {"11535-2", Section::Diagnoses},
    {"48765-2", Section::Allergies},     {"10160-0", Section::Medications},
    {"29549-3", Section::Medications},   {"10183-2", Section::Medications},
    {"11450-4", Section::Problems},      {"30954-2", Section::Results},
    {"8716-3", Section::VitalSigns},     {"11369-6", Section::Immunizations},
    {"47519-4", Section::Procedures},    {"46240-8", Section::Encounters},
    {"29762-2", Section::SocialHistory}, {"18776-5", Section::PlanOfCare},
    {"61146-7", Section::Goals},         {"75310-3", Section::HealthConcerns},
    {"47420-5", Section::Functional},    {"10190-7", Section::Mental},
    {"11459-5", Section::Unknown},       {"42348-3", Section::Unknown},
    {"55109-3", Section::Diagnoses},     {"59768-2", Section::Diagnoses},
    {"59776-5", Section::Diagnoses},     {"59774-0", Section::Procedures},
}};

// Sections whose entries are kept as Observations, Devices or referrals (issue 4). Looked up
// before the tables above (which list advance directives as Unknown), by templateId or by
// section code (LOINC, or DICOM for the imaging report's findings).
constexpr SectionId kObservationSections[] = {
    {"2.16.840.1.113883.10.20.2.10", Section::Exam},              // physical exam
    {"2.16.840.1.113883.10.20.22.2.63", Section::Exam},           // physical findings of skin
    {"2.16.840.1.113883.10.20.22.2.57", Section::Nutrition},
    {"2.16.840.1.113883.10.20.22.2.21.1", Section::AdvanceDirectives},
    {"2.16.840.1.113883.10.20.22.2.21", Section::AdvanceDirectives},
    {"2.16.840.1.113883.10.20.1.1", Section::AdvanceDirectives},  // CCD 1.0
    {"2.16.840.1.113883.10.20.6.1.2", Section::ImagingFindings},  // DIR findings
    {"2.16.840.1.113883.10.20.22.2.23", Section::Equipment},
    {"2.16.840.1.113883.10.20.1.7", Section::Equipment},          // CCD 1.0
    {"1.3.6.1.4.1.19376.1.5.3.1.3.1", Section::Referral},         // reason for referral
    {"2.16.840.1.113883.10.20.22.2.18", Section::Payers},
    {"2.16.840.1.113883.10.20.1.9", Section::Payers},             // CCD 1.0
};
constexpr SectionId kObservationSectionCodes[] = {
    {"29545-1", Section::Exam},    {"8709-8", Section::Exam},      {"8710-6", Section::Exam},
    {"10223-2", Section::Exam},    {"11384-5", Section::Exam},     {"10210-3", Section::Exam},
    {"61144-2", Section::Nutrition}, {"42348-3", Section::AdvanceDirectives},
    {"46264-8", Section::Equipment}, {"42349-1", Section::Referral}, {"121070", Section::ImagingFindings},
    {"48768-6", Section::Payers},
};

Section classify(const xmlNode* section) {
  for (const xmlNode* t : children(section, "templateId")) {
    const std::string_view root = attr(t, "root");
    for (const auto& s : kObservationSections)
      if (s.key == root) return s.kind;
  }
  {
    const xmlNode* code = child(section, "code");
    const std::string_view system = attr(code, "codeSystem");
    if (system == "2.16.840.1.113883.6.1" || system == "1.2.840.10008.2.16.4")
      for (const auto& s : kObservationSectionCodes)
        if (s.key == attr(code, "code")) return s.kind;
  }
  for (const xmlNode* t : children(section, "templateId")) {
    const std::string_view root = attr(t, "root");
    for (const auto& s : kSectionTemplates)
      if (s.key == root) return s.kind;
    for (const auto& s : kMoreSectionTemplates)
      if (s.key == root && s.kind != Section::Unknown) return s.kind;
  }
  const xmlNode* code = child(section, "code");
  if (attr(code, "codeSystem") == "2.16.840.1.113883.6.1") {
    const std::string_view loinc = attr(code, "code");
    for (const auto& s : kSectionCodes)
      if (s.key == loinc) return s.kind;
  }
  return Section::Unknown;
}

std::string_view kind_name(Section s) {
  switch (s) {
    case Section::SocialHistory: return "social-history";
    case Section::Functional: return "functional-status";
    case Section::Mental: return "cognitive-status";
    default: return {};
  }
}

// The clinical statement inside an <entry> (act, observation, organizer, ...).
const xmlNode* statement_of(const xmlNode* entry) {
  for (const xmlNode* n : children(entry, {}))
    if (xml::ns_of(n) == kHl7V3Ns) return n;
  return nullptr;
}

constexpr std::string_view kNoteActivity = "2.16.840.1.113883.10.20.22.4.202";

bool convert_entry(Context& c, Section kind, const xmlNode* st, std::vector<std::string>& activities,
                   std::vector<std::string>& goals) {
  if (xml::has_template(st, kNoteActivity)) return detail::convert_note(c, st);
  switch (kind) {
    case Section::Allergies: return detail::convert_allergy(c, st);
    case Section::Medications: return detail::convert_medication(c, st);
    case Section::Problems: return detail::convert_problem(c, st, "problem-list-item");
    case Section::HealthConcerns: return detail::convert_problem(c, st, "health-concern");
    case Section::Diagnoses: return detail::convert_problem(c, st, "encounter-diagnosis");
    case Section::FamilyHistory: return detail::convert_family_history(c, st);
    case Section::Results: return detail::convert_result(c, st, false);
    case Section::VitalSigns: return detail::convert_result(c, st, true);
    case Section::Immunizations: return detail::convert_immunization(c, st);
    case Section::Procedures: return detail::convert_procedure(c, st);
    case Section::Encounters: return detail::convert_encounter(c, st);
    case Section::SocialHistory:
    case Section::Functional:
    case Section::Mental: return detail::convert_status_observation(c, st, kind_name(kind));
    case Section::PlanOfCare:
    case Section::Goals: return detail::convert_plan_entry(c, st, activities, goals);
    case Section::Referral: {
      std::vector<std::string> unused_activities, unused_goals;  // no CarePlan for referrals
      return detail::convert_plan_entry(c, st, unused_activities, unused_goals);
    }
    case Section::Exam: return detail::convert_observation_entry(c, st, "exam");
    case Section::ImagingFindings: return detail::convert_observation_entry(c, st, "imaging");
    case Section::Nutrition:
    case Section::AdvanceDirectives: return detail::convert_observation_entry(c, st, {});
    case Section::Equipment: return detail::convert_device_entry(c, st);
    case Section::Payers: return detail::convert_payer_entry(c, st);
    case Section::Notes:
    case Section::Unknown: return false;
  }
  return false;
}

void convert_section(Context& c, const xmlNode* section, int depth) {
  const Section kind = classify(section);
  bool any_entry = false;
  std::vector<std::string> activities, goals;
  for (const xmlNode* entry : children(section, "entry")) {
    any_entry = true;
    const xmlNode* st = statement_of(entry);
    if (!st) continue;
    if (kind == Section::Unknown && !xml::has_template(st, kNoteActivity)) {
      ++c.stats.entries_skipped;
      continue;
    }
    const std::size_t depth_before = c.depth();
    const std::size_t resources_before = c.out.resources.size();
    const std::size_t targets_before = c.targets.size();
    try {
      if (convert_entry(c, kind, st, activities, goals)) ++c.stats.entries_converted;
      else ++c.stats.entries_skipped;
    } catch (const std::exception&) {
      c.abandon_to(depth_before);
      c.out.resources.resize(resources_before);
      c.targets.resize(targets_before);
      ++c.stats.entries_failed;
    }
  }
  if (!any_entry) ++c.stats.sections_narrative;
  else if (kind == Section::Unknown) ++c.stats.sections_unknown;
  else ++c.stats.sections_converted;
  if (kind == Section::PlanOfCare && (!activities.empty() || !goals.empty()))
    detail::write_care_plan(c, section, activities, goals);
  if (depth < 8)
    for (const xmlNode* comp : children(section, "component"))
      for (const xmlNode* sub : children(comp, "section")) convert_section(c, sub, depth + 1);
}

// Every ID attribute in the document, for <reference value="#id"/> (originalText, text).
void index_narrative(Context& c, const xmlNode* n) {
  std::vector<const xmlNode*> stack{n};
  while (!stack.empty()) {
    const xmlNode* cur = stack.back();
    stack.pop_back();
    for (; cur; cur = cur->next) {
      if (cur->type != XML_ELEMENT_NODE) continue;
      const std::string_view id = attr(cur, "ID");
      if (!id.empty()) c.narrative_ids.emplace(id, cur);
      if (cur->children) stack.push_back(cur->children);
    }
  }
}

std::string ii_text(const xmlNode* id) {
  std::string out(attr(id, "root"));
  const std::string_view ext = attr(id, "extension");
  if (!ext.empty()) out.append("^").append(ext);
  return out;
}

}  // namespace

pipeline::ConvertedMessage convert_ccda_document(const pipeline::ConvertInput& in, const XmlLimits& limits,
                                                 CcdaConvertStats* stats) {
  pipeline::ConvertedMessage out;
  std::string error;
  XmlDocPtr doc = parse_secure_xml(in.payload, limits, error);
  if (!doc) {
    out.error = "C-CDA: " + error;
    return out;
  }
  if (std::string e = check_ccda_root(doc.get()); !e.empty()) {
    out.error = "C-CDA: " + e;
    return out;
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  Context c(in, out);
  try {
    out.control_id = ii_text(child(root, "id"));
    const xmlNode* set_id = child(root, "setId");
    const std::string set_text = set_id && !xml::has_null_flavor(set_id) ? ii_text(set_id) : std::string();
    c.set_key = !set_text.empty() ? set_text : out.control_id;
    if (c.set_key.empty()) {
      out.error = "C-CDA: document has no id";
      return out;
    }
    out.document_set = c.set_key;
    out.document_version = 1;
    const std::string_view version = attr(child(root, "versionNumber"), "value");
    if (!version.empty() && version.size() < 10) {
      int64_t v = 0;
      bool digits = true;
      for (char ch : version) {
        if (ch < '0' || ch > '9') digits = false;
        else v = v * 10 + (ch - '0');
      }
      if (digits && v > 0) out.document_version = v;
    }
    c.document_id = derive_resource_id("DocumentReference", {c.set_key});
    c.document_ref = c.ref("DocumentReference", c.document_id);
    index_narrative(c, root);
    const xmlNode* patient_role = xml::path(root, {"recordTarget", "patientRole"});
    if (!patient_role) {
      out.error = "C-CDA: document has no recordTarget/patientRole";
      return out;
    }
    if (!detail::write_patient(c, patient_role, error)) {
      out.error = "C-CDA: " + error;
      return out;
    }
    detail::write_header_participants(c, root);
    detail::write_encompassing_encounter(c, root);
    for (const xmlNode* comp : children(xml::path(root, {"component", "structuredBody"}), "component"))
      for (const xmlNode* section : children(comp, "section")) convert_section(c, section, 0);
    detail::write_document_reference(c, root, in.payload);
    detail::write_provenance(c, root);
  } catch (const std::exception&) {
    out.resources.clear();
    out.error = "C-CDA: internal error while converting the document";
    return out;
  }
  if (stats) *stats = c.stats;
  out.ok = true;
  return out;
}

std::vector<pipeline::ConvertedMessage> convert_ccda_payload(const pipeline::ConvertInput& in) {
  std::vector<pipeline::ConvertedMessage> results;
  results.push_back(convert_ccda_document(in));
  return results;
}

bool looks_like_ccda(std::string_view head) {
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  while (!head.empty() && (head.front() == ' ' || head.front() == '\t' || head.front() == '\r' || head.front() == '\n'))
    head.remove_prefix(1);
  return !head.empty() && head.front() == '<' && head.find("ClinicalDocument") != std::string_view::npos;
}

}  // namespace phrgate::ccda
