// SIU^S12..S15 (SCH + TQ1/AIS/AIG/AIL/AIP) -> Appointment. The IG has no SCH map yet; fields
// follow the v2 SCH definition: SCH-1/2 placer/filler appointment ids (the id comes from the
// filler's, else the placer's, so S13 reschedules and S15 cancellations update the S12's
// Appointment), SCH-7 reason, SCH-8 type, SCH-9/10 duration, SCH-11 (TQ) or TQ1-7/8 or AIS-4
// times, SCH-25 filler status. Resources (AIP, AIL, AIG) become display-only participants.
// FHIR app-2/app-3: start and end together, or a proposed/cancelled/waitlist appointment.
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "adapters/common/hl7v2/hl7v2_time.h"
#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

// SCH-25 (HL7 table 0278 filler status) -> appointmentstatus; the trigger decides otherwise.
std::string_view appointment_status(std::string_view filler_status, std::string_view trigger) {
  if (filler_status == "Booked" || filler_status == "Confirmed") return "booked";
  if (filler_status == "Pending" || filler_status == "Waitlist") return filler_status == "Pending" ? "pending" : "waitlist";
  if (filler_status == "Cancelled" || filler_status == "Deleted") return "cancelled";
  if (filler_status == "Complete") return "fulfilled";
  if (filler_status == "Noshow") return "noshow";
  if (filler_status == "Started") return "arrived";
  if (filler_status == "Overbook") return "booked";
  if (trigger == "S15" || trigger == "S17") return "cancelled";
  return "booked";
}

// "2026-11-24T10:15:00-05:00" + minutes, keeping the offset; false when not an instant.
bool add_minutes(const std::string& instant, long minutes, std::string& out) {
  if (instant.size() < 20 || instant[10] != 'T') return false;
  std::tm tm{};
  tm.tm_year = std::stoi(instant.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(instant.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(instant.substr(8, 2));
  tm.tm_hour = std::stoi(instant.substr(11, 2));
  tm.tm_min = std::stoi(instant.substr(14, 2));
  tm.tm_sec = std::stoi(instant.substr(17, 2));
  std::size_t zone = 19;
  while (zone < instant.size() && (instant[zone] == '.' || (instant[zone] >= '0' && instant[zone] <= '9'))) ++zone;
  const time_t t = timegm(&tm) + minutes * 60;  // wall-clock arithmetic in the value's own offset
  std::tm end{};
  gmtime_r(&t, &end);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &end);
  out.assign(buf).append(instant.substr(zone));
  return true;
}

long duration_minutes(ConvertContext& c, std::string_view value, std::string_view units) {
  const std::string_view v = trim(comp(value, 1, c.d));
  const std::string_view u = trim(comp(units, 1, c.d));
  if (v.empty()) return -1;
  long n = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return -1;
    n = n * 10 + (ch - '0');
    if (n > 1'000'000) return -1;
  }
  if (u.empty() || u == "MIN" || u == "min" || u == "m") return n;
  if (u == "H" || u == "HR" || u == "h") return n * 60;
  if (u == "S" || u == "s") return n / 60;
  return -1;
}

void participant(ConvertContext& c, std::string_view display, std::string_view status) {
  FhirJson& j = c.json;
  j.start_object();
  j.key("actor");
  j.start_object();
  j.string_if("display", display);
  j.end_object();
  j.string_if("status", status);
  j.end_object();
}

}  // namespace

void write_appointment(ConvertContext& c, std::size_t sch_index) {
  const auto& segs = c.msg.segments();
  const Fields sch(segs[sch_index]);
  IdentifierValue placer, filler;
  const bool has_placer = ei_identifier(c, sch.field(1), placer);
  const bool has_filler = ei_identifier(c, sch.field(2), filler);
  std::string id = has_filler   ? derive_resource_id("Appointment", {c.sender, "sch-2", filler.system, filler.value})
                   : has_placer ? derive_resource_id("Appointment", {c.sender, "sch-1", placer.system, placer.value})
                                : derive_resource_id("Appointment", {"msh-10", c.sender, trim(c.msg.header().control_id)});
  if (already_written(c, "Appointment", id)) return;

  // The resource segments that follow SCH (until the next SCH or the end of the group).
  const Fields* tq1 = nullptr;
  std::vector<std::size_t> ais, aig, ail, aip;
  std::optional<Fields> tq1_fields;
  for (std::size_t k = sch_index + 1; k < segs.size() && k < c.seg_end; ++k) {
    const std::string_view sid = segs[k].id();
    if (sid == "SCH") break;
    if (sid == "TQ1" && !tq1_fields) tq1_fields.emplace(segs[k]);
    if (sid == "AIS") ais.push_back(k);
    if (sid == "AIG") aig.push_back(k);
    if (sid == "AIL") ail.push_back(k);
    if (sid == "AIP") aip.push_back(k);
  }
  if (tq1_fields) tq1 = &*tq1_fields;

  // Times: TQ1-7/8, else SCH-11.4/11.5 (TQ), else the first AIS-4 with its duration.
  std::string start, end, buf;
  auto instant = [&](std::string_view raw, std::string& out) {
    out.clear();
    return !trim(raw).empty() && to_fhir_instant(trim(comp(raw, 1, c.d)), c.opt.default_zone, out);
  };
  if (tq1) {
    instant(tq1->field(7), start);
    instant(tq1->field(8), end);
  }
  if (start.empty()) {
    const std::string_view tq = rep(sch.field(11), 0, c.d);
    instant(comp(tq, 4, c.d), start);
    instant(comp(tq, 5, c.d), end);
  }
  long minutes = duration_minutes(c, sch.field(9), sch.field(10));
  if (start.empty() && !ais.empty()) {
    const Fields first(segs[ais.front()]);
    instant(first.field(4), start);
    if (minutes < 0) minutes = duration_minutes(c, first.field(7), first.field(8));
  }
  if (!start.empty() && end.empty() && minutes >= 0) add_minutes(start, minutes, end);
  const bool timed = !start.empty() && !end.empty();

  std::string_view status = appointment_status(trim(comp(sch.field(25), 1, c.d)), c.msg.header().trigger_event);
  if (!timed && status != "cancelled" && status != "waitlist") status = "proposed";  // app-3

  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> ids;
  j.start_object();
  j.string_if("resourceType", "Appointment");
  j.string_if("id", id);
  write_order_identifiers(c, has_placer ? &placer : nullptr, has_filler ? &filler : nullptr, &ids);
  j.string_if("status", status);
  if (status == "cancelled" && cwe_present(c, sch.field(6))) {
    j.key("cancelationReason");
    write_codeable_concept(c, sch.field(6), {}, {}, false);
  }
  bool services = false;
  for (std::size_t k : ais) {
    const Fields f(segs[k]);
    if (!cwe_present(c, f.field(3))) continue;
    if (!services) {
      j.key("serviceType");
      j.start_array();
      services = true;
    }
    write_codeable_concept(c, f.field(3), {}, {}, true);
  }
  if (services) j.end_array();
  if (cwe_present(c, sch.field(8))) {
    j.key("appointmentType");
    write_codeable_concept(c, sch.field(8), "HL70277", {}, false);
  }
  if (cwe_present(c, sch.field(7))) {
    j.key("reasonCode");
    j.start_array();
    write_codeable_concept(c, sch.field(7), "HL70276", {}, true);
    j.end_array();
  }
  if (timed) {
    j.string_if("start", start);
    j.string_if("end", end);
  }
  if (minutes > 0) {
    j.key("minutesDuration");
    j.number(std::to_string(minutes));
  }
  const std::string_view part_status = status == "pending" || status == "proposed" ? "needs-action" : "accepted";
  j.key("participant");
  j.start_array();
  j.start_object();
  j.key("actor");
  j.start_object();
  j.string_if("reference", c.patient_ref);
  j.end_object();
  j.string_if("status", part_status);
  j.end_object();
  for (std::size_t k : aip) {
    buf.clear();
    xcn_display(c, rep(Fields(segs[k]).field(3), 0, c.d), buf);
    if (!buf.empty()) participant(c, buf, part_status);
  }
  for (std::size_t k : ail) {
    const std::string_view pl = rep(Fields(segs[k]).field(3), 0, c.d);
    std::string where;
    for (std::size_t n = 1; n <= 4; ++n) {
      const std::string_view part = c.text(comp(pl, n, c.d), c.text_buf);
      if (part.empty()) continue;
      if (!where.empty()) where.push_back(' ');
      where.append(part);
    }
    if (!where.empty()) participant(c, where, part_status);
  }
  for (std::size_t k : aig) {
    const std::string_view resource = rep(Fields(segs[k]).field(3), 0, c.d);
    std::string_view name = c.text(comp(resource, 2, c.d), c.text_buf);
    if (name.empty()) name = c.text(comp(resource, 1, c.d), c.text_buf);
    if (!name.empty()) participant(c, std::string(name), part_status);
  }
  j.end_array();
  j.end_object();
  store::FhirResource& r = c.finish_resource("Appointment", std::move(id));
  r.identifiers = std::move(ids);
}

}  // namespace phrgate::hl7v2::detail
