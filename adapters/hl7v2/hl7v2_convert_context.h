// Internal to the HL7 v2 -> FHIR converter: the per-message conversion context and the
// datatype writers (CX/EI identifiers, CWE, XPN, XAD, XTN, XCN, timestamps) shared by the
// Patient, Encounter and Observation/DiagnosticReport writers. Not a public API.
// Everything here writes through ConvertContext::json and must never emit an empty string,
// array or object: callers check *_present() before opening a key.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_message.h"
#include "adapters/hl7v2/fhir_json.h"
#include "adapters/hl7v2/hl7v2_to_fhir.h"

namespace phrgate::hl7v2::detail {

inline constexpr std::string_view kV2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203";
inline constexpr std::string_view kUcum = "http://unitsofmeasure.org";

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Word-at-a-time byte search (HL7 fields and components are scanned many times per message).
inline constexpr uint64_t kByteOnes = 0x0101010101010101ULL;
// The high bit set in exactly the bytes of x that are zero (no false positives from borrows).
inline uint64_t zero_bytes(uint64_t x) {
  constexpr uint64_t k7F = 0x7F7F7F7F7F7F7F7FULL;
  return ~(((x & k7F) + k7F) | x | k7F);
}
inline uint64_t load_word(const char* p) {
  static_assert(std::endian::native == std::endian::little, "byte order of the word scans");
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
// The first `ch` in [p, end), or end.
inline const char* find_byte(const char* p, const char* end, char ch) {
  const uint64_t pattern = kByteOnes * static_cast<unsigned char>(ch);
  for (; end - p >= 8; p += 8)
    if (const uint64_t m = zero_bytes(load_word(p) ^ pattern); m != 0)
      return p + (std::countr_zero(m) >> 3);
  for (; p != end; ++p)
    if (*p == ch) return p;
  return end;
}

// Part n0 (0-based) of `s` split on `sep`.
inline std::string_view nth(std::string_view s, std::size_t n0, char sep) {
  const char* p = s.data();
  const char* const end = p + s.size();
  for (; n0 > 0; --n0) {
    const char* const q = find_byte(p, end, sep);
    if (q == end) return {};
    p = q + 1;
  }
  return std::string_view(p, static_cast<std::size_t>(find_byte(p, end, sep) - p));
}

// One pass over `value`: views of its first N parts separated by `sep`, 1-based like HL7.
template <std::size_t N>
class Split {
 public:
  Split(std::string_view value, char sep) {
    if (value.empty()) return;
    const char* start = value.data();
    const char* p = start;
    const char* const end = start + value.size();
    const uint64_t pattern = kByteOnes * static_cast<unsigned char>(sep);
    for (; end - p >= 8; p += 8) {  // each separator in the word, in order
      for (uint64_t m = zero_bytes(load_word(p) ^ pattern); m != 0; m &= m - 1) {
        const char* const q = p + (std::countr_zero(m) >> 3);
        parts_[count_++] = std::string_view(start, static_cast<std::size_t>(q - start));
        if (count_ == N) return;
        start = q + 1;
      }
    }
    for (; p != end; ++p) {
      if (*p != sep) continue;
      parts_[count_++] = std::string_view(start, static_cast<std::size_t>(p - start));
      if (count_ == N) return;
      start = p + 1;
    }
    parts_[count_++] = std::string_view(start, static_cast<std::size_t>(end - start));
  }
  std::string_view operator[](std::size_t n1) const {
    return n1 >= 1 && n1 <= count_ ? parts_[n1 - 1] : std::string_view{};
  }

 private:
  std::array<std::string_view, N> parts_{};
  std::size_t count_ = 0;
};

// The fields of one non-MSH segment, split once; field(n) as Segment::field(n).
class Fields {
 public:
  explicit Fields(const Segment& s) : split_(s.text(), s.delimiters().field) {}
  std::string_view field(std::size_t n) const { return split_[n + 1]; }

 private:
  Split<72> split_;  // the segment id, then fields 1..71
};

// JSON fragments rendered from message text within one message (OBX-8 interpretations, OBX-6
// unit members, OBX-7 ranges with their units, OBX-14/OBR-7 times, CWE-3 system URIs): the same
// text renders the same bytes, so a repeat is copied instead of decoded, looked up and escaped
// again. Keys are views into the message (or constants), never into scratch buffers. Cleared
// for every message, never carried across messages. Returned views stay valid for the whole
// message (the arena is reserved once; a store that does not fit is dropped).
class RenderMemo {
 public:
  enum class Kind : uint8_t {
    Interpretations,
    UnitMembers,
    DateTime,
    ReferenceRange,
    CodingSystem,
  };
  explicit RenderMemo(std::string& arena) : arena_(arena) {
    arena_.clear();
    if (arena_.capacity() < kArenaBytes) arena_.reserve(kArenaBytes);
  }
  // The fragment stored for (kind, key); empty when none.
  std::string_view find(Kind kind, std::string_view key) const {
    for (std::size_t i = 0; i < count_; ++i) {
      const Entry& e = entries_[i];
      if (e.kind == kind && e.key == key) return {arena_.data() + e.offset, e.size};
    }
    return {};
  }
  // Returns the stored copy, or empty when it was not stored (memo full).
  std::string_view store(Kind kind, std::string_view key, std::string_view fragment) {
    if (count_ == entries_.size() || fragment.empty() ||
        arena_.size() + fragment.size() > arena_.capacity())
      return {};
    entries_[count_++] = Entry{kind, key, arena_.size(), fragment.size()};
    arena_.append(fragment);
    return {arena_.data() + entries_[count_ - 1].offset, fragment.size()};
  }

 private:
  static constexpr std::size_t kArenaBytes = 8192;
  struct Entry {
    Kind kind;
    std::string_view key;
    std::size_t offset;
    std::size_t size;
  };
  std::string& arena_;
  std::array<Entry, 24> entries_{};
  std::size_t count_ = 0;
};

// Scratch space reused across messages on one thread (capacity is kept between messages).
struct ConvertBuffers {
  FhirJson json;
  std::string text_buf;    // text_if() and most single-value reads
  std::string text_buf2;   // for a second live text value
  std::string system_buf;  // identifier / coding system URIs
  std::string time_buf;
  std::string number_buf;
  std::string units_json;  // ObxUnits: the unit members of the current OBX's Quantities
  std::string ref_buf;     // a reference ("<Type>/<id>") being written
  // The open ORU order (one at a time): indices in ConvertResult::resources of its
  // Observations, and (OBX-3.1, OBX-3.3, OBX-4) of its OBX so far (occurrence counter).
  std::vector<std::size_t> order_results;
  std::vector<std::array<std::string_view, 3>> order_seen;
  std::string memo_arena;  // RenderMemo's bytes
  // {"reference": ...} objects for the current patient_ref / encounter_ref, rendered once per
  // message (for_ref: the reference they were rendered for; cleared for every message).
  struct ReferenceJson {
    std::string for_ref;
    std::string json;
  };
  ReferenceJson subject_json, encounter_json;
};

struct ConvertContext {
  ConvertContext(const Message& m, const ConvertOptions& o, ConvertResult& r, ConvertBuffers& b)
      : msg(m), opt(o), d(m.delimiters()), result(r), json(b.json), text_buf(b.text_buf),
        text_buf2(b.text_buf2), system_buf(b.system_buf), time_buf(b.time_buf),
        number_buf(b.number_buf), units_json(b.units_json), ref_buf(b.ref_buf),
        order_results(b.order_results), order_seen(b.order_seen), memo(b.memo_arena),
        subject_json(b.subject_json), encounter_json(b.encounter_json) {
    subject_json.json.clear();
    encounter_json.json.clear();
  }

  const Message& msg;
  const ConvertOptions& opt;
  const Delimiters& d;
  ConvertResult& result;
  FhirJson& json;
  std::string& text_buf;
  std::string& text_buf2;
  std::string& system_buf;
  std::string& time_buf;
  std::string& number_buf;
  std::string& units_json;
  std::string& ref_buf;
  std::vector<std::size_t>& order_results;
  std::vector<std::array<std::string_view, 3>>& order_seen;
  RenderMemo memo;
  ConvertBuffers::ReferenceJson& subject_json;
  ConvertBuffers::ReferenceJson& encounter_json;
  // Calls made to ConvertOptions::unmapped so far: a fragment whose rendering reported
  // something is not memoized (replaying it would skip the report).
  std::size_t unmapped_reports = 0;

  std::string sender;         // see the id rules in hl7v2_to_fhir.h
  std::string patient_id;
  std::string patient_ref;    // "Patient/<id>" or "urn:uuid:<id>"
  std::string encounter_ref;  // empty when the message has no PV1
  // Segments [seg_begin, seg_end) belong to the patient being written (ADT^A17/A40 carry
  // several PID groups; every other message is one group spanning the whole message).
  std::size_t seg_begin = 0;
  std::size_t seg_end = static_cast<std::size_t>(-1);
  // ADT^A40: Patient.link written into the current Patient ("replaces" / "replaced-by").
  std::string patient_link_ref;
  std::string_view patient_link_type;
  // (system, code) pairs already reported unmapped in this message (FNV-1a), so each counts
  // once per message however often the message repeats it. Past 16, reports are not deduped.
  std::array<uint64_t, 16> reported_unmapped{};
  std::size_t reported_unmapped_count = 0;

  // Code table lookup with this source's scope; null when unmapped or without code maps.
  const mapping::MappedCode* map(std::string_view source_system, std::string_view code) const {
    return opt.code_maps ? opt.code_maps->lookup(source_system, code, opt.source_name) : nullptr;
  }
  // Tells ConvertOptions::unmapped (if any) that (system, code) has no mapping row; `system`
  // is the table key a row would need. Only called on a miss, so mapped codes cost nothing.
  // Once per message for each (system, code).
  void report_unmapped(std::string_view system, std::string_view code, std::string_view display) {
    if (!opt.unmapped) return;
    uint64_t h = 14695981039346656037ULL;
    for (std::string_view part : {system, std::string_view("\x1f", 1), code})
      for (char ch : part) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ULL;
      }
    for (std::size_t i = 0; i < reported_unmapped_count; ++i)
      if (reported_unmapped[i] == h) return;
    if (reported_unmapped_count < reported_unmapped.size()) reported_unmapped[reported_unmapped_count++] = h;
    ++unmapped_reports;
    opt.unmapped->unmapped(opt.source_name, system, code, display);
  }
  // The value unescaped and trimmed. Returns a view of `raw` when nothing needed decoding,
  // else a view into `buf` (valid until `buf` is next used).
  std::string_view text(std::string_view raw, std::string& buf) const;
  // key + text(raw), skipped when the text is empty.
  void text_if(std::string_view key, std::string_view raw);
  // "<Type>/<id>" or "urn:uuid:<id>".
  std::string reference(std::string_view type, std::string_view id) const;
  // Writes reference(type, id) as a JSON string value (built in ref_buf, no allocation).
  void reference_value(std::string_view type, std::string_view id);
  // Copies the JSON written since json.reset() into a new result resource. Every resource
  // written before the Provenance is one of its targets (result.resources, in order).
  store::FhirResource& finish_resource(std::string_view type, std::string id);
  // Writes "subject": {"reference": patient_ref}.
  void subject();
  // Writes "encounter": {"reference": encounter_ref} when there is an encounter.
  void encounter();
  // Writes "key": {"reference": ref}, copying the JSON `cache` holds for `ref`.
  void reference_object(std::string_view key, const std::string& ref,
                        ConvertBuffers::ReferenceJson& cache);
};

// Sets result to a failure (no resources) with an error text that must not contain PHI.
void fail(ConvertResult& r, ErrorCode code, std::string text, std::string location);

// ---- HL7 component access (raw, still escaped)
// Component n (1-based), its first subcomponent.
inline std::string_view comp(std::string_view value, std::size_t n, const Delimiters& d) {
  return nth(nth(value, n - 1, d.component), 0, d.subcomponent);
}
// Subcomponent s of component n (both 1-based).
inline std::string_view sub(std::string_view value, std::size_t n, std::size_t s, const Delimiters& d) {
  return nth(nth(value, n - 1, d.component), s - 1, d.subcomponent);
}
// Repetition i (0-based) of a field.
inline std::string_view rep(std::string_view field, std::size_t i, const Delimiters& d) {
  return nth(field, i, d.repetition);
}
inline std::size_t rep_count(std::string_view field, const Delimiters& d) {
  if (field.empty()) return 0;
  std::size_t n = 1;
  for (char ch : field) n += ch == d.repetition;
  return n;
}

// Appends `s` percent-encoded (all but RFC 3986 unreserved characters), for URN parts.
void append_urn_part(std::string& out, std::string_view s);

// ---- Identifiers (CX, EI)
// Appends the Identifier.system URI for an assigning authority given as HD parts
// (namespace id, universal id, universal id type). Falls back to the sender.
void identifier_system(ConvertContext& c, std::string_view ns, std::string_view uid,
                       std::string_view uid_type, std::string& out);
struct IdentifierValue {
  std::string system;
  std::string value;
};
// CX -> system + value (value unescaped and trimmed); false when CX-1 is empty.
bool cx_identifier(ConvertContext& c, std::string_view cx, IdentifierValue& out);
// EI (entity identifier: EI-1 value, EI-2..4 assigner); false when EI-1 is empty.
bool ei_identifier(ConvertContext& c, std::string_view ei, IdentifierValue& out);
// Writes an Identifier object. `type_code` (v2-0203) is looked up through HL70203; when
// empty, `default_type` (a v2-0203 code, may be empty) is used. Adds (system, value) to the
// resource's search identifiers list `index` when not null.
void write_identifier(ConvertContext& c, const IdentifierValue& id, std::string_view type_code,
                      std::string_view default_type,
                      std::vector<std::pair<std::string, std::string>>* index);
// "identifier": [placer (PLAC), filler (FILL)] of an order, each only when present; nothing
// when neither is.
void write_order_identifiers(ConvertContext& c, const IdentifierValue* placer,
                             const IdentifierValue* filler,
                             std::vector<std::pair<std::string, std::string>>* index);

// ---- Coded values (CWE/CE/CNE/IS)
// Appends the FHIR code system URI for a coding system name (CWE-3). An empty name uses
// `default_table` ("HL70002") when given. Rules: HL7nnnn -> v2-nnnn; code map "HL70396";
// else "urn:phrgate:codesystem:<sender>:<name or L>".
void coding_system(ConvertContext& c, std::string_view name, std::string_view default_table,
                   std::string& out);
bool cwe_present(ConvertContext& c, std::string_view cwe);
// Writes a CodeableConcept object. `map_table`: a code map source_system (e.g. "HL70078")
// whose target coding goes first when CWE-1 is found in it. `translate_local`: also look
// CWE-1 up under its own coding system name (local code translation tables).
void write_codeable_concept(ConvertContext& c, std::string_view cwe, std::string_view default_table,
                            std::string_view map_table, bool translate_local);

// ---- Names, addresses, telecom, persons
bool xpn_present(ConvertContext& c, std::string_view xpn);
void write_human_name(ConvertContext& c, std::string_view xpn);
bool xad_present(ConvertContext& c, std::string_view xad);
void write_address(ConvertContext& c, std::string_view xad);
// ContactPoint value per the IG's XTN rules; empty when the XTN has no usable value.
std::string_view xtn_value(ConvertContext& c, std::string_view xtn, std::string& buf);
void write_contact_point(ConvertContext& c, std::string_view xtn, std::string_view default_use);
// "Dr John Q Smith Jr" from an XCN (or the id XCN-1 when no name), appended to `out`.
void xcn_display(ConvertContext& c, std::string_view xcn, std::string& out);

// ---- Times (HL7 DTM/DT -> FHIR), written only when valid; return whether written.
bool write_datetime(ConvertContext& c, std::string_view key, std::string_view raw);
bool write_instant(ConvertContext& c, std::string_view key, std::string_view raw);
// key: {"start", "end"} from two DTMs; nothing when neither is a valid time.
bool write_period(ConvertContext& c, std::string_view key, std::string_view raw_start,
                  std::string_view raw_end);

// ---- Resource writers (one file each)
// Patient from PID (the caller has checked PID-3 and set c.patient_id).
void write_patient(ConvertContext& c, const Fields& pid);
void write_encounter(ConvertContext& c, const Fields& pv1, std::string id);
// Quantity.unit/system/code from a units CWE (OBX-6, RXA-7) into an open Quantity object.
void unit_fields(ConvertContext& c, std::string_view units);
// OBX-6 for the up to three Quantities of one OBX (value, reference range low and high): the
// unit members are written by unit_fields() for the first and copied for the others (same
// bytes, and an unmapped unit is reported once). One instance per OBX, never reused.
class ObxUnits {
 public:
  explicit ObxUnits(std::string_view units) : units_(units) {}
  std::string_view raw() const { return units_; }
  // Writes the unit members into the open Quantity object, after its "value".
  void write(ConvertContext& c);

 private:
  std::string_view units_;
  bool rendered_ = false;
  std::string_view members_;  // once rendered: in c.memo or c.units_json
};
// OBX-5/6 -> Observation.value[x]; false when nothing was written (empty or unsupported type).
bool write_observation_value(ConvertContext& c, const Fields& obx, ObxUnits& units);
// OBX-7 -> Observation.referenceRange (low/high parsed from "a-b", "<b", ">a"; text always).
void write_reference_range(ConvertContext& c, const Fields& obx, ObxUnits& units);
// Observations and DiagnosticReports (ORU order groups, ADT OBX). Returns false after
// fail() when a required field is missing.
bool write_results(ConvertContext& c);
// True when a resource of this type and id was already written by this conversion (the
// same allergen, diagnosis, ... sent twice in one message is written once).
bool already_written(const ConvertContext& c, std::string_view type, std::string_view id);
// ADT/VXU clinical segments, one resource each (skipped when the segment has no content).
void write_allergy(ConvertContext& c, std::size_t index);  // AL1 (+ NTE) -> AllergyIntolerance
void write_condition(ConvertContext& c, const Fields& dg1);         // DG1 -> Condition
void write_procedure(ConvertContext& c, const Fields& pr1);         // PR1 -> Procedure
void write_related_person(ConvertContext& c, const Fields& nk1);    // NK1 -> RelatedPerson
// RXA (+ its RXR, may be null) -> Immunization (VXU^V04).
void write_immunization(ConvertContext& c, const Fields& rxa, const Segment* rxr);
// ORC/OBR order groups -> ServiceRequests (ORM^O01, OML^O21).
void write_service_requests(ConvertContext& c);
// "note": [{"text"}...] from the NTE segments right after segs[index] (NTE-3 repetitions
// joined by newlines); nothing when there are none.
void write_notes(ConvertContext& c, std::size_t index);
// IAM -> AllergyIntolerance (ADT^A60), same id rule as AL1; IAM-6 D -> entered-in-error.
void write_allergy_iam(ConvertContext& c, std::size_t index);
// ADT^A40/A34/A39: the prior Patient named by MRG-1 (else MRG-4) (active false, link
// replaced-by to the current Patient). Returns its id ("" when MRG has no prior identifier).
std::string write_merged_patient(ConvertContext& c, const Fields& mrg);
// The prior patient's key identifier of a merge: MRG-1, else MRG-4 (A34/A39 before 2.3.1).
bool prior_patient_key(ConvertContext& c, const Fields& mrg, IdentifierValue& out);
// The Patient id for a CX list (PID-3, MRG-1): first repetition typed MR, else the first
// with a value; false when none has a value.
bool key_identifier(ConvertContext& c, std::string_view cx_list, IdentifierValue& out);
// IN1 (+ the IN2 after it, unused) -> Coverage with its payor Organization.
void write_coverage(ConvertContext& c, std::size_t index);
// OBX ED/RP -> DocumentReference (attachment data or url); `related`: DiagnosticReport ref.
// Returns false when the OBX carried nothing usable.
bool write_obx_document(ConvertContext& c, const Fields& obx, std::string id,
                        std::string_view code_cwe, std::string_view related);
// TXA + its OBX TX/ED/RP -> DocumentReference (MDM^T02).
void write_mdm_document(ConvertContext& c);
// RDE^O11 (ORC/RXE/RXR/TQ1 -> MedicationRequest), RAS^O17 (RXA/RXR -> MedicationAdministration).
void write_pharmacy(ConvertContext& c);
// PRB -> Condition (PPR^PC1).
void write_problem(ConvertContext& c, std::size_t index);
// SCH (+ TQ1, AIS, AIG, AIL, AIP up to the next SCH) -> Appointment (SIU^S12..S15).
void write_appointment(ConvertContext& c, std::size_t sch_index);

}  // namespace phrgate::hl7v2::detail
