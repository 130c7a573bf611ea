// OBR/OBX/NTE -> DiagnosticReport and Observation, walking the ORU^R01 ORDER_OBSERVATION
// groups (ORC? OBR NTE* (OBX NTE*)*) and ADT OBX segments in message order. Ids follow the
// rules in hl7v2_to_fhir.h so that corrections (same order number, new MSH-10) update the
// same resources. Required elements (status, code) are always written: an OBR without OBR-4
// yields no DiagnosticReport, an OBX without OBX-3 takes OBR-4, else the message fails.
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr std::string_view kDataAbsentReason =
    "http://terminology.hl7.org/CodeSystem/data-absent-reason";
// Every Observation of an order has this category: written as the JSON the writer would make.
constexpr std::string_view kLaboratoryCategory =
    R"([{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",)"
    R"("code":"laboratory","display":"Laboratory"}]}])";

// One ORDER_OBSERVATION group (an OBR and the ORC before it).
// Its lists live in the context's reused buffers: one Order is open at a time.
struct Order {
  Order(const Segment& obr_segment, ConvertContext& c)
      : obr(obr_segment), result_indices(c.order_results), seen(c.order_seen) {
    result_indices.clear();
    seen.clear();
  }
  Fields obr;
  std::optional<Fields> orc;
  std::string_view kind;  // "filler", "placer" or "msh-10"
  IdentifierValue number;
  std::string_view code;  // OBR-4 (first repetition); empty: no DiagnosticReport is written
  std::string id;         // DiagnosticReport id
  // Its Observations: indices in ConvertResult::resources.
  std::vector<std::size_t>& result_indices;
  std::string issued;  // OBR-22 as a FHIR instant, "" when absent (see order_issued)
  // (OBX-3.1, OBX-3.3, OBX-4) of the OBX seen so far, for the occurrence counter.
  std::vector<std::array<std::string_view, 3>>& seen;
  // ("Observation", sender, kind, system, value) hashed once for this order's Observation ids
  // (unset for kind "msh-10").
  std::optional<ResourceIdPrefix> observation_ids;
};

std::string_view order_field(const Order& o, std::size_t obr_field, std::size_t orc_field,
                             const Delimiters& d) {
  std::string_view v = rep(o.obr.field(obr_field), 0, d);
  if (trim(comp(v, 1, d)).empty() && o.orc) v = rep(o.orc->field(orc_field), 0, d);
  return v;
}

// `used`: order numbers of the earlier orders of this message ("kind system value").
void open_order(ConvertContext& c, Order& o, const Segment* orc, std::size_t ordinal,
                std::vector<std::string>& used) {
  if (orc) o.orc.emplace(*orc);
  o.code = rep(o.obr.field(4), 0, c.d);
  if (!cwe_present(c, o.code)) o.code = {};  // no DiagnosticReport (its code is required)
  if (ei_identifier(c, order_field(o, 3, 3, c.d), o.number))
    o.kind = "filler";
  else if (ei_identifier(c, order_field(o, 2, 2, c.d), o.number))
    o.kind = "placer";
  else
    o.kind = "msh-10";
  if (o.kind != "msh-10") {
    // The same order number twice in one message: key the repeat by position instead, so
    // the two orders' resources do not overwrite each other.
    std::string key = std::string(o.kind) + ' ' + o.number.system + ' ' + o.number.value;
    if (std::find(used.begin(), used.end(), key) != used.end())
      o.kind = "msh-10";
    else
      used.push_back(std::move(key));
  }
  if (o.kind != "msh-10") {
    o.id = derive_resource_id("DiagnosticReport", {c.sender, o.kind, o.number.system, o.number.value});
    const std::initializer_list<std::string_view> prefix = {c.sender, o.kind, o.number.system,
                                                            o.number.value};
    o.observation_ids.emplace("Observation", prefix);
  } else {
    const std::string n = std::to_string(ordinal);
    o.id = derive_resource_id("DiagnosticReport",
                              {c.sender, "msh-10", trim(c.msg.header().control_id), n});
  }
}

// issued (an instant) only from a full-precision OBR-22: padding "202603161010" to seconds
// would invent precision the lab did not report. Converted once per order into `out`.
void order_issued(ConvertContext& c, std::string_view obr22, std::string& out) {
  out.clear();
  const std::string_view v = trim(comp(obr22, 1, c.d));
  const std::size_t digits = v.find_first_not_of("0123456789");
  if ((digits == std::string_view::npos ? v.size() : digits) >= 14 &&
      !to_fhir_instant(v, c.opt.default_zone, out))
    out.clear();
}

void category(FhirJson& j, std::string_view system, std::string_view code, std::string_view display) {
  j.key("category");
  j.start_array();
  j.codeable_concept(system, code, display);
  j.end_array();
}

void write_report(ConvertContext& c, Order& o) {
  if (o.code.empty()) return;  // OBR-4 empty: the Observations stand alone
  FhirJson& j = c.json;
  const Fields& obr = o.obr;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "DiagnosticReport");
  j.string_if("id", o.id);
  IdentifierValue placer, filler;
  const bool has_placer = ei_identifier(c, order_field(o, 2, 2, c.d), placer);
  const bool has_filler = ei_identifier(c, order_field(o, 3, 3, c.d), filler);
  write_order_identifiers(c, has_placer ? &placer : nullptr, has_filler ? &filler : nullptr, &index);
  std::string_view status = "unknown";
  if (const std::string_view s = trim(obr.field(25)); !s.empty())
    if (const auto* m = c.map("HL70123", s); m && !m->code.empty()) status = m->code;
  j.string_if("status", status);
  // OBR-24 diagnostic service section (v2-0074), else LAB: ORU^R01 is mostly laboratory.
  const std::string_view section = trim(comp(obr.field(24), 1, c.d));
  category(j, "http://terminology.hl7.org/CodeSystem/v2-0074", section.empty() ? "LAB" : section, {});
  j.key("code");
  write_codeable_concept(c, o.code, {}, {}, true);
  c.subject();
  c.encounter();
  // OBR-8 valued: effectivePeriod (IG), else effectiveDateTime.
  if (trim(obr.field(8)).empty() || !write_period(c, "effectivePeriod", obr.field(7), obr.field(8)))
    write_datetime(c, "effectiveDateTime", obr.field(7));
  j.string_if("issued", o.issued);
  if (!o.result_indices.empty()) {
    j.key("result");
    j.start_array();
    for (const std::size_t i : o.result_indices) {
      j.start_object();
      j.key("reference");
      c.reference_value("Observation", c.result.resources[i].id);
      j.end_object();
    }
    j.end_array();
  }
  j.end_object();
  store::FhirResource& r = c.finish_resource("DiagnosticReport", std::move(o.id));
  r.identifiers = std::move(index);
}

std::string observation_id(ConvertContext& c, const Fields& obx, Order* o, std::size_t obx_ordinal) {
  if (!o || o->kind == "msh-10") {
    const std::string n = std::to_string(obx_ordinal);
    return derive_resource_id("Observation", {c.sender, "msh-10", trim(c.msg.header().control_id), n});
  }
  const std::string_view code = trim(comp(obx.field(3), 1, c.d));
  const std::string_view code_system = trim(comp(obx.field(3), 3, c.d));
  const std::string_view sub_id = trim(obx.field(4));
  std::size_t n = 0;
  for (const auto& s : o->seen)
    if (s[0] == code && s[1] == code_system && s[2] == sub_id) ++n;
  o->seen.push_back({code, code_system, sub_id});
  const std::string occurrence = std::to_string(n);
  // = derive_resource_id("Observation", {sender, kind, system, value, code, ...})
  return o->observation_ids->id({code, code_system, sub_id, occurrence});
}

}  // namespace

void write_notes(ConvertContext& c, std::size_t index) {
  const auto& segs = c.msg.segments();
  FhirJson& j = c.json;
  bool open = false;
  for (std::size_t i = index + 1; i < segs.size() && segs[i].id() == "NTE"; ++i) {
    const std::string_view f = segs[i].field(3);
    std::string& s = c.number_buf;
    s.clear();
    const std::size_t reps = rep_count(f, c.d);
    for (std::size_t r = 0; r < reps; ++r) {
      const std::string_view v = c.text(rep(f, r, c.d), c.text_buf);
      if (v.empty()) continue;
      if (!s.empty()) s.push_back('\n');
      s.append(v);
    }
    if (s.empty()) continue;
    if (!open) {
      j.key("note");
      j.start_array();
      open = true;
    }
    j.start_object();
    j.key("text");
    j.string(s);
    j.end_object();
  }
  if (open) j.end_array();
}

namespace {

void interpretations(ConvertContext& c, const Fields& obx) {
  const std::string_view f = obx.field(8);
  if (f.empty()) return;
  // Most OBX of a message repeat a few flags (N, H, L): rendered once per message.
  if (const std::string_view done = c.memo.find(RenderMemo::Kind::Interpretations, f);
      !done.empty()) {
    c.json.key("interpretation");
    c.json.raw_value(done);
    return;
  }
  const std::size_t reports = c.unmapped_reports;
  std::size_t start = 0;
  const std::size_t reps = rep_count(f, c.d);
  bool open = false;
  for (std::size_t i = 0; i < reps; ++i) {
    const std::string_view cwe = rep(f, i, c.d);
    if (!cwe_present(c, cwe)) continue;
    if (!open) {
      c.json.key("interpretation");
      start = c.json.view().size();
      c.json.start_array();
      open = true;
    }
    write_codeable_concept(c, cwe, "HL70078", "HL70078", false);
  }
  if (!open) return;
  c.json.end_array();
  if (c.unmapped_reports == reports)
    c.memo.store(RenderMemo::Kind::Interpretations, f, c.json.view().substr(start));
}

bool write_observation(ConvertContext& c, std::size_t index, Order* o, std::size_t obx_ordinal) {
  const Fields obx(c.msg.segments()[index]);
  std::string_view code = rep(obx.field(3), 0, c.d);
  if (!cwe_present(c, code)) {
    // A line of a report (e.g. TX report text) without its own identifier: the report's code.
    if (!o || o->code.empty()) {
      fail(c.result, ErrorCode::RequiredFieldMissing, "observation identifier (OBX-3) is empty",
           "OBX-3");
      return false;
    }
    code = o->code;
  }
  std::string id = observation_id(c, obx, o, obx_ordinal);
  // ED / RP: the content is a document (R4 Observation has no valueAttachment): a
  // DocumentReference (id derived from the Observation's), related to the order's
  // DiagnosticReport; the Observation stays (code, status, time) with derivedFrom -> it.
  std::string document_ref;
  if (const std::string_view type = trim(obx.field(2)); type == "ED" || type == "RP") {
    const bool report = o && !o->code.empty() && c.msg.header().message_code == "ORU";  // ORU writes it
    const std::string related = report ? c.reference("DiagnosticReport", o->id) : std::string();
    std::string doc_id = derive_resource_id("DocumentReference", {id});
    std::string ref = c.reference("DocumentReference", doc_id);
    if (write_obx_document(c, obx, std::move(doc_id), code, related)) document_ref = std::move(ref);
  }
  FhirJson& j = c.json;
  j.reset();
  j.start_object();
  j.string_if("resourceType", "Observation");
  j.string_if("id", id);
  const std::string_view result_status = trim(obx.field(11));
  std::string_view status = "unknown";
  if (!result_status.empty())
    if (const auto* m = c.map("HL70085", result_status); m && !m->code.empty()) status = m->code;
  j.string_if("status", status);
  if (o) {  // = category(j, ".../observation-category", "laboratory", "Laboratory"), pre-serialized
    j.key("category");
    j.raw_value(kLaboratoryCategory);
  }
  j.key("code");
  write_codeable_concept(c, code, {}, {}, true);
  c.subject();
  c.encounter();
  if (!write_datetime(c, "effectiveDateTime", obx.field(14)) && o)
    write_datetime(c, "effectiveDateTime", o->obr.field(7));
  if (o) j.string_if("issued", o->issued);
  if (!document_ref.empty()) {
    j.key("derivedFrom");
    j.start_array();
    j.start_object();
    j.string_if("reference", document_ref);
    j.end_object();
    j.end_array();
  }
  ObxUnits units(obx.field(6));
  if (!write_observation_value(c, obx, units)) {
    // US Core: a value or a reason for its absence. OBX-11 "N" = not asked (IG).
    const bool supported_type_empty = trim(obx.field(5)).empty();
    j.key("dataAbsentReason");
    j.start_object();
    j.key("coding");
    j.start_array();
    if (result_status == "N")
      j.coding(kDataAbsentReason, "not-asked", "Not Asked");
    else if (supported_type_empty)
      j.coding(kDataAbsentReason, "unknown", "Unknown");
    else
      j.coding(kDataAbsentReason, "unsupported", "Unsupported");
    j.end_array();
    j.end_object();
  }
  interpretations(c, obx);
  write_notes(c, index);
  write_reference_range(c, obx, units);
  j.end_object();
  c.finish_resource("Observation", std::move(id));
  if (o) o->result_indices.push_back(c.result.resources.size() - 1);
  return true;
}

}  // namespace

bool write_results(ConvertContext& c) {
  const auto& segs = c.msg.segments();
  const std::string_view code = c.msg.header().message_code;
  const bool is_oru = code == "ORU";
  // ORM/OML OBX belong to their OBR's order too (code fallback, OBR-7 time, order-number ids),
  // but an order is not a report: no DiagnosticReport is written for it.
  const bool grouped = is_oru || code == "ORM" || code == "OML";
  if (code == "MDM") return true;  // MDM^T02 OBX are the document's text (write_mdm_document)
  std::optional<Order> order;
  std::vector<std::string> used_order_numbers;
  const Segment* pending_orc = nullptr;
  std::size_t obr_ordinal = 0;
  std::size_t obx_ordinal = 0;
  // OBX ordinals count from the start of the message, so a later patient group of an
  // ADT^A17 does not reuse the first group's Observation ids.
  for (std::size_t i = 0; i < c.seg_begin && i < segs.size(); ++i) obx_ordinal += segs[i].id() == "OBX";
  const std::size_t end = std::min(segs.size(), c.seg_end);
  for (std::size_t i = c.seg_begin; i < end; ++i) {
    const std::string_view id = segs[i].id();
    if (grouped && id == "ORC") {
      if (order && is_oru) write_report(c, *order);
      order.reset();
      pending_orc = &segs[i];
    } else if (grouped && id == "OBR") {
      if (order && is_oru) write_report(c, *order);
      order.emplace(segs[i], c);
      open_order(c, *order, pending_orc, ++obr_ordinal, used_order_numbers);
      order_issued(c, order->obr.field(22), order->issued);
      pending_orc = nullptr;
    } else if (id == "OBX") {
      ++obx_ordinal;
      // OBX between an ORC and its OBR: v2.8 ORDER_DOCUMENT, not mapped by the IG for R4.
      if (grouped && pending_orc) continue;
      if (!write_observation(c, i, order ? &*order : nullptr, obx_ordinal)) return false;
    }
  }
  if (order && is_oru) write_report(c, *order);
  return true;
}

}  // namespace phrgate::hl7v2::detail
