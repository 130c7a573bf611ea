// PV1 -> Encounter, per the IG's PV1[Encounter] segment map: identifier (PV1-19, type VN),
// status and class (PV1-2 via the PatientClass concept maps, PV1-45 -> finished), period
// (PV1-44/45), location display (PV1-3), practitioners as display-only participants
// (PV1-7/8/9/17), plus the ADT event rules (A02 prior location, A03 finished, A11 cancelled,
// A12/A13 back to in-progress, A13 without end). Encounter.status and .class are required
// and always written.
#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"

namespace phrgate::hl7v2::detail {
namespace {

constexpr std::string_view kParticipationType =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

// ADT events that decide the status themselves, whatever PV1 says: A03 discharge ->
// finished, A11 cancel admit -> cancelled (Event[EncounterStatus]), A13 cancel discharge ->
// in-progress (and the discharge time PV1-45 is not written), A12 cancel transfer ->
// in-progress (the patient stays, at the restored PV1-3 location).
std::string_view event_status(const ConvertContext& c) {
  const MessageHeader& h = c.msg.header();
  if (h.message_code != "ADT") return {};
  const std::string_view ev = trim(h.trigger_event);
  if (ev == "A03") return "finished";
  if (ev == "A11") return "cancelled";
  if (ev == "A12" || ev == "A13") return "in-progress";
  return {};
}

// Encounter.status: the event rules above; else PV1-45 valued -> finished (IG); else PV1-2
// through PatientClass[EncounterStatus]; else the trigger event through Event[EncounterStatus]
// (A01 in-progress, A04/A05 planned, A08 unknown); else "unknown". A05 (pre-admit) is planned
// whatever PV1-2 says: the visit has not started.
std::string_view encounter_status(ConvertContext& c, const Fields& pv1, std::string_view cls) {
  if (const std::string_view s = event_status(c); !s.empty()) return s;
  if (!trim(comp(pv1.field(45), 1, c.d)).empty()) return "finished";
  const std::string_view ev = trim(c.msg.header().trigger_event);
  if (!cls.empty() && ev != "A05")
    if (const auto* m = c.map("HL70004-encounter-status", cls); m && !m->code.empty()) return m->code;
  if (const auto* m = c.map("HL70003-encounter-status", ev); m && !m->code.empty())
    return m->code;
  return "unknown";
}

void participants(ConvertContext& c, const Fields& pv1) {
  struct Role {
    std::size_t field;
    std::string_view code;
    std::string_view display;
  };
  static constexpr Role kRoles[] = {{7, "ATND", "attender"}, {8, "REF", "referrer"},
                                    {9, "CON", "consultant"}, {17, "ADM", "admitter"}};
  FhirJson& j = c.json;
  bool open = false;
  for (const Role& role : kRoles) {
    const std::string_view f = pv1.field(role.field);
    const std::size_t reps = rep_count(f, c.d);
    for (std::size_t i = 0; i < reps; ++i) {
      c.system_buf.clear();
      xcn_display(c, rep(f, i, c.d), c.system_buf);
      if (c.system_buf.empty()) continue;
      if (!open) {
        j.key("participant");
        j.start_array();
        open = true;
      }
      j.start_object();
      j.key("type");
      j.start_array();
      j.codeable_concept(kParticipationType, role.code, role.display);
      j.end_array();
      j.key("individual");
      j.start_object();
      j.key("display");
      j.string(c.system_buf);
      j.end_object();
      j.end_object();
    }
  }
  if (open) j.end_array();
}

void location_entry(ConvertContext& c, std::string_view pl, std::string_view status) {
  std::string& display = c.system_buf;
  display.clear();
  for (std::size_t n : {1, 2, 3}) {  // point of care, room, bed
    const std::string_view v = c.text(comp(pl, n, c.d), c.text_buf);
    if (v.empty()) continue;
    if (!display.empty()) display.push_back(' ');
    display.append(v);
  }
  if (display.empty()) return;
  FhirJson& j = c.json;
  j.start_object();
  j.key("location");
  j.start_object();
  j.key("display");
  j.string(display);
  j.end_object();
  j.string_if("status", status);
  j.end_object();
}

bool location_present(ConvertContext& c, std::string_view pl) {
  for (std::size_t n : {1, 2, 3})
    if (!c.text(comp(pl, n, c.d), c.text_buf).empty()) return true;
  return false;
}

// PV1-3 (current location); for A02 (transfer) also PV1-6, the location left, as completed.
void location(ConvertContext& c, const Fields& pv1, std::string_view cls, std::string_view status) {
  const std::string_view current = rep(pv1.field(3), 0, c.d);
  const bool transfer = c.msg.header().message_code == "ADT" && trim(c.msg.header().trigger_event) == "A02";
  const std::string_view prior = transfer ? rep(pv1.field(6), 0, c.d) : std::string_view{};
  const bool has_current = location_present(c, current);
  const bool has_prior = !prior.empty() && location_present(c, prior);
  if (!has_current && !has_prior) return;
  FhirJson& j = c.json;
  j.key("location");
  j.start_array();
  if (has_prior) location_entry(c, prior, "completed");
  if (has_current)
    location_entry(c, current,
                   status == "finished" || status == "cancelled" ? "completed"
                   : cls == "P" || status == "planned"           ? "planned"
                                                                 : "active");
  j.end_array();
}

}  // namespace

void write_encounter(ConvertContext& c, const Fields& pv1, std::string id) {
  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "Encounter");
  j.string_if("id", id);
  IdentifierValue visit;
  const std::string_view visit_cx = rep(pv1.field(19), 0, c.d);
  if (cx_identifier(c, visit_cx, visit)) {
    j.key("identifier");
    j.start_array();
    write_identifier(c, visit, comp(visit_cx, 5, c.d), "VN", &index);
    j.end_array();
  }
  const std::string_view cls = trim(comp(pv1.field(2), 1, c.d));
  const std::string_view status = encounter_status(c, pv1, cls);
  j.string_if("status", status);
  j.key("class");
  if (const auto* m = cls.empty() ? nullptr : c.map("HL70004", cls)) {
    j.coding(m->system, m->code, m->display);
  } else {  // PV1-2 missing or unmapped: the IG's own target for "U" (unknown)
    j.coding("http://terminology.hl7.org/CodeSystem/v2-0004", "U", "Unknown");
  }
  c.subject();
  participants(c, pv1);
  // A13 cancels the discharge: no end. A03 without PV1-45: the event time EVN-6 (else EVN-2).
  const std::string_view ev = c.msg.header().message_code == "ADT" ? trim(c.msg.header().trigger_event)
                                                                   : std::string_view{};
  std::string_view end = ev == "A13" ? std::string_view{} : pv1.field(45);
  if (ev == "A03" && trim(end).empty())
    if (const Segment* evn = c.msg.find("EVN")) {
      const Fields e(*evn);
      end = trim(e.field(6)).empty() ? e.field(2) : e.field(6);
    }
  write_period(c, "period", pv1.field(44), end);
  location(c, pv1, cls, status);
  j.end_object();
  store::FhirResource& r = c.finish_resource("Encounter", std::move(id));
  r.identifiers = std::move(index);
}

}  // namespace phrgate::hl7v2::detail
