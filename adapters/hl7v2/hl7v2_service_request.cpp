// ORC/OBR -> ServiceRequest for ORM^O01 and OML^O21, per the IG's ORC[ServiceRequest] and
// OBR[ServiceRequest] segment maps: status (ORC-5 via OrderStatus, else ORC-1 via
// OrderControlCode), intent order, code OBR-4, placer/filler identifiers, authoredOn ORC-9,
// requester ORC-12 (else OBR-16) as a display. Called by the converter once per message.
// The status maps target a required-binding FHIR code, so they are fixed tables here.
// Never writes a ServiceRequest with neither a code nor an order number.
#include <iterator>
#include <optional>
#include <string>

#include "adapters/hl7v2/hl7v2_convert_context.h"
#include "gateway/core/resource_id.h"

namespace phrgate::hl7v2::detail {
namespace {

struct StatusRow {
  std::string_view v2;
  std::string_view status;
};
// IG concept map OrderStatus (HL70038 -> request-status).
constexpr StatusRow kOrderStatus[] = {{"CA", "revoked"}, {"CM", "completed"}, {"DC", "revoked"},
                                      {"ER", "entered-in-error"}, {"HD", "on-hold"},
                                      {"IP", "active"}, {"RP", "revoked"}, {"SC", "active"}};
// IG concept map OrderControlCode[ServiceRequest.status] (HL70119), except CA: the IG says
// active (a cancel request still pending at the filler); a PHR receiving CA shows the order
// as cancelled, so phrgate maps it to revoked.
constexpr StatusRow kOrderControl[] = {
    {"AF", "active"},  {"CA", "revoked"}, {"CR", "revoked"}, {"DC", "revoked"}, {"DF", "revoked"},
    {"DR", "revoked"}, {"HD", "active"},  {"HR", "on-hold"}, {"NW", "active"},  {"OC", "revoked"},
    {"OD", "revoked"}, {"OH", "on-hold"}, {"OK", "active"},  {"PR", "active"},  {"PY", "active"},
    {"RL", "active"},  {"RO", "active"},  {"RQ", "active"}};

std::string_view lookup(const StatusRow* rows, std::size_t n, std::string_view code) {
  for (std::size_t i = 0; i < n; ++i)
    if (rows[i].v2 == code) return rows[i].status;
  return {};
}

std::string_view request_status(const ConvertContext& c, const Fields* orc) {
  if (!orc) return "unknown";
  std::string_view s = lookup(kOrderStatus, std::size(kOrderStatus), trim(comp(orc->field(5), 1, c.d)));
  if (s.empty()) s = lookup(kOrderControl, std::size(kOrderControl), trim(comp(orc->field(1), 1, c.d)));
  return s.empty() ? std::string_view("unknown") : s;
}

// OBR-n, else ORC-m (order numbers are sent in either).
std::string_view order_field(const Fields& obr, const Fields* orc, std::size_t obr_n, std::size_t orc_n) {
  const std::string_view v = obr.field(obr_n);
  return !trim(v).empty() || !orc ? v : orc->field(orc_n);
}

void write_one(ConvertContext& c, std::size_t obr_index, const Fields* orc, std::size_t ordinal) {
  const Fields obr(c.msg.segments()[obr_index]);
  IdentifierValue placer, filler;
  const bool has_placer = ei_identifier(c, order_field(obr, orc, 2, 2), placer);
  const bool has_filler = ei_identifier(c, order_field(obr, orc, 3, 3), filler);
  const std::string_view code = rep(obr.field(4), 0, c.d);
  const bool has_code = cwe_present(c, code);
  if (!has_code && !has_placer && !has_filler) return;
  std::string id;
  if (has_filler)
    id = derive_resource_id("ServiceRequest", {c.sender, "filler", filler.system, filler.value});
  else if (has_placer)
    id = derive_resource_id("ServiceRequest", {c.sender, "placer", placer.system, placer.value});
  if (id.empty() || already_written(c, "ServiceRequest", id))  // no number, or repeated
    id = derive_resource_id("ServiceRequest", {c.sender, "msh-10", trim(c.msg.header().control_id),
                                               std::to_string(ordinal)});

  FhirJson& j = c.json;
  j.reset();
  std::vector<std::pair<std::string, std::string>> index;
  j.start_object();
  j.string_if("resourceType", "ServiceRequest");
  j.string_if("id", id);
  write_order_identifiers(c, has_placer ? &placer : nullptr, has_filler ? &filler : nullptr, &index);
  j.string_if("status", request_status(c, orc));
  j.string_if("intent", "order");
  if (has_code) {
    j.key("code");
    write_codeable_concept(c, code, {}, {}, true);
  }
  c.subject();
  if (!c.encounter_ref.empty()) {
    j.reference("encounter", c.encounter_ref);
  }
  if (orc) write_datetime(c, "authoredOn", orc->field(9));
  c.system_buf.clear();
  if (orc) xcn_display(c, rep(orc->field(12), 0, c.d), c.system_buf);
  if (c.system_buf.empty()) xcn_display(c, rep(obr.field(16), 0, c.d), c.system_buf);
  if (!c.system_buf.empty()) {
    j.key("requester");
    j.start_object();
    j.key("display");
    j.string(c.system_buf);
    j.end_object();
  }
  write_notes(c, obr_index);  // NTE right after the OBR (IG NTE[ServiceRequest])
  j.end_object();
  store::FhirResource& r = c.finish_resource("ServiceRequest", std::move(id));
  r.identifiers = std::move(index);
}

}  // namespace

void write_service_requests(ConvertContext& c) {
  const auto& segs = c.msg.segments();
  std::optional<Fields> orc;
  std::size_t ordinal = 0;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    const std::string_view id = s.id();
    if (id == "ORC") {
      orc.emplace(s);
    } else if (id == "OBR") {
      write_one(c, i, orc ? &*orc : nullptr, ++ordinal);
      orc.reset();  // one ORC per order; an OBR without its own ORC has none
    }
  }
}

}  // namespace phrgate::hl7v2::detail
