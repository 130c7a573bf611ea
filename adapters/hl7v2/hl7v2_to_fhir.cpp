// HL7 v2 -> FHIR R4 entry point: checks the message type and required segments, derives the
// sender and the Patient/Encounter ids (rules in hl7v2_to_fhir.h), runs the resource writers
// and appends the Provenance. Hot path: one thread-local JSON buffer and scratch strings are
// reused across messages; errors never quote message content.
#include "adapters/hl7v2/hl7v2_to_fhir.h"

#include <algorithm>
#include <optional>

#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2 {
namespace detail {

std::string_view ConvertContext::text(std::string_view raw, std::string& buf) const {
  raw = trim(raw);
  if (find_byte(raw.data(), raw.data() + raw.size(), d.escape) == raw.data() + raw.size())
    return raw;  // nothing escaped: most values
  buf.clear();
  unescape_append(buf, raw, d);
  return trim(buf);
}

void ConvertContext::text_if(std::string_view key, std::string_view raw) {
  json.string_if(key, text(raw, text_buf));
}

std::string ConvertContext::reference(std::string_view type, std::string_view id) const {
  std::string ref;
  ref.reserve(type.size() + id.size() + 9);
  if (opt.uuid_references) {
    ref.append("urn:uuid:");
  } else {
    ref.append(type);
    ref.push_back('/');
  }
  ref.append(id);
  return ref;
}

void ConvertContext::reference_value(std::string_view type, std::string_view id) {
  ref_buf.clear();
  if (opt.uuid_references) {
    ref_buf.append("urn:uuid:");
  } else {
    ref_buf.append(type);
    ref_buf.push_back('/');
  }
  ref_buf.append(id);
  json.string(ref_buf);
}

store::FhirResource& ConvertContext::finish_resource(std::string_view type, std::string id) {
  store::FhirResource& r = result.resources.emplace_back();
  r.type.assign(type);
  r.id = std::move(id);
  r.person_id = patient_id;
  r.json.assign(json.view());
  return r;
}

void fail(ConvertResult& r, ErrorCode code, std::string text, std::string location) {
  r.ok = false;
  r.error_code = code;
  r.error = std::move(text);
  r.error_location = std::move(location);
  r.person_id.clear();
  r.resources.clear();
}

void ConvertContext::reference_object(std::string_view key, const std::string& ref,
                                      ConvertBuffers::ReferenceJson& cache) {
  json.key(key);
  if (cache.json.empty() || cache.for_ref != ref) {
    const std::size_t start = json.view().size();
    json.start_object();
    json.key("reference");
    json.string(ref);
    json.end_object();
    cache.json.assign(json.view().substr(start));
    cache.for_ref.assign(ref);
    return;
  }
  json.raw_value(cache.json);
}

void ConvertContext::subject() { reference_object("subject", patient_ref, subject_json); }

void ConvertContext::encounter() {
  if (!encounter_ref.empty()) reference_object("encounter", encounter_ref, encounter_json);
}

}  // namespace detail

namespace {

using detail::comp;
using detail::ConvertContext;
using detail::fail;
using detail::Fields;
using detail::rep;
using detail::rep_count;
using detail::trim;

// sender: MSH-4.1, else MSH-4.2, else MSH-3.1, else the configured source name.
void derive_sender(ConvertContext& c) {
  const MessageHeader& h = c.msg.header();
  std::string_view s = c.text(comp(h.sending_facility, 1, c.d), c.text_buf);
  if (s.empty()) s = trim(comp(h.sending_facility, 2, c.d));
  if (s.empty()) s = c.text(comp(h.sending_application, 1, c.d), c.text_buf);
  if (s.empty()) s = c.opt.source_name;
  c.sender.assign(s);
}

std::string encounter_id(ConvertContext& c, const Fields& pv1) {
  detail::IdentifierValue visit;
  if (detail::cx_identifier(c, rep(pv1.field(19), 0, c.d), visit))
    return derive_resource_id("Encounter", {visit.system, visit.value});
  const std::string_view admit = trim(comp(pv1.field(44), 1, c.d));
  if (!admit.empty()) return derive_resource_id("Encounter", {"admit", c.patient_id, admit});
  return derive_resource_id("Encounter", {"msh-10", c.sender, trim(c.msg.header().control_id)});
}

// Clinical segments of the current patient group in message order: AL1, IAM, DG1, PR1, NK1,
// IN1, PRB, SCH (with its TQ1/AIS/AIG/AIL/AIP), RXA (with the RXR that follows it before the
// next RXA or ORC).
void write_clinical_segments(ConvertContext& c) {
  const auto& segs = c.msg.segments();
  const std::size_t end = std::min(segs.size(), c.seg_end);
  for (std::size_t i = c.seg_begin; i < end; ++i) {
    const std::string_view id = segs[i].id();
    if (id == "AL1") {
      detail::write_allergy(c, i);
    } else if (id == "IAM") {
      detail::write_allergy_iam(c, i);
    } else if (id == "DG1") {
      detail::write_condition(c, detail::Fields(segs[i]));
    } else if (id == "PR1") {
      detail::write_procedure(c, detail::Fields(segs[i]));
    } else if (id == "NK1") {
      detail::write_related_person(c, detail::Fields(segs[i]));
    } else if (id == "IN1") {
      detail::write_coverage(c, i);
    } else if (id == "PRB") {
      detail::write_problem(c, i);
    } else if (id == "SCH") {
      detail::write_appointment(c, i);
    } else if (id == "RXA" && c.msg.header().message_code == "VXU") {
      const Segment* rxr = nullptr;
      for (std::size_t k = i + 1; k < end && !rxr; ++k) {
        const std::string_view next = segs[k].id();
        if (next == "RXA" || next == "ORC") break;
        if (next == "RXR") rxr = &segs[k];
      }
      detail::write_immunization(c, detail::Fields(segs[i]), rxr);
    }
  }
}

// Provenance.activity UPDATE (else CREATE): ADT events that change what an earlier message
// created (transfer, discharge, cancels, updates, swap, merge, allergy updates).
bool creates_nothing_new(std::string_view trigger) {
  return trigger == "A02" || trigger == "A03" || trigger == "A06" || trigger == "A07" ||
         trigger == "A08" || trigger == "A11" || trigger == "A12" || trigger == "A13" ||
         trigger == "A17" || trigger == "A31" || trigger == "A34" || trigger == "A35" ||
         trigger == "A39" || trigger == "A40" || trigger == "A60";
}

void write_provenance(ConvertContext& c) {
  const MessageHeader& h = c.msg.header();
  const std::string_view control_id = trim(h.control_id);
  detail::FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Provenance");
  std::string id = derive_resource_id("Provenance", {c.sender, control_id});
  j.string_if("id", id);
  j.key("target");
  j.start_array();
  for (const store::FhirResource& r : c.result.resources) {  // all written so far
    j.start_object();
    j.key("reference");
    c.reference_value(r.type, r.id);
    j.end_object();
  }
  j.end_array();
  if (!detail::write_instant(c, "recorded", h.date_time)) {
    j.key("recorded");
    j.string(now_fhir_instant());
  }
  const bool update = h.message_code == "ADT" && creates_nothing_new(h.trigger_event);
  j.key("activity");
  j.start_object();
  j.key("coding");
  j.start_array();
  j.coding("http://terminology.hl7.org/CodeSystem/v3-DataOperation", update ? "UPDATE" : "CREATE",
           update ? "revise" : "create");
  j.end_array();
  std::string& text = c.system_buf;
  text.assign("HL7 v2 message ").append(trim(h.message_code)).append("^").append(trim(h.trigger_event));
  j.string_if("text", text);
  j.end_object();

  j.key("agent");
  j.start_array();
  // The sending facility authored the data (IG MSH[Provenance-Source]: MSH-4 -> agent author).
  j.start_object();
  j.codeable_concept("type", "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author");
  j.key("who");
  j.start_object();
  text.clear();
  const std::string_view fac_ns = c.text(comp(h.sending_facility, 1, c.d), c.text_buf);
  const std::string_view fac_uid = trim(comp(h.sending_facility, 2, c.d));
  text.append(fac_ns);
  if (!fac_uid.empty()) text.append(fac_ns.empty() ? "" : " (").append(fac_uid).append(fac_ns.empty() ? "" : ")");
  if (text.empty()) text.assign(c.sender);
  if (text.empty()) text.assign("unknown sender");
  j.string_if("display", text);
  j.end_object();
  j.end_object();
  // phrgate assembled the FHIR resources (IG MSH[Provenance-Transformation]).
  j.start_object();
  j.codeable_concept("type", "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "assembler",
           "Assembler");
  j.key("who");
  j.start_object();
  j.string_if("display", "phrgate HL7 v2 converter");
  j.end_object();
  j.end_object();
  j.end_array();

  if (!control_id.empty()) {
    j.key("entity");
    j.start_array();
    j.start_object();
    j.string_if("role", "source");
    j.key("what");
    j.start_object();
    j.key("identifier");
    j.start_object();
    text.assign("urn:phrgate:msh-10:");
    detail::append_urn_part(text, c.sender);
    j.string_if("system", text);
    j.string_if("value", c.text(control_id, c.text_buf));
    j.end_object();
    j.end_object();
    j.end_object();
    j.end_array();
  }
  j.end_object();
  c.finish_resource("Provenance", std::move(id));
}

}  // namespace

namespace {

// Every supported message type and trigger event, with the segments it cannot do without
// (the converter and the acceptance rules both read this one list).
struct MessageKind {
  std::string_view code;
  std::string_view trigger;
  std::string_view required[2];
};
constexpr MessageKind kMessageKinds[] = {
    {"ADT", "A01", {}}, {"ADT", "A02", {}}, {"ADT", "A03", {}}, {"ADT", "A04", {}},
    {"ADT", "A05", {}}, {"ADT", "A06", {}}, {"ADT", "A07", {}}, {"ADT", "A08", {}},
    {"ADT", "A11", {}}, {"ADT", "A12", {}}, {"ADT", "A13", {}}, {"ADT", "A17", {}},
    {"ADT", "A28", {}}, {"ADT", "A31", {}}, {"ADT", "A34", {"MRG"}}, {"ADT", "A35", {"MRG"}},
    {"ADT", "A39", {"MRG"}}, {"ADT", "A40", {"MRG"}}, {"ADT", "A60", {"IAM"}},
    {"ORU", "R01", {"OBR", "OBX"}}, {"VXU", "V04", {"RXA"}}, {"ORM", "O01", {"OBR"}},
    {"OML", "O21", {"OBR"}}, {"MDM", "T02", {"TXA"}}, {"PPR", "PC1", {"PRB"}},
    {"RDE", "O11", {"RXE"}}, {"RAS", "O17", {"RXA"}},
    {"SIU", "S12", {"SCH"}}, {"SIU", "S13", {"SCH"}}, {"SIU", "S14", {"SCH"}}, {"SIU", "S15", {"SCH"}},
};

const MessageKind* message_kind(const MessageHeader& h) {
  for (const MessageKind& k : kMessageKinds)
    if (k.code == h.message_code && k.trigger == h.trigger_event) return &k;
  return nullptr;
}

// ADT events whose PV1 is not a visit of their own: the Patient (and patient-level
// segments) only.
bool patient_only(const MessageHeader& h) {
  return h.message_code == "ADT" &&
         (h.trigger_event == "A28" || h.trigger_event == "A31" || h.trigger_event == "A34" ||
          h.trigger_event == "A35" || h.trigger_event == "A39" || h.trigger_event == "A40" ||
          h.trigger_event == "A60");
}

// Merges of patient identifiers: A40 (patient identifier list), A34 (patient id only, its
// older form) and A39 (merge person). A35 merges account numbers only: no identity change.
bool merges_patients(const MessageHeader& h) {
  return h.message_code == "ADT" &&
         (h.trigger_event == "A34" || h.trigger_event == "A39" || h.trigger_event == "A40");
}

// ADT events that carry one PID group per patient (A17 swap: two; A39/A40 merges: one or more).
bool several_patients(const MessageHeader& h) {
  return h.message_code == "ADT" &&
         (h.trigger_event == "A17" || h.trigger_event == "A39" || h.trigger_event == "A40");
}

}  // namespace

bool is_supported(const MessageHeader& h) { return message_kind(h) != nullptr; }

bool is_known_message_code(std::string_view code) {
  for (const MessageKind& k : kMessageKinds)
    if (k.code == code) return true;
  return false;
}

std::string_view missing_segment(const Message& msg) {
  const MessageKind* k = message_kind(msg.header());
  if (!k) return {};
  for (std::string_view seg : k->required)
    if (!seg.empty() && !msg.find(seg)) return seg;
  return {};
}

ConvertResult convert_to_fhir(const Message& msg, const ConvertOptions& opt) {
  ConvertResult result;
  const MessageHeader& h = msg.header();
  if (!is_supported(h)) {
    if (is_known_message_code(h.message_code))
      fail(result, ErrorCode::UnsupportedEventCode, "unsupported trigger event for this message type",
           "MSH-9.2");
    else
      fail(result, ErrorCode::UnsupportedMessageType, "unsupported message type", "MSH-9.1");
    return result;
  }
  if (trim(h.control_id).empty()) {
    fail(result, ErrorCode::RequiredFieldMissing, "message control id (MSH-10) is empty", "MSH-10");
    return result;
  }
  std::vector<const Segment*> pids;
  msg.find_all("PID", pids);
  if (pids.empty()) {
    fail(result, ErrorCode::SegmentSequence, "PID segment missing", "PID");
    return result;
  }
  if (pids.size() > 1 && !several_patients(h)) {
    fail(result, ErrorCode::SegmentSequence,
         "more than one PID segment: one message must concern one patient", "PID");
    return result;
  }
  if (const std::string_view missing = missing_segment(msg); !missing.empty()) {
    std::string text("required segment ");
    text.append(missing).append(" is missing for this message type");
    fail(result, ErrorCode::SegmentSequence, std::move(text), std::string(missing));
    return result;
  }
  const bool is_oru = h.message_code == "ORU";
  const bool is_order = h.message_code == "ORM" || h.message_code == "OML";

  thread_local detail::ConvertBuffers buffers;
  ConvertContext c(msg, opt, result, buffers);
  derive_sender(c);
  const auto& segs = msg.segments();
  // Mostly one resource per segment or fewer (+ the Provenance): reserved once.
  result.resources.reserve(segs.size() + 1);
  // One group per PID: the segments from a PID up to the next one (the first group also
  // holds what precedes its PID). Only ADT^A17/A40 have more than one.
  std::size_t group_begin = 0;
  for (std::size_t g = 0; g < pids.size(); ++g) {
    std::size_t group_end = segs.size();
    if (g + 1 < pids.size())
      for (std::size_t i = group_begin + 1; i < segs.size(); ++i)
        if (&segs[i] == pids[g + 1]) {
          group_end = i;
          break;
        }
    c.seg_begin = group_begin;
    c.seg_end = group_end;
    const detail::Fields pid(*pids[g]);
    detail::IdentifierValue key;
    // Versions 2.1-2.3 often carry the patient's id in PID-2 (external id) with PID-3 empty.
    if (!detail::key_identifier(c, pid.field(3), key) && !detail::key_identifier(c, pid.field(2), key)) {
      fail(result, ErrorCode::RequiredFieldMissing, "patient identifier list (PID-3) has no identifier",
           "PID-3");
      return result;
    }
    c.patient_id = patient_resource_id(key.system, key.value);
    c.patient_ref = c.reference("Patient", c.patient_id);
    c.encounter_ref.clear();
    if (g == 0) result.person_id = c.patient_id;
    const Segment* pv1_segment = nullptr;
    const Segment* mrg_segment = nullptr;
    for (std::size_t i = group_begin; i < group_end; ++i) {
      if (!pv1_segment && segs[i].id() == "PV1") pv1_segment = &segs[i];
      if (!mrg_segment && segs[i].id() == "MRG") mrg_segment = &segs[i];
    }
    // ADT^A40/A34/A39: the surviving Patient links to the prior one (MRG-1, or MRG-4 in
    // older A34/A39), which links back.
    std::optional<detail::Fields> mrg;
    c.patient_link_ref.clear();
    if (mrg_segment && merges_patients(h)) {
      mrg.emplace(*mrg_segment);
      detail::IdentifierValue prior;
      if (detail::prior_patient_key(c, *mrg, prior)) {
        const std::string prior_id = derive_resource_id("Patient", {prior.system, prior.value});
        if (prior_id != c.patient_id) {
          c.patient_link_ref = c.reference("Patient", prior_id);
          c.patient_link_type = "replaces";
        }
      }
    }
    detail::write_patient(c, pid);
    if (!c.patient_link_ref.empty()) detail::write_merged_patient(c, *mrg);
    c.patient_link_ref.clear();
    if (pv1_segment && !patient_only(h)) {
      const detail::Fields pv1(*pv1_segment);
      std::string id = encounter_id(c, pv1);
      c.encounter_ref = c.reference("Encounter", id);
      detail::write_encounter(c, pv1, std::move(id));
    }
    if (!detail::write_results(c)) return result;  // result carries the error
    // The IG's ORM/OML maps reuse the AL1/DG1/NK1 segment maps (patient and order groups).
    if (!is_oru) write_clinical_segments(c);
    group_begin = group_end;
  }
  c.seg_begin = 0;
  c.seg_end = segs.size();
  if (is_order) detail::write_service_requests(c);
  if (h.message_code == "MDM") detail::write_mdm_document(c);
  if (h.message_code == "RDE" || h.message_code == "RAS") detail::write_pharmacy(c);
  write_provenance(c);
  // Only ADT (and VXU) messages speak for a patient's demographics and visits. The PID and
  // PV1 of a result or order message are context: they create the Patient and Encounter when they are new,
  // but never overwrite what an ADT feed recorded (conditional create, not update).
  if (h.message_code != "ADT" && h.message_code != "VXU")
    for (auto& r : result.resources)
      if (r.type == "Patient" || r.type == "Encounter") r.only_if_absent = true;
  result.mapping_version = opt.code_maps ? opt.code_maps->version() : std::string();
  result.ok = true;
  return result;
}

}  // namespace phrgate::hl7v2
