// Internal to the C-CDA -> FHIR converter: the per-document conversion context (JSON
// writers, ids, the narrative index for originalText references, counters) and the CDA
// datatype writers (II, CD, TS/IVL_TS, PQ, names, addresses, telecoms, participants) that
// every section file uses. Not a public API. Writers never emit an empty string, array or
// object: each *_if helper checks first and returns whether it wrote anything.
#pragma once

#include <libxml/tree.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "adapters/ccda/ccda_to_fhir.h"
#include "adapters/ccda/ccda_xml.h"
#include "gateway/pipeline/converter.h"

namespace phrgate::ccda::detail {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using IdentifierIndex = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kDataAbsentUrl = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
inline constexpr std::string_view kUcum = "http://unitsofmeasure.org";
inline constexpr std::string_view kLoinc = "http://loinc.org";
inline constexpr std::string_view kSnomed = "http://snomed.info/sct";

using ConvertStats = CcdaConvertStats;

class Context {
 public:
  Context(const pipeline::ConvertInput& input, pipeline::ConvertedMessage& output)
      : in(input), out(output) {}

  const pipeline::ConvertInput& in;
  pipeline::ConvertedMessage& out;
  std::string set_key;          // document set key: ids of entries are scoped by it
  std::string patient_id;
  std::string patient_ref;
  std::string document_id;      // the DocumentReference holding the original XML
  std::string document_ref;
  std::string encounter_ref;    // encompassingEncounter, when present
  std::vector<std::string> author_refs;   // document authors (Practitioner/Organization)
  std::string custodian_ref;
  std::vector<std::string> targets;       // every derived resource, for the Provenance
  std::unordered_map<std::string_view, const xmlNode*> narrative_ids;  // ID attribute -> node
  ConvertStats stats;

  // ---- JSON: one writer per open resource (a resource may be started while another is
  // being written, e.g. a performer's Practitioner), reused across resources.
  Writer& w() { return slots_[depth_ - 1]->writer; }
  // Starts {"resourceType":type,"id":id}; false (nothing started) when this (type, id) was
  // already written by this conversion.
  bool begin(std::string_view type, const std::string& id);
  // Closes the resource and adds it to the result (and to the Provenance targets).
  void finish(IdentifierIndex identifiers = {}, bool only_if_absent = false);
  // Drops open resources down to `depth` (after an entry failed).
  void abandon_to(std::size_t depth);
  std::size_t depth() const { return depth_; }
  bool written(std::string_view type, const std::string& id) const;
  std::string ref(std::string_view type, std::string_view id) const;

  // ---- ids: ("Type", set key, "id", root, extension) of the first usable <id> of `node`,
  // else ("Type", set key, "content", the node's content digest) so unchanged entries keep
  // their ids across versions of the document. `salt` distinguishes several resources of
  // one type derived from the same node.
  std::string entry_id(std::string_view type, const xmlNode* node, std::string_view salt = {}) const;

  // ---- code maps
  // FHIR system URI for an OID (mappings/oids), "urn:uuid:" for a UUID, else "urn:oid:".
  void system_for(std::string_view root, std::string& out) const;

  // ---- small JSON helpers
  void key(std::string_view k) { w().Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
  void string(std::string_view v) { w().String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
  void str_if(std::string_view k, std::string_view v) {
    if (v.empty()) return;
    key(k);
    string(v);
  }
  void raw_number(std::string_view n) {
    w().RawValue(n.data(), n.size(), rapidjson::kNumberType);
  }
  void reference(std::string_view k, std::string_view r) {
    key(k);
    w().StartObject();
    str_if("reference", r);
    w().EndObject();
  }
  // k: [{"reference": r}, ...]; nothing when refs is empty.
  void reference_list(std::string_view k, const std::vector<std::string>& refs) {
    if (refs.empty()) return;
    key(k);
    w().StartArray();
    for (const auto& r : refs) {
      w().StartObject();
      str_if("reference", r);
      w().EndObject();
    }
    w().EndArray();
  }
  void subject(std::string_view k = "subject") { reference(k, patient_ref); }
  // {"coding":[{system,code,display}]}
  void codeable(std::string_view k, std::string_view system, std::string_view code, std::string_view display);
  // {"coding":[{system,code,display}]} as an array element (no key).
  void codeable_value(std::string_view system, std::string_view code, std::string_view display);
  // "k": {"extension":[{"url": data-absent-reason, "valueCode": "unknown"}]}
  void data_absent(std::string_view k, std::string_view reason = "unknown");

 private:
  struct Slot {
    rapidjson::StringBuffer buffer;
    Writer writer{buffer};
    std::string type;
    std::string id;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::size_t depth_ = 0;
  std::unordered_set<std::string> written_;  // "Type/id"
  // The first entry given each "Type/id" (entry_id), to tell reused ids apart. The nodes
  // belong to the document, which outlives the conversion.
  mutable std::unordered_map<std::string, const xmlNode*> first_entry_;
};

// ---- datatypes (ccda_datatypes.cpp)
struct Ident {
  std::string system;
  std::string value;
};
// II -> Identifier parts; false for a nullFlavor or an id without root.
bool identifier_of(const Context& c, const xmlNode* id, Ident& out);
// "identifier": [...] from every <id> child of `parent`; nothing when none is usable.
void identifiers_if(Context& c, const xmlNode* parent, IdentifierIndex* index);
// The text of a CD's originalText (its <reference value="#x"/> resolved in the narrative).
std::string original_text(const Context& c, const xmlNode* cd);
// The narrative text a <text> or <originalText> element points at, or its own text.
std::string referenced_text(const Context& c, const xmlNode* holder);
bool cd_present(const Context& c, const xmlNode* cd);
// A CodeableConcept value (call only when cd_present): the coding, translations as extra
// codings, text from originalText else displayName.
void codeable_concept(Context& c, const xmlNode* cd);
bool codeable_concept_if(Context& c, std::string_view k, const xmlNode* cd);
// The same, or the data-absent-reason extension when the concept is absent (required elements).
void codeable_concept_or_absent(Context& c, std::string_view k, const xmlNode* cd);
// "k": [concept] for a 0..* CodeableConcept.
bool codeable_concept_list_if(Context& c, std::string_view k, const xmlNode* cd);
// The first coding's (system URI, code) of a CD, for lookups; empty when none.
std::string_view cd_code(const xmlNode* cd);

enum class TimeKind { Date, DateTime, Instant };
// HL7 TS (YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]) -> FHIR. Times without a zone get
// `default_zone`. Instant pads a time of day to seconds; false when not a valid TS (or, for
// Instant, when there is no time of day).
bool ts_to_fhir(std::string_view ts, std::string_view default_zone, TimeKind kind, std::string& out);
bool time_if(Context& c, std::string_view k, std::string_view ts, TimeKind kind = TimeKind::DateTime);
// IVL_TS or TS element -> "<prefix>DateTime" (single value) or "<prefix>Period"; false when
// nothing usable.
bool effective_if(Context& c, std::string_view prefix, const xmlNode* ivl);
bool period_if(Context& c, std::string_view k, const xmlNode* ivl);
// True when period_if() would write something.
bool period_present(const Context& c, const xmlNode* ivl);
// DocumentReference.context: the document's encounter and the period of `ivl`, when either is
// known (nothing otherwise).
void document_context_if(Context& c, const xmlNode* ivl);
// The single time of an IVL_TS/TS: @value, else low/@value, else high/@value.
std::string_view point_time(const xmlNode* ivl);
// PQ -> Quantity object value (no key); false when the value is not a number.
bool quantity_if(Context& c, std::string_view k, const xmlNode* pq);
// A CDA decimal ("0.5", ".5", "+7", "1e3" refused) as a FHIR decimal.
bool fhir_decimal(std::string_view v, std::string& out);
void names_if(Context& c, const xmlNode* parent);
// `organization`: never use "home" (FHIR org-2, org-3).
void addresses_if(Context& c, const xmlNode* parent, bool organization = false);
void telecoms_if(Context& c, const xmlNode* parent, bool organization = false);
// assignedAuthor / assignedEntity / performer roles -> a Practitioner (with assignedPerson)
// or the represented Organization; returns the reference, "" when nobody is named.
std::string practitioner_for(Context& c, const xmlNode* assigned);
std::string organization_for(Context& c, const xmlNode* org);
// The reference of an author / performer participation (author, performer, ...).
std::string participant_ref(Context& c, const xmlNode* participation);

std::string base64(std::string_view bytes);

// ---- header and sections (one file per family)
bool write_patient(Context& c, const xmlNode* patient_role, std::string& error);
void write_header_participants(Context& c, const xmlNode* root);
void write_encompassing_encounter(Context& c, const xmlNode* root);
void write_document_reference(Context& c, const xmlNode* root, std::string_view xml);
void write_provenance(Context& c, const xmlNode* root);

// Each returns true when the entry produced at least one resource.
bool convert_allergy(Context& c, const xmlNode* act);
bool convert_medication(Context& c, const xmlNode* sa);
bool convert_problem(Context& c, const xmlNode* act, std::string_view category);
// One problem observation (inside concern act `act`, may be null) -> Condition `id`.
bool write_condition(Context& c, const xmlNode* act, const xmlNode* obs, std::string_view category,
                     const std::string& id, std::string_view encounter_ref);
// The observations of a concern act (problem, allergy, health concern), status ones excluded.
std::vector<const xmlNode*> concern_observations(const xmlNode* act);
bool convert_result(Context& c, const xmlNode* node, bool vital_signs);
struct ObservationCategory {
  std::string_view system;
  std::string_view code;
  std::string_view display;
};
inline constexpr std::string_view kObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category";
// An observation -> Observation `id` (status, category, code, effective, value[x],
// interpretation, referenceRange, performer, hasMember). `fixed_code`: a LOINC code the
// template defines when the observation's own code is a generic one (e.g. ASSERTION).
bool write_observation(Context& c, const xmlNode* obs, const std::string& id,
                       const std::vector<ObservationCategory>& categories,
                       const std::vector<std::string>* members = nullptr,
                       std::string_view fixed_loinc = {}, std::string_view fixed_display = {});
bool convert_immunization(Context& c, const xmlNode* sa);
bool convert_procedure(Context& c, const xmlNode* node);
bool convert_encounter(Context& c, const xmlNode* enc);
// Social history, functional and mental status observations; category per the section.
bool convert_status_observation(Context& c, const xmlNode* node, std::string_view section_kind);
// Planned acts (moodCode INT, RQO, PRP...) -> ServiceRequest / MedicationRequest; goals.
// Appends the references written to `activities` / `goals` for the section's CarePlan.
bool convert_plan_entry(Context& c, const xmlNode* node, std::vector<std::string>& activities,
                        std::vector<std::string>& goals);
void write_care_plan(Context& c, const xmlNode* section, const std::vector<std::string>& activities,
                     const std::vector<std::string>& goals);
bool convert_note(Context& c, const xmlNode* act);
// Family History Organizer -> FamilyMemberHistory (relationship, sex, conditions, onset age).
bool convert_family_history(Context& c, const xmlNode* organizer);

// ---- observation trees and devices (ccda_observations.cpp, ccda_devices.cpp)
// write_observation() with a `focus` (the resource the observation is about, e.g. the
// ServiceRequest a priority preference belongs to) and optional hasMember references.
struct ObservationLinks {
  const std::vector<std::string>* members = nullptr;
  std::string_view focus;
};
bool write_linked_observation(Context& c, const xmlNode* obs, const std::string& id,
                              const std::vector<ObservationCategory>& categories, const ObservationLinks& links);
// The observations under `node`'s entryRelationships (recursively, nested ones as hasMember)
// -> Observations with focus `focus_ref`; templates in `skip` are left to the caller. Returns
// the references written.
std::vector<std::string> write_related_observations(Context& c, const xmlNode* node, std::string_view focus_ref,
                                                    std::initializer_list<std::string_view> skip = {});
// Exam, skin findings, nutrition, advance directives, imaging findings: observation and
// organizer entries -> Observations (nested observations as hasMember). `kind` picks the category.
bool convert_observation_entry(Context& c, const xmlNode* node, std::string_view kind);
// Medical equipment: Non-Medicinal Supply Activity (and organizers of them) -> Device +
// DeviceUseStatement; procedures -> convert_procedure().
bool convert_device_entry(Context& c, const xmlNode* node);
// Payers: Coverage Activity / Policy Activity -> Coverage (ccda_payers.cpp).
bool convert_payer_entry(Context& c, const xmlNode* node);
// The Planned Coverage acts under `node` -> Coverages; their references (for .insurance).
std::vector<std::string> write_planned_coverages(Context& c, const xmlNode* node);

// ---- indications (ccda_indications.cpp)
// The Indication observations (entryRelationship RSON) of an activity -> Observations (call
// before opening the activity's resource); returns their references.
std::vector<std::string> write_indications(Context& c, const xmlNode* node);
// "reasonCode" (the indications' values) and "reasonReference" (`refs`), when there are any.
void reasons_if(Context& c, const xmlNode* node, const std::vector<std::string>& refs);

}  // namespace phrgate::ccda::detail
